// The rate limiter's vocabulary. A tier's limits are per minute and refill continuously (a token
// bucket per dimension, as Anthropic's and OpenAI's limits do), not in fixed windows. A request is
// charged its input tokens and, until it finishes, its whole `max_tokens` of output: a reservation.
// When the request ends the reservation is committed at what it really used (what it did not use
// goes back), or, when it never ran, refunded whole.

export interface TierLimits {
  readonly requestsPerMinute: number;
  readonly inputTokensPerMinute: number;
  readonly outputTokensPerMinute: number;
}

export type LimitDimension = 'requests' | 'input_tokens' | 'output_tokens' | 'concurrency';

/** A hold on one of a scope's concurrent requests, until given back (or, if its holder dies, leaseMs). */
export interface Lease {
  /** whose concurrency: a workspace */
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
  /** also take one of `limit` concurrent leases, held until `commit` or `refund` gives it back */
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
  /** Charge the request to its buckets (and take its concurrent lease) if every one has room, else charge nothing. */
  admit(r: LimitRequest): Promise<LimitDecision>;
  /**
   * The request ran and ended: its reservation is committed at what it really used, and `release`
   * (its concurrent lease) given back. Each figure is what was charged minus what was used —
   * positive goes back to the bucket, negative is charged on top (the bucket may go below zero;
   * later requests wait while refill pays the debt).
   */
  commit(key: string, limits: TierLimits, correction: Correction, nowMs: number, release?: Lease): Promise<void>;
  /**
   * The request never ran (shed, or it left while it waited), or its admission is being undone:
   * `charged` goes back whole, and `release` with it.
   */
  refund(key: string, limits: TierLimits, charged: Correction, nowMs: number, release?: Lease): Promise<void>;
  close(): Promise<void>;
}
