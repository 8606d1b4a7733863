/**
 * Where the Kubernetes watcher finds the API server: the pod's service account when running in a pod, a
 * kubeconfig file (KUBECONFIG) otherwise, and nowhere (the watcher off) when neither is there.
 */
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, type ConfigOf, env } from '@plantmesh/core';

export const kubernetesEnv = {
  /**
   * `auto` (default): in a pod with a service-account token, the in-cluster config; else KUBECONFIG if set; else
   * off. `in-cluster` and `kubeconfig` insist on one (a start without it fails); `off` never watches.
   */
  KUBERNETES_WATCH: env.oneOf(['auto', 'in-cluster', 'kubeconfig', 'off']).default('auto'),
  /** Comma-separated namespaces to watch; `*` for all (needs a ClusterRole); default the config's own namespace. */
  KUBERNETES_NAMESPACES: env.string().optional(),
  /** How often the watched objects are compared with the catalog again even without an event. */
  KUBERNETES_RESYNC_MS: env.int(1_000).default(60_000),
  /** A kubeconfig file (outside a cluster). */
  KUBECONFIG: env.string().optional(),
};
export type KubernetesConfig = ConfigOf<typeof kubernetesEnv>;

export const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubernetesConnection {
  kubeConfig: KubeConfig;
  /** The namespaces watched, or `*` for every namespace. */
  namespaces: string[] | '*';
  mode: 'in-cluster' | 'kubeconfig';
  server: string;
}

/** The connection the configuration asks for, or undefined when the watcher is off. */
export function kubernetesConnection(
  config: KubernetesConfig,
  environment: NodeJS.ProcessEnv = process.env,
  tokenExists: () => boolean = () => existsSync(serviceAccountToken),
): KubernetesConnection | undefined {
  if (config.KUBERNETES_WATCH === 'off') return undefined;
  const inPod = Boolean(environment.KUBERNETES_SERVICE_HOST) && tokenExists();
  let mode: KubernetesConnection['mode'] | undefined;
  if (config.KUBERNETES_WATCH === 'in-cluster') {
    if (!inPod)
      throw new ConfigError(
        'KUBERNETES_WATCH is in-cluster but there is no service-account token (is automountServiceAccountToken on?)',
      );
    mode = 'in-cluster';
  } else if (config.KUBERNETES_WATCH === 'kubeconfig') {
    if (!config.KUBECONFIG) throw new ConfigError('KUBERNETES_WATCH is kubeconfig but KUBECONFIG is not set');
    mode = 'kubeconfig';
  } else {
    mode = inPod ? 'in-cluster' : config.KUBECONFIG ? 'kubeconfig' : undefined;
  }
  if (!mode) return undefined;
  const kubeConfig = new KubeConfig();
  if (mode === 'in-cluster') kubeConfig.loadFromCluster();
  else {
    try {
      kubeConfig.loadFromFile(config.KUBECONFIG as string);
    } catch (error) {
      throw new ConfigError(`KUBECONFIG ${config.KUBECONFIG} cannot be read: ${(error as Error).message}`);
    }
  }
  const server = kubeConfig.getCurrentCluster()?.server;
  if (!server) throw new ConfigError(`the ${mode} Kubernetes config names no cluster`);
  const listed = (config.KUBERNETES_NAMESPACES ?? '')
    .split(',')
    .map((ns) => ns.trim())
    .filter(Boolean);
  const own = kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace?.trim() || 'default';
  const namespaces = listed.includes('*') ? '*' : listed.length > 0 ? [...new Set(listed)] : [own];
  return { kubeConfig, namespaces, mode, server };
}
