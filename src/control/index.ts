export { ProcessSupervisor, freePorts } from './supervisor.js';
export type { ProcessSpec, SupervisorOptions } from './supervisor.js';
export * from './rollouts/index.js';
