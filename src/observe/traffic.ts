import type { UsageRecord } from '../ledger/index.js';
import type { Clock } from '../time/index.js';
import type { RequestObserver } from './types.js';

// The last minutes of traffic in short buckets, for the dashboard: per bucket the requests, 5xx,
// 4xx, output tokens, and latency and TTFT as counts in fixed log-spaced bins, so p50/p95/p99 are
// read without keeping a sample. Kept for the fleet, per model and per tenant (both bounded: a
// series idle for a whole window is handed to a newcomer; see Bounded). Every series is preallocated typed arrays in a ring; a
// new bucket clears the slot of the oldest, so a settled request allocates nothing.
//
// Latency and TTFT count successful requests only (status < 400): a burst of instant 429s would
// otherwise read as the fleet getting faster. TTFT counts those with a first token (streamed).

/**
 * Bins per doubling: a bin is 19 % wide, and a quantile is read inside the bin its rank falls in,
 * so it is never further than that from the exact one. A series is ~65 KB (two bin sets per slot).
 */
const PER_OCTAVE = 4;
/** 1 ms … 2^21 ms (35 min); below goes in bin 0, above in the last */
const OCTAVES = 21;
const BINS = 1 + PER_OCTAVE * OCTAVES + 1;
const LAST = BINS - 1;
/** requests, 5xx, 4xx, output tokens */
const COUNTS = 4;

const binOf = (ms: number): number => {
  if (!(ms >= 1)) return 0;
  const i = 1 + Math.floor(Math.log2(ms) * PER_OCTAVE);
  return i > LAST ? LAST : i;
};
const lowerEdge = (bin: number): number => (bin === 0 ? 0 : 2 ** ((bin - 1) / PER_OCTAVE));

export interface TrafficOptions {
  /** how far back the window reaches (default 15 min); a multiple of `bucketMs` */
  windowMs?: number;
  /** default 10 s */
  bucketMs?: number;
  /** tenants with a series of their own (default 500) */
  maxTenants?: number;
  /** models with a series of their own (default 100): a client's made-up model names cannot grow this */
  maxModels?: number;
}

/** Whose traffic: the whole fleet's, one model's, or one tenant's. */
export type TrafficScope = { readonly model: string } | { readonly tenant: string } | null;

/** Milliseconds; null when nothing was counted. */
export interface Quantiles {
  readonly p50: number | null;
  readonly p95: number | null;
  readonly p99: number | null;
}

export interface TrafficCounts {
  readonly requests: number;
  readonly errors5xx: number;
  readonly errors4xx: number;
  readonly outputTokens: number;
  readonly latency: Quantiles;
  readonly ttft: Quantiles;
}

/** One bucket: `at` is its start (epoch ms); the newest is still filling. */
export interface TrafficPoint extends TrafficCounts {
  readonly at: number;
}

/** A ring of buckets for one scope. */
class Series {
  key = '';
  lastSeenMs = 0;
  /** the bucket number (epoch ms ÷ bucket) each slot holds; -1 empty */
  readonly held: Float64Array;
  readonly counts: Float64Array;
  readonly latency: Uint32Array;
  readonly ttft: Uint32Array;

  constructor(readonly slots: number) {
    this.held = new Float64Array(slots).fill(-1);
    this.counts = new Float64Array(slots * COUNTS);
    this.latency = new Uint32Array(slots * BINS);
    this.ttft = new Uint32Array(slots * BINS);
  }

  add(bucket: number, r: UsageRecord): void {
    const slot = bucket % this.slots;
    if (this.held[slot] !== bucket) {
      this.held[slot] = bucket;
      this.counts.fill(0, slot * COUNTS, slot * COUNTS + COUNTS);
      this.latency.fill(0, slot * BINS, slot * BINS + BINS);
      this.ttft.fill(0, slot * BINS, slot * BINS + BINS);
    }
    const c = slot * COUNTS;
    this.counts[c]++;
    if (r.status >= 500) this.counts[c + 1]++;
    else if (r.status >= 400) this.counts[c + 2]++;
    this.counts[c + 3] += r.outputTokens;
    if (r.status < 400) {
      this.latency[slot * BINS + binOf(r.latencyMs)]++;
      if (r.ttftMs !== null) this.ttft[slot * BINS + binOf(r.ttftMs)]++;
    }
  }

  clear(): void {
    this.held.fill(-1);
  }
}

/**
 * Series by key, at most `max`. A newcomer beyond it takes over the series of a key not seen for a
 * whole window (all its buckets are out of the window: nothing is lost). While every series has
 * traffic in the window the newcomer gets none (the fleet's series still counts it): evicting a
 * busy key instead would, with more busy keys than `max`, evict each before it came back, so
 * every series would be wrong, at the price of a scan on every request.
 */
class Bounded {
  readonly #map = new Map<string, Series>();
  /** from the last scan that found no idle series until this time, none can become idle (no scan needed) */
  #scannedAt = Infinity;
  #noneIdleUntil = -Infinity;
  constructor(readonly max: number, readonly slots: number, readonly windowMs: number) {}

  /** The key's series; a key without one gets one only if `create` and one is free (else null). */
  touch(key: string, nowMs: number, create: boolean): Series | null {
    let s = this.#map.get(key);
    if (s === undefined) {
      if (this.max === 0 || !create) return null;
      if (this.#map.size < this.max) s = new Series(this.slots);
      else {
        // (a clock stepped back since that scan scans again)
        if (nowMs >= this.#scannedAt && nowMs < this.#noneIdleUntil) return null;
        // a scan over at most `max`, at most once per expiry of the least recently seen series
        let oldest: Series | null = null;
        for (const v of this.#map.values()) {
          // seen more than a window ahead of now (the clock stepped back): none of it shows either
          if (v.lastSeenMs > nowMs + this.windowMs) { oldest = v; break; }
          if (oldest === null || v.lastSeenMs < oldest.lastSeenMs) oldest = v;
        }
        if (oldest!.lastSeenMs + this.windowMs > nowMs && oldest!.lastSeenMs <= nowMs + this.windowMs) {
          this.#scannedAt = nowMs;
          this.#noneIdleUntil = oldest!.lastSeenMs + this.windowMs;
          return null;
        }
        s = oldest!;
        this.#map.delete(s.key);
        s.clear();
      }
      s.key = key;
      this.#map.set(key, s);
    }
    s.lastSeenMs = nowMs;
    return s;
  }

  get(key: string): Series | undefined {
    return this.#map.get(key);
  }

  keys(): string[] {
    return [...this.#map.keys()];
  }
}

const NO_QUANTILES: Quantiles = Object.freeze({ p50: null, p95: null, p99: null });

/** The last minutes of traffic in short buckets: request rate, errors and latency, for the dashboard. */
export class TrafficWindow implements RequestObserver {
  readonly windowMs: number;
  readonly bucketMs: number;
  readonly #clock: Clock;
  readonly #slots: number;
  readonly #fleet: Series;
  readonly #models: Bounded;
  readonly #tenants: Bounded;
  /** where quantiles over many buckets are summed (reads only, never the request path) */
  readonly #scratch = new Float64Array(BINS);

  constructor(clock: Clock, o: TrafficOptions = {}) {
    this.bucketMs = o.bucketMs ?? 10_000;
    this.windowMs = o.windowMs ?? 15 * 60_000;
    if (!(this.bucketMs > 0) || !Number.isInteger(this.windowMs / this.bucketMs) || this.windowMs < this.bucketMs) {
      throw new RangeError(`traffic window: windowMs (${this.windowMs}) must be a whole number of buckets of ${this.bucketMs} ms`);
    }
    this.#clock = clock;
    // the bucket filling now is the window's newest: 15 min of 10 s buckets is 90 slots
    this.#slots = this.windowMs / this.bucketMs;
    this.#fleet = new Series(this.#slots);
    this.#models = new Bounded(o.maxModels ?? 100, this.#slots, this.windowMs);
    this.#tenants = new Bounded(o.maxTenants ?? 500, this.#slots, this.windowMs);
  }

  settled(r: UsageRecord): void {
    const now = this.#clock.nowMs();
    const bucket = Math.floor(now / this.bucketMs);
    this.#fleet.add(bucket, r);
    // a client error never gives a model a series: a client naming made-up models (each a 404)
    // would otherwise push the served models' series out, one a request
    this.#models.touch(r.model, now, r.status < 400 || r.status >= 500)?.add(bucket, r);
    this.#tenants.touch(r.tenantId, now, true)?.add(bucket, r);
  }

  /** The models with a series now, as clients named them. */
  models(): string[] {
    return this.#models.keys();
  }

  /** The buckets of the last `windowMs` (default: all), oldest first, the one filling now last. */
  points(scope: TrafficScope, windowMs = this.windowMs): TrafficPoint[] {
    const s = this.#series(scope);
    const n = this.#count(windowMs);
    const newest = Math.floor(this.#clock.nowMs() / this.bucketMs);
    const out: TrafficPoint[] = new Array(n);
    for (let k = 0; k < n; k++) {
      const bucket = newest - n + 1 + k;
      const at = bucket * this.bucketMs;
      const slot = bucket % this.#slots;
      if (s === undefined || s.held[slot] !== bucket) {
        out[k] = { at, requests: 0, errors5xx: 0, errors4xx: 0, outputTokens: 0, latency: NO_QUANTILES, ttft: NO_QUANTILES };
        continue;
      }
      const c = slot * COUNTS;
      out[k] = {
        at, requests: s.counts[c], errors5xx: s.counts[c + 1], errors4xx: s.counts[c + 2], outputTokens: s.counts[c + 3],
        latency: quantiles(s.latency, slot * BINS), ttft: quantiles(s.ttft, slot * BINS),
      };
    }
    return out;
  }

  /** The last `windowMs` (default: all) summed, the bucket filling now included. */
  totals(scope: TrafficScope, windowMs = this.windowMs): TrafficCounts {
    const s = this.#series(scope);
    let requests = 0, errors5xx = 0, errors4xx = 0, outputTokens = 0;
    if (s === undefined) return { requests, errors5xx, errors4xx, outputTokens, latency: NO_QUANTILES, ttft: NO_QUANTILES };
    const n = this.#count(windowMs);
    const newest = Math.floor(this.#clock.nowMs() / this.bucketMs);
    const latency = this.#merged(s, s.latency, newest, n);
    const ttft = this.#merged(s, s.ttft, newest, n);
    for (let bucket = newest - n + 1; bucket <= newest; bucket++) {
      const slot = bucket % this.#slots;
      if (s.held[slot] !== bucket) continue;
      const c = slot * COUNTS;
      requests += s.counts[c]; errors5xx += s.counts[c + 1]; errors4xx += s.counts[c + 2]; outputTokens += s.counts[c + 3];
    }
    return { requests, errors5xx, errors4xx, outputTokens, latency, ttft };
  }

  #merged(s: Series, bins: Uint32Array, newest: number, n: number): Quantiles {
    const sum = this.#scratch;
    sum.fill(0);
    for (let bucket = newest - n + 1; bucket <= newest; bucket++) {
      const slot = bucket % this.#slots;
      if (s.held[slot] !== bucket) continue;
      for (let i = 0, o = slot * BINS; i < BINS; i++) sum[i] += bins[o + i];
    }
    return quantiles(sum, 0);
  }

  #series(scope: TrafficScope): Series | undefined {
    if (scope === null) return this.#fleet;
    return 'model' in scope ? this.#models.get(scope.model) : this.#tenants.get(scope.tenant);
  }

  /** buckets in a window of `windowMs`, the filling one included; at most the whole window */
  #count(windowMs: number): number {
    return Math.max(1, Math.min(this.#slots, Math.ceil(windowMs / this.bucketMs)));
  }
}

function quantiles(bins: ArrayLike<number>, offset: number): Quantiles {
  let total = 0;
  for (let i = 0; i < BINS; i++) total += bins[offset + i];
  if (total === 0) return NO_QUANTILES;
  return { p50: quantile(bins, offset, total, 0.5), p95: quantile(bins, offset, total, 0.95), p99: quantile(bins, offset, total, 0.99) };
}

/** Interpolated inside the bin the rank falls in, geometrically (the bins are); to a hundredth of a ms. */
function quantile(bins: ArrayLike<number>, offset: number, total: number, q: number): number {
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < BINS; i++) {
    const c = bins[offset + i];
    if (c === 0 || below + c < rank) {
      below += c;
      continue;
    }
    const frac = (rank - below) / c;
    const lo = lowerEdge(i);
    // the first bin is linear from 0; the last has no upper edge, so it reads as its lower one
    const v = i === 0 ? frac : i === LAST ? lo : lo * 2 ** (frac / PER_OCTAVE);
    return Math.round(v * 100) / 100;
  }
  return Math.round(lowerEdge(LAST) * 100) / 100;
}
