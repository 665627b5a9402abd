import { decide, levelAt, refilled, type Level } from './bucket.js';
import type { Correction, Lease, LimitDecision, LimitRequest, RateLimiter, TierLimits } from './types.js';

/** below this many buckets the map is never swept */
const SWEEP_FLOOR = 10_000;

/**
 * The embedded default: buckets in this process's memory (one gateway instance). A bucket left
 * alone for a minute with no debt is full again, which is what an absent bucket means; such
 * buckets are dropped whenever the map has doubled since the last sweep (amortised O(1) per new
 * key), so the map holds the buckets used in the last minute, not every key ever seen.
 */
export class MemoryLimiter implements RateLimiter {
  /** key → [requests, input, output] levels */
  readonly #buckets = new Map<string, [Level, Level, Level]>();
  #sweepAt = SWEEP_FLOOR;
  readonly #levels = [0, 0, 0];
  /** scope → requests holding a concurrent lease (leases cannot outlive this process) */
  readonly #held = new Map<string, number>();

  admit(r: LimitRequest): Promise<LimitDecision> {
    return Promise.resolve(this.admitNow(r));
  }

  /** The same decision without a promise, for callers on the hot path. */
  admitNow(r: LimitRequest): LimitDecision {
    const b = this.#buckets.get(r.key);
    const l = this.#levels;
    l[0] = levelAt(b?.[0], r.limits.requestsPerMinute, r.nowMs);
    l[1] = levelAt(b?.[1], r.limits.inputTokensPerMinute, r.nowMs);
    l[2] = levelAt(b?.[2], r.limits.outputTokensPerMinute, r.nowMs);
    const c = r.concurrency;
    const held = c === undefined ? 0 : this.#held.get(c.lease.key) ?? 0;
    const d = decide(r, l, c !== undefined && held >= c.limit);
    if (d.ok) {
      if (c !== undefined) this.#held.set(c.lease.key, held + 1);
      if (b === undefined) {
        if (this.#buckets.size >= this.#sweepAt) this.#sweep(r.nowMs);
        this.#buckets.set(r.key, [{ tokens: l[0], atMs: r.nowMs }, { tokens: l[1], atMs: r.nowMs }, { tokens: l[2], atMs: r.nowMs }]);
      } else {
        for (let i = 0; i < 3; i++) {
          b[i].tokens = l[i];
          b[i].atMs = r.nowMs;
        }
      }
    }
    return d;
  }

  commit(key: string, limits: TierLimits, c: Correction, nowMs: number, release?: Lease): Promise<void> {
    this.commitNow(key, limits, c, nowMs, release);
    return Promise.resolve();
  }

  refund(key: string, limits: TierLimits, charged: Correction, nowMs: number, release?: Lease): Promise<void> {
    this.commitNow(key, limits, charged, nowMs, release);
    return Promise.resolve();
  }


  /** `refund` without a promise, for callers on the hot path: all of `charged` goes back. */
  refundNow(key: string, limits: TierLimits, charged: Correction, nowMs: number, release?: Lease): void {
    this.commitNow(key, limits, charged, nowMs, release);
  }


  /** `commit` without a promise, for callers on the hot path. */
  commitNow(key: string, limits: TierLimits, c: Correction, nowMs: number, release?: Lease): void {
    if (release !== undefined) {
      const n = (this.#held.get(release.key) ?? 1) - 1;
      if (n <= 0) this.#held.delete(release.key);
      else this.#held.set(release.key, n);
    }
    const b = this.#buckets.get(key);
    if (b === undefined) return;
    correct(b[1], limits.inputTokensPerMinute, c.inputTokens, nowMs);
    correct(b[2], limits.outputTokensPerMinute, c.outputTokens, nowMs);
  }

  /** buckets held now (for tests and metrics) */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(nowMs: number): void {
    for (const [k, b] of this.#buckets) {
      if (refilled(b[0], nowMs) && refilled(b[1], nowMs) && refilled(b[2], nowMs)) this.#buckets.delete(k);
    }
    this.#sweepAt = Math.max(SWEEP_FLOOR, this.#buckets.size * 2);
  }

  close(): Promise<void> {
    this.#buckets.clear();
    this.#held.clear();
    return Promise.resolve();
  }
}

function correct(l: Level, capacity: number, by: number, nowMs: number): void {
  // a NaN level never refills and is never swept: a correction that is not a number is dropped
  if (by === 0 || !Number.isFinite(by)) return;
  l.tokens = Math.min(capacity, levelAt(l, capacity, nowMs) + by);
  l.atMs = nowMs;
}
