import type { BucketState, LimitDecision, LimitDimension, LimitRequest, TierLimits } from './types.js';

// Token-bucket arithmetic shared by both limiters (the Redis script mirrors it line for line): a
// bucket of `capacity` refilling at capacity per minute, stored as the level it had at `atMs`.

export interface Level {
  tokens: number;
  atMs: number;
}

const MINUTE_MS = 60_000;

/** The level at `nowMs`, refilled continuously and capped at capacity; a new bucket starts full. */
export function levelAt(l: Level | undefined, capacity: number, nowMs: number): number {
  if (l === undefined) return capacity;
  const refill = (Math.max(0, nowMs - l.atMs) * capacity) / MINUTE_MS;
  return Math.min(capacity, l.tokens + refill);
}

/** Full again whatever its capacity, the same as no bucket: not in debt, and a minute of refill since. */
export function refilled(l: Level, nowMs: number): boolean {
  return l.tokens >= 0 && nowMs - l.atMs >= MINUTE_MS;
}

/** ms until `need` tokens are there, from `have`; Infinity when need exceeds capacity. */
export function waitMs(have: number, need: number, capacity: number): number {
  if (need > capacity) return Infinity;
  if (have >= need) return 0;
  return Math.ceil(((need - have) * MINUTE_MS) / capacity);
}

export function bucketState(level: number, capacity: number): BucketState {
  return {
    limit: capacity,
    remaining: Math.max(0, Math.floor(level)),
    untilFullMs: Math.ceil(((capacity - level) * MINUTE_MS) / capacity),
  };
}

const DIMENSIONS: ReadonlyArray<readonly [LimitDimension, keyof TierLimits, 'requests' | 'inputTokens' | 'outputTokens']> = [
  ['requests', 'requestsPerMinute', 'requests'],
  ['input_tokens', 'inputTokensPerMinute', 'inputTokens'],
  ['output_tokens', 'outputTokensPerMinute', 'outputTokens'],
];

/**
 * The decision for levels `[requests, input, output]` already refilled to now: charged levels on
 * success (written back to `levels`), or the dimension that must wait longest.
 */
/** A full concurrency scope waits on no refill: retry in about this long. */
export const CONCURRENCY_RETRY_MS = 1_000;

export function decide(r: LimitRequest, levels: number[], concurrencyFull = false): LimitDecision {
  const need = [1, r.inputTokens, r.outputTokens];
  let worst: LimitDimension | null = concurrencyFull ? 'concurrency' : null;
  let worstWait = concurrencyFull ? CONCURRENCY_RETRY_MS : 0;
  for (let d = 0; d < 3; d++) {
    const cap = r.limits[DIMENSIONS[d][1]];
    const w = waitMs(levels[d], need[d], cap);
    if (w > worstWait) {
      worstWait = w;
      worst = DIMENSIONS[d][0];
    }
  }
  if (worst === null) for (let d = 0; d < 3; d++) levels[d] -= need[d];
  const state = {
    requests: bucketState(levels[0], r.limits.requestsPerMinute),
    inputTokens: bucketState(levels[1], r.limits.inputTokensPerMinute),
    outputTokens: bucketState(levels[2], r.limits.outputTokensPerMinute),
  };
  return worst === null ? { ok: true, state } : { ok: false, dimension: worst, retryAfterMs: worstWait, state };
}
