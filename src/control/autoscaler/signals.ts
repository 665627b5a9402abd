import type { CallOutcome, PoolName, PoolSignals, ReplicaReport } from './types.js';

// One pool's signals between two ticks. The gateway tells of every arrival and every call end, so
// those paths only bump counters and write one slot of a ring; the sorting for the percentiles
// happens once per tick, on a scratch copy of the window.

export interface SignalWindowOptions {
  /** the percentiles cover the calls that ended this long before the tick, ms */
  readonly latencyWindowMs: number;
  /** a call on a replica ready for less than this long is a cold-start sample, not a latency sample, ms */
  readonly warmupMs: number;
  /** latency samples kept; past it the oldest are overwritten (the window is then the newest calls) */
  readonly capacity?: number;
}

const DEFAULT_CAPACITY = 8_192;

/** nearest-rank p99 of the first n values of a (sorted in place) */
function p99(a: Float64Array, n: number): number | null {
  if (n === 0) return null;
  const sorted = a.subarray(0, n).sort();
  return sorted[Math.ceil(0.99 * n) - 1];
}

export class SignalWindow {
  readonly pool: PoolName;
  readonly #windowMs: number;
  readonly #warmupMs: number;
  readonly #cap: number;
  // the ring: a call's end time and its samples (NaN where the call had none)
  readonly #atMs: Float64Array;
  readonly #ttft: Float64Array;
  readonly #itl: Float64Array;
  #head = 0;
  #size = 0;
  /** tick-time scratch for the sort, sized once */
  readonly #scratch: Float64Array;
  /** the ms each replica first took requests, as the last tick's reports said; absent: not ready yet */
  readonly #readyAt = new Map<string, number>();
  #sinceMs: number;
  /** when the pool's newest ready replica became ready: samples of calls sent before it describe a smaller pool */
  #grewAtMs = -Infinity;
  #arrivals = 0;
  #promptTokens = 0;
  #outputTokens = 0;
  #calls = 0;
  #shed = 0;

  constructor(pool: PoolName, startMs: number, o: SignalWindowOptions) {
    const cap = o.capacity ?? DEFAULT_CAPACITY;
    if (!(Number.isFinite(o.latencyWindowMs) && o.latencyWindowMs > 0)) throw new RangeError(`latencyWindowMs must be a positive number of ms, got ${o.latencyWindowMs}`);
    if (!(Number.isFinite(o.warmupMs) && o.warmupMs >= 0)) throw new RangeError(`warmupMs must be a number of ms ≥ 0, got ${o.warmupMs}`);
    if (!(Number.isInteger(cap) && cap > 0)) throw new RangeError(`capacity must be a positive integer, got ${cap}`);
    this.pool = pool;
    this.#windowMs = o.latencyWindowMs;
    this.#warmupMs = o.warmupMs;
    this.#cap = cap;
    this.#atMs = new Float64Array(cap);
    this.#ttft = new Float64Array(cap);
    this.#itl = new Float64Array(cap);
    this.#scratch = new Float64Array(cap);
    this.#sinceMs = startMs;
  }

  arrived(promptTokens: number): void {
    this.#arrivals++;
    this.#promptTokens += promptTokens;
  }

  shed(): void {
    this.#shed++;
  }

  /**
   * A call ended on `replicaId` at `nowMs`. It counts; it is a latency sample only if it succeeded
   * on a warm replica and was sent after the pool's newest replica became ready: a call that
   * waited on the smaller pool before a scale-up tells of a pool that is gone (its latency,
   * reported when it ends, would ask for a replica the scale-up already brought).
   */
  ended(replicaId: string, call: CallOutcome, nowMs: number): void {
    this.#calls++;
    this.#outputTokens += call.outputTokens;
    if (call.failed || !this.warm(replicaId, nowMs)) return;
    if (nowMs - (call.atMs - call.sentAtMs) < this.#grewAtMs) return;
    if (call.ttftMs === null && call.itlMs === null) return;
    const i = (this.#head + this.#size) % this.#cap;
    this.#atMs[i] = nowMs;
    this.#ttft[i] = call.ttftMs ?? NaN;
    this.#itl[i] = call.itlMs ?? NaN;
    if (this.#size < this.#cap) this.#size++;
    else this.#head = (this.#head + 1) % this.#cap;
  }

  /** Past its warm-up as of the last tick's reports: a replica never seen ready is not. */
  warm(replicaId: string, nowMs: number): boolean {
    const at = this.#readyAt.get(replicaId);
    return at !== undefined && nowMs - at >= this.#warmupMs;
  }

  /** The tick: learns the replicas' ready times, folds the counts since the last snapshot and starts a new interval. */
  snapshot(nowMs: number, replicas: readonly ReplicaReport[], queued: number): PoolSignals {
    this.#learn(replicas);
    this.#evict(Math.max(nowMs - this.#windowMs, this.#grewAtMs));
    const { ttftP99Ms, itlP99Ms, samples } = this.#percentiles();
    const s: PoolSignals = {
      pool: this.pool,
      nowMs,
      intervalMs: nowMs - this.#sinceMs,
      arrivals: this.#arrivals,
      promptTokens: this.#promptTokens,
      outputTokens: this.#outputTokens,
      calls: this.#calls,
      shed: this.#shed,
      queued,
      ttftP99Ms,
      itlP99Ms,
      latencySamples: samples,
      replicas,
    };
    this.#sinceMs = nowMs;
    this.#arrivals = 0;
    this.#promptTokens = 0;
    this.#outputTokens = 0;
    this.#calls = 0;
    this.#shed = 0;
    return s;
  }

  #learn(replicas: readonly ReplicaReport[]): void {
    const seen = new Set<string>();
    for (const r of replicas) {
      seen.add(r.id);
      // a draining replica keeps the ready time it had; one first seen draining was never ready to us
      if (r.phase === 'ready') {
        if (!this.#readyAt.has(r.id) && r.sinceMs > this.#grewAtMs) this.#grewAtMs = r.sinceMs;
        this.#readyAt.set(r.id, r.sinceMs);
      }
      else if (r.phase === 'starting') this.#readyAt.delete(r.id);
    }
    for (const id of this.#readyAt.keys()) if (!seen.has(id)) this.#readyAt.delete(id);
  }

  /** drops samples that ended before `cutMs` (the ring is in end-time order) */
  #evict(cutMs: number): void {
    while (this.#size > 0 && this.#atMs[this.#head] < cutMs) {
      this.#head = (this.#head + 1) % this.#cap;
      this.#size--;
    }
  }

  #percentiles(): { ttftP99Ms: number | null; itlP99Ms: number | null; samples: number } {
    const scratch = this.#scratch;
    let n = 0;
    for (let k = 0; k < this.#size; k++) {
      const v = this.#ttft[(this.#head + k) % this.#cap];
      if (!Number.isNaN(v)) scratch[n++] = v;
    }
    const ttftP99Ms = p99(scratch, n);
    n = 0;
    for (let k = 0; k < this.#size; k++) {
      const v = this.#itl[(this.#head + k) % this.#cap];
      if (!Number.isNaN(v)) scratch[n++] = v;
    }
    return { ttftP99Ms, itlP99Ms: p99(scratch, n), samples: this.#size };
  }
}
