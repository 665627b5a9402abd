export { ProcessActuator } from './process.js';
export type { ProcessActuatorOptions } from './process.js';
export { KubernetesActuator, KubernetesApiError, kubernetesClient, loadKubeConfig, POD_DELETION_COST } from './kubernetes.js';
export type { KubernetesActuatorOptions, KubernetesPool } from './kubernetes.js';
