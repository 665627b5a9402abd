// limits/ — rate limits per tier: continuous token buckets for requests, input and output tokens,
// in memory (one instance) or in Redis (shared by many); and month-to-date spend per workspace.
export { MemoryLimiter } from './memory.js';
export { RedisLimiter, StoreSkipped } from './redis.js';
export { Breaker } from './breaker.js';
export type { BreakerOptions, BreakerState, Permit } from './breaker.js';
export type { RedisLimiterOptions } from './redis.js';
export type { BucketState, Correction, Lease, LimitDecision, LimitDimension, LimitRequest, LimitState, RateLimiter, TierLimits } from './types.js';
export { MonthlySpend, monthStartUtc, nextMonthUtc } from './spend.js';
