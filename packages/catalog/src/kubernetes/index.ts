export {
  annotationPrefix,
  dataProductAnnotation,
  isDataProduct,
  type KubernetesProduct,
  productsFromObjects,
  type Refusal,
  type WatchedKind,
  type WatchedObject,
  watchedKinds,
} from './annotations.js';
export {
  type KubernetesConfig,
  type KubernetesConnection,
  kubernetesConnection,
  kubernetesEnv,
  serviceAccountToken,
} from './config.js';
export { KubernetesWatcher, type KubernetesWatcherOptions, type ReconcileOutcome } from './watcher.js';
