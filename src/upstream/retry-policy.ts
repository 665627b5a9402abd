import type { Rng } from '../time/index.js';
import type { UpstreamFailure } from './types.js';

// The retry decision, apart from the mechanism that acts on it (the gateway's exchange, the
// simulator's event loop): which failures another replica may do better on, how long to back off,
// and how many retries the fleet can take at once. Envoy's rules and Envoy's words.

/**
 * A failure another replica may do better on, given that nothing has reached the client yet: the
 * connection was refused or reset, the replica fell silent before its first token, or it failed
 * with a 5xx. Not a 4xx (the request itself is at fault), not a whole-request timeout (the time is spent).
 */
export function isRetryable(f: UpstreamFailure): boolean {
  switch (f.kind) {
    case 'connect': return true;
    case 'broken': return true;
    case 'timeout': return f.phase !== 'total';
    case 'status': return f.status === 500 || f.status === 502 || f.status === 503 || f.status === 504;
  }
}

export interface Backoff {
  readonly baseMs: number;
  readonly maxMs: number;
}

/**
 * The wait before retry number `retry` (1 for the first retry): full jitter over an exponential
 * ceiling, as Envoy backs off, so retries of many requests failing together spread out.
 */
export function backoffMs(b: Backoff, retry: number, rng: Rng): number {
  return rng() * Math.min(b.maxMs, b.baseMs * 2 ** (retry - 1));
}

/** How a request is retried: attempts in all (the first included), and the backoff between them. */
export interface RetryRule {
  readonly maxAttempts: number;
  readonly backoff: Backoff;
}

export type RetryVerdict =
  /** retry on another replica after `waitMs`; the budget share is taken (give it back with `release`) */
  | { readonly kind: 'retry'; readonly waitMs: number }
  /** answer the client with this failure: it is the request's fault, or the attempts are spent */
  | { readonly kind: 'final' }
  /** it would have been retried, but the fleet's retry budget is spent (Envoy's retry_overflow) */
  | { readonly kind: 'overflow' };

/**
 * After a failed attempt (`attempts` sent so far) that came before anything reached the client:
 * retry, or give up. The one rule the gateway's retry interceptor and the simulator both apply.
 */
export function decideRetry(rule: RetryRule, f: UpstreamFailure, attempts: number, budget: RetryBudget, rng: Rng): RetryVerdict {
  if (!isRetryable(f) || attempts >= rule.maxAttempts) return FINAL;
  if (!budget.acquire()) return OVERFLOW;
  return { kind: 'retry', waitMs: backoffMs(rule.backoff, attempts, rng) };
}

const FINAL: RetryVerdict = { kind: 'final' };
const OVERFLOW: RetryVerdict = { kind: 'overflow' };

/**
 * Whether a second call should race the first for its first token (hedging): only a streamed
 * request, only one hedge, only while attempts remain; the caller then spends the budget for it.
 */
export function mayHedge(rule: RetryRule, stream: boolean, attempts: number, hedging: boolean): boolean {
  return stream && !hedging && attempts < rule.maxAttempts;
}

/**
 * Envoy's retry budget: retries in flight may reach a share of the requests in flight (but always
 * `minConcurrency`), so a failing fleet is not hit by a retry storm on top of its load. A hedge
 * spends it as a retry does.
 */
export class RetryBudget {
  #active = 0;
  #retrying = 0;

  /** `share` in [0, 1] (config's percent / 100) */
  constructor(private readonly share: number, private readonly minConcurrency: number) {}

  /** A request began at the gateway (its retries are part of it). */
  started(): void {
    this.#active++;
  }

  /** A request ended, however. */
  ended(): void {
    this.#active--;
  }

  /** May one more retry go out now? If so it is counted until `release`. */
  acquire(): boolean {
    if (this.#retrying >= Math.max(this.minConcurrency, this.share * this.#active)) return false;
    this.#retrying++;
    return true;
  }

  /** A retry (or hedge) got its first byte, or ended: its share goes back. */
  release(): void {
    this.#retrying--;
  }

  get active(): number {
    return this.#active;
  }

  get retrying(): number {
    return this.#retrying;
  }
}
