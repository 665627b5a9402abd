// The admin room's door for the gateway's HTTP side: the fleet routes, and the envelope's request id.
// (The tenant admin API itself is reached through api/'s door: createAdminApi.)
export { fleetAdmin, isFleetAdminPath } from './fleet.js';
export { isVersionsPath, versionsAdmin } from './versions.js';
export type { VersionChange, VersionsAdminDeps, VersionsAdminResponse } from './versions.js';
export type { FleetAdminDeps, FleetAdminResponse, FleetChange, ReplicaBackend } from './fleet.js';
export { withRequestId } from './reply.js';
