import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { pushLimitHeaders, type GatewayError, type InferenceRequest, type Wire } from '../api/index.js';
import type { Config, ModelConfig } from '../config/index.js';
import { MemoryLimiter, RedisLimiter, StoreSkipped, type BreakerState, type Lease, type LimitDecision, type LimitRequest, type LimitState, type RateLimiter, type TierLimits } from '../limits/index.js';
import type { Logger } from '../observe/index.js';
import type { AuthContext } from '../tenancy/index.js';
import { wallClock, wallTimers, type Clock, type Timers } from '../time/index.js';

// The gateway's side of rate limiting: which buckets a request draws on (its workspace's, per
// model, at its tenant's tier), what it reserves before it is admitted (its input tokens,
// estimated from the body, its whole max_tokens of output, and a concurrent lease when the tier
// limits them), and, when it ends, the lease back and the reservation set right by what it
// really used. The headers are api/'s (rate-limit-headers.ts).

/** A tier's settings: its limits, priority and fair-share weight. */
export type Tier = Config['tiers'][string];

/** What an admitted request holds of its buckets and its workspace's concurrency until it ends. */
export interface Reservation {
  readonly key: string;
  readonly limits: TierLimits & { readonly concurrentRequests: number | null };
  /** input tokens reserved before admission: an estimate from the body's size */
  readonly reservedInput: number;
  readonly reservedOutput: number;
  /** its concurrent lease, when its tier limits concurrency */
  readonly lease: Lease | undefined;
  /** the limiter that admitted it (the fallback, when the shared store failed), which takes it back */
  limiter: RateLimiter;
  /** released once: a second release (a shed after admission, then a close) gives nothing back twice */
  open: boolean;
}


const NO_CORRECTION = { inputTokens: 0, outputTokens: 0 } as const;

/** What a request's limits said: its reservation, to release when it ends, or the refusal. */
export type LimitVerdict =
  | { readonly ok: true; readonly reservation: Reservation }
  | { readonly ok: false; readonly error: GatewayError };

export class RateLimits {
  readonly #tiers: Config['tiers'];
  readonly #limiter: RateLimiter;
  /** per-instance buckets while Redis is unreachable (fail open) */
  readonly #fallback = new MemoryLimiter();
  readonly #failOpen: boolean;
  readonly #log: Logger;
  /** admissions decided by the fallback because the shared store failed */
  fallbacks = 0;
  /** how long a concurrent lease outlives a gateway that died holding it: the longest a request may run */
  readonly #leaseMs: number;
  #leases = 0;
  /** names this instance's leases apart from every other instance's */
  readonly #instance = randomBytes(6).toString('hex');
  readonly #onFallback: (mode: 'open' | 'closed') => void;
  readonly #clock: Clock;
  readonly #timers: Timers;

  constructor(config: Config, log: Logger, opts: { limiter?: RateLimiter; onFallback?: (mode: 'open' | 'closed') => void; clock?: Clock; timers?: Timers } = {}) {
    const limiter = opts.limiter;
    this.#clock = opts.clock ?? wallClock;
    this.#timers = opts.timers ?? wallTimers;
    this.#onFallback = opts.onFallback ?? (() => {});
    this.#tiers = config.tiers;
    this.#leaseMs = config.upstream.requestTimeoutMs + 60_000;
    this.#failOpen = config.limits.failMode === 'open';
    this.#log = log;
    this.#limiter = limiter ?? (config.limits.backend === 'redis'
      ? new RedisLimiter({ url: config.limits.redisUrl, prefix: config.limits.redisKeyPrefix, timeoutMs: config.limits.timeoutMs, timers: this.#timers, breaker: config.limits.breaker })
      : new MemoryLimiter());
  }

  #breakerWas: BreakerState = 'closed';

  /** The shared store's breaker: 0 closed, 1 half-open (probing), 2 open; null without a shared store. */
  breakerState(): 0 | 1 | 2 | null {
    if (!(this.#limiter instanceof RedisLimiter)) return null;
    const s = this.#limiter.breaker;
    return s === 'closed' ? 0 : s === 'half_open' ? 1 : 2;
  }

  /** One log line when the breaker opens and one when it closes, not one per request. */
  #noteBreaker(): void {
    if (!(this.#limiter instanceof RedisLimiter)) return;
    const s = this.#limiter.breaker;
    if (s === this.#breakerWas || s === 'half_open') return;
    this.#breakerWas = s;
    if (s === 'open') this.#log.error({ opens: this.#limiter.breakerOpens }, `the rate-limit store stopped answering; not asking it (${this.#failOpen ? 'limiting per instance' : 'refusing requests'}) until a probe succeeds`);
    else this.#log.warn({ fallbacks: this.fallbacks }, 'the rate-limit store answers again; shared limits resume');
  }

  /**
   * Reserves the request's share of its tier's (`tierOf`) limits, pushes the rate-limit headers
   * onto `heads` (the request's, written with its response head; without it they are not sent),
   * and says whether it may go on.
   */
  admit(res: ServerResponse, wire: Wire, auth: AuthContext, limits: Tier, ireq: InferenceRequest, model: ModelConfig, bodyBytes: number, heads: string[] = []): LimitVerdict | Promise<LimitVerdict> {
    // {workspace}: a Redis Cluster hash tag, so a workspace's buckets and leases live on one node
    const scope = `{${auth.workspaceId}}`;
    const key = `${scope}:${ireq.model}`;
    const reservedOutput = ireq.maxTokens ?? model.defaultMaxTokens;
    const lease = limits.concurrentRequests === null ? undefined : { key: scope, id: `${this.#instance}.${++this.#leases}` };
    // no tokenizer here: about four bytes of request body a token, set right when the replica counts
    const request: LimitRequest = {
      key, limits, inputTokens: Math.ceil(bodyBytes / 4), outputTokens: reservedOutput, nowMs: this.#clock.nowMs(),
      concurrency: lease === undefined ? undefined : { lease, limit: limits.concurrentRequests!, leaseMs: this.#leaseMs },
    };
    const reservation: Reservation = { key, limits, reservedInput: request.inputTokens, reservedOutput, lease, limiter: this.#limiter, open: true };
    if (this.#limiter instanceof MemoryLimiter) return this.#conclude(res, heads, wire, this.#limiter.admitNow(request), reservation, request.nowMs);
    return this.#limiter.admit(request).then(
      (d) => {
        if (this.#breakerWas !== 'closed') this.#noteBreaker();
        return this.#conclude(res, heads, wire, d, reservation, request.nowMs);
      },
      (err: unknown) => {
        this.#noteBreaker();
        this.fallbacks++;
        this.#onFallback(this.#failOpen ? 'open' : 'closed');
        // a call that timed out may still have taken a lease in Redis: give it back when Redis can
        if (lease !== undefined) this.#limiter.refund(key, limits, NO_CORRECTION, request.nowMs, lease).catch(() => {});
        if (!(err instanceof StoreSkipped) && (this.fallbacks === 1 || this.fallbacks % 1000 === 0)) this.#log.error({ err, fallbacks: this.fallbacks }, this.#failOpen ? 'rate-limit store failed; limiting per instance' : 'rate-limit store failed; refusing requests');
        if (!this.#failOpen) {
          reservation.open = false;
          return { ok: false, error: { kind: 'overloaded', message: 'Rate limits cannot be checked right now; try again shortly.', retryAfterS: 1 } } as const;
        }
        // what the fallback admitted, the fallback takes back (its concurrent lease is held there)
        reservation.limiter = this.#fallback;
        return this.#conclude(res, heads, wire, this.#fallback.admitNow(request), reservation, request.nowMs);
      },
    );
  }

  /**
   * Resolves once the shared store is connected, or after `timeoutMs` (false): a gateway must not
   * take its first requests before its limiter can answer them, nor hang when Redis is down.
   */
  async ready(timeoutMs: number): Promise<boolean> {
    if (!(this.#limiter instanceof RedisLimiter)) return true;
    let timer: ReturnType<Timers['after']> | null = null;
    const timeout = new Promise<boolean>((r) => { timer = this.#timers.after(timeoutMs, r, false); });
    try {
      return await Promise.race([this.#limiter.ready().then(() => true, () => false), timeout]);
    } finally {
      this.#timers.cancel(timer);
    }
  }

  /** The tier a key's requests are held to (an unknown tier name gets `default`). */
  tierOf(auth: AuthContext): Tier {
    return this.#tiers[auth.tier] ?? this.#tiers.default;
  }

  /**
   * The request ended: its lease goes back, the output it did not generate goes back, and the
   * input estimate is set right by the replica's own count. A request never sent to a replica
   * (shed, or left while it waited) gets all of it back; one that failed before its replica
   * counted keeps the estimate.
   */
  release(t: Reservation, inputTokens: number, outputTokens: number, sent: boolean): void {
    if (!t.open) return;
    t.open = false;
    const input = !sent ? t.reservedInput : inputTokens > 0 ? t.reservedInput - inputTokens : 0;
    // more output than reserved (a replica past its cap) is charged on top: a debt the refill pays
    const c = { inputTokens: input, outputTokens: t.reservedOutput - outputTokens };
    if (c.inputTokens === 0 && c.outputTokens === 0 && t.lease === undefined) return;
    const now = this.#clock.nowMs();
    if (t.limiter instanceof MemoryLimiter) {
      if (sent) t.limiter.commitNow(t.key, t.limits, c, now, t.lease);
      else t.limiter.refundNow(t.key, t.limits, c, now, t.lease);
      return;
    }
    // a lease Redis did not get back expires there on its own; the tokens are the fallback's to correct
    (sent ? t.limiter.commit(t.key, t.limits, c, now, t.lease) : t.limiter.refund(t.key, t.limits, c, now, t.lease))
      .catch(() => this.#fallback.commitNow(t.key, t.limits, c, now));
  }

  close(): Promise<void> {
    return this.#limiter.close();
  }

  #conclude(res: ServerResponse, heads: string[], wire: Wire, d: LimitDecision, reservation: Reservation, nowMs: number): LimitVerdict {
    pushLimitHeaders(heads, wire, d.state, nowMs);
    if (d.ok) return { ok: true, reservation };
    reservation.open = false;
    if (d.dimension === 'concurrency') {
      return { ok: false, error: { kind: 'rate_limited', retryAfterS: 1, message: `Too many concurrent requests: your tier allows ${reservation.limits.concurrentRequests} at once per workspace; retry when one has finished.` } };
    }
    if (d.retryAfterMs === Infinity) {
      const what = d.dimension === 'input_tokens' ? 'input tokens' : 'output tokens (max_tokens)';
      return { ok: false, error: { kind: 'rate_limited', retryAfterS: null, message: `This request's ${what} exceed your tier's whole per-minute limit (${limitOf(d.state, d.dimension)}), so it can never be admitted at this tier; send a smaller request.` } };
    }
    res.setHeader('retry-after-ms', String(d.retryAfterMs));
    const what = d.dimension === 'requests' ? 'requests per minute' : d.dimension === 'input_tokens' ? 'input tokens per minute' : 'output tokens per minute';
    const retryAfterS = Math.ceil(d.retryAfterMs / 1000);
    return { ok: false, error: { kind: 'rate_limited', retryAfterS, message: `Rate limit exceeded: your tier's ${what} (${limitOf(d.state, d.dimension)}); retry after ${retryAfterS} s.` } };
  }
}

function limitOf(s: LimitState, d: 'requests' | 'input_tokens' | 'output_tokens'): number {
  return d === 'requests' ? s.requests.limit : d === 'input_tokens' ? s.inputTokens.limit : s.outputTokens.limit;
}
