// limits/ — rate limits per tier: continuous token buckets for requests, input and output tokens,
// in memory (one instance) or in Redis (shared by many). Issue 6 wires them into the gateway.
export { MemoryLimiter } from './memory.js';
export { RedisLimiter } from './redis.js';
export type { RedisLimiterOptions } from './redis.js';
export type { BucketState, LimitDecision, LimitDimension, LimitRequest, LimitState, RateLimiter, TierLimits } from './types.js';
