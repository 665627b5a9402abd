// routing/ — which replica serves a request: pure decisions over what they are handed.
export { pickReplica } from './pick.js';
export type { PickInput, ReplicaView } from './pick.js';
export { POLICY_NAMES, routingPolicy } from './policies.js';
export type { PolicyInput, PolicyName, PolicyView, RoutingPolicy, ScrapedLoad } from './policies.js';
