export { FleetRegistry } from './registry.js';
export type { Replica, ReplicaSpec } from './registry.js';
export { HealthProber } from './health.js';
export type { HealthProberOptions } from './health.js';
