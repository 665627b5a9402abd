export { ReplicaPool } from './pool.js';
export type { ReplicaPoolOptions } from './pool.js';
export type { UpstreamCall } from './call.js';
export type { UpstreamFailure, UpstreamSink, UpstreamTimeouts, TimeoutPhase } from './types.js';
export { SseReader } from './sse.js';
