// The admin room's door for the gateway's HTTP side: the fleet routes, and the envelope's request id.
// (The tenant admin API itself is reached through api/'s door: createAdminApi.)
export { fleetAdmin, isFleetAdminPath, joinFleet, leaveFleet, whenIdle } from './fleet.js';
export { isVersionsPath, versionsAdmin } from './versions.js';
export type { VersionChange, VersionsAdminDeps, VersionsAdminResponse } from './versions.js';
export type { FleetAdminDeps, FleetAdminResponse, FleetChange, FleetJoinDeps, JoiningReplica, ReplicaBackend } from './fleet.js';
export { isAutoscalerPath } from './autoscaler.js';
export type { AutoscalerStatus, AutoscalerView, PoolStatus } from './autoscaler.js';
export { withRequestId } from './reply.js';
export { strayParam } from './query.js';
