export { pickReplica } from './pick.js';
export type { PickInput, ReplicaView } from './pick.js';
