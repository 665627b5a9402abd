export { ProcessSupervisor, freePorts } from './supervisor.js';
export type { ProcessSpec, SupervisorOptions } from './supervisor.js';
export * from './rollouts/index.js';
export * from './autoscaler/index.js';
export * from './actuators/index.js';
