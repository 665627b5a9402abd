// The admin room's door for the gateway's HTTP side: the fleet routes, and the envelope's request id.
// (The tenant admin API itself is reached through api/'s door: createAdminApi.)
export { fleetAdmin } from './fleet.js';
export type { FleetAdminDeps, FleetAdminResponse, FleetChange, ReplicaBackend } from './fleet.js';
export { withRequestId } from './reply.js';
