export { ReplicaPool } from './pool.js';
export type { ReplicaPoolOptions } from './pool.js';
export type { UpstreamCall } from './call.js';
export type { UpstreamFailure, UpstreamSink, UpstreamTimeouts, TimeoutPhase } from './types.js';
export { SseReader } from './sse.js';
export { backoffMs, decideRetry, isRetryable, mayHedge, RetryBudget } from './retry-policy.js';
export type { Backoff, RetryRule, RetryVerdict } from './retry-policy.js';
export { blamesReplica, classify, unreachable, upstreamMessage } from './classify.js';
