// The rate limiter's vocabulary. A tier's limits are per minute and refill continuously (a token
// bucket per dimension, as Anthropic's and OpenAI's limits do), not in fixed windows. A request is
// charged its input tokens and, until it finishes, its whole `max_tokens` of output; the output
// reservation is settled against what it really generated.

export interface TierLimits {
  readonly requestsPerMinute: number;
  readonly inputTokensPerMinute: number;
  readonly outputTokensPerMinute: number;
}

export type LimitDimension = 'requests' | 'input_tokens' | 'output_tokens' | 'concurrency';

/** A hold on one of a scope's concurrent slots, until released (or, if its holder dies, leaseMs). */
export interface Lease {
  /** whose slots: a workspace */
  readonly key: string;
  /** unique per request */
  readonly id: string;
}

/** One bucket as the response headers report it. */
export interface BucketState {
  readonly limit: number;
  /** whole units left now */
  readonly remaining: number;
  /** ms from now until the bucket is full again */
  readonly untilFullMs: number;
}

export interface LimitState {
  readonly requests: BucketState;
  readonly inputTokens: BucketState;
  readonly outputTokens: BucketState;
}

export interface LimitRequest {
  /** whose buckets: a workspace, a key — the caller decides the scope */
  readonly key: string;
  readonly limits: TierLimits;
  readonly inputTokens: number;
  /** reserved until the request ends: its max_tokens */
  readonly outputTokens: number;
  readonly nowMs: number;
  /** also take one of `limit` concurrent slots, held until `settle` releases it */
  readonly concurrency?: { readonly lease: Lease; readonly limit: number; readonly leaseMs: number };
}

export type LimitDecision =
  | { readonly ok: true; readonly state: LimitState }
  /** over a limit: nothing was charged; retry after `retryAfterMs` (Infinity: the request alone exceeds the limit) */
  | { readonly ok: false; readonly dimension: LimitDimension; readonly retryAfterMs: number; readonly state: LimitState };

/** What a finished request's charges were off by, per token bucket (charged − used). */
export interface Correction {
  readonly inputTokens: number;
  readonly outputTokens: number;
}

/** One interface, an in-memory and a Redis implementation (a shared spec runs against both). */
export interface RateLimiter {
  /** Charge the request to its buckets (and take its concurrent slot) if every one has room, else charge nothing. */
  admit(r: LimitRequest): Promise<LimitDecision>;
  /**
   * The request ended: its charges are set right against what it really used. Each figure is what
   * was charged minus what was used — positive goes back to the bucket, negative is charged on top
   * (the bucket may go below zero; later requests wait while refill pays the debt).
   */
  settle(key: string, limits: TierLimits, correction: Correction, nowMs: number, release?: Lease): Promise<void>;
  close(): Promise<void>;
}
