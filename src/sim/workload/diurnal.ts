import { readFileSync } from 'node:fs';
import { parseAzure } from './azure.js';
import { saltKey } from './hash.js';
import { parseMooncake } from './mooncake.js';
import { Replay, type TraceOptions, type TraceTable } from './replay.js';
import { deriveSeed } from './rng.js';
import { WorkloadError, type Arrival, type Segment, type TraceWorkload, type Workload } from './types.js';

// A day built from an hour of trace. The trace is looped (trace time u runs on across loops) and
// virtual time is warped so the arrival rate follows a daily shape: with W(t) = ∫₀ᵗ shape, an
// arrival at trace time u lands at t = W⁻¹(u), so the rate at t is the trace's rate × shape(t).
// The warp is smooth on the scale of seconds, so the trace's bursts are kept and only the
// hour-to-hour rate changes; lengths and prompts are the trace's. Each loop is a fresh replay with
// its own tenant draws and its own segment keys (salted by the loop), so a prompt of one loop is
// never a cached prefix of the next.

/**
 * The day's shape, a multiple of the trace's rate: a cosine between `trough` (÷ the peak, which is
 * the trace's rate) and 1 with its peak at `peakAtS`; or one factor per equal slice of the period
 * (24 of them = hourly), each held over its slice.
 */
export type DiurnalShape = { readonly trough: number; readonly peakAtS: number } | readonly number[];

export interface DiurnalOptions {
  /** seconds of virtual time in one cycle of the shape; default 86,400 */
  readonly periodS?: number;
  /** virtual seconds of arrivals */
  readonly durationS: number;
  readonly shape: DiurnalShape;
  readonly name?: string;
}

export const DAY_S = 86_400;

/** The shape over the period, its integral W and W's inverse (the first t with W(t) ≥ u). */
export interface Warp {
  rate(tS: number): number;
  cumulative(tS: number): number;
  inverse(u: number): number;
}

export function warpOf(shape: DiurnalShape, periodS = DAY_S): Warp {
  if (!(periodS > 0)) throw new WorkloadError(`diurnal: periodS must be > 0, got ${periodS}`);
  return Array.isArray(shape) ? stepWarp(shape as readonly number[], periodS) : cosineWarp(shape as { trough: number; peakAtS: number }, periodS);
}

/**
 * The diurnal day. `loop(k)` replays the trace afresh for loop k (0, 1, …); every loop must be the
 * same rows (only the tenant draws may differ). A loop lasts its replay's first arrival + span +
 * one mean gap, so the seam looks like the rest of the trace.
 */
export function diurnal(loop: (k: number) => TraceWorkload, o: DiurnalOptions): Workload {
  if (!(o.durationS > 0)) throw new WorkloadError(`diurnal: durationS must be > 0, got ${o.durationS}`);
  return new Diurnal(loop, warpOf(o.shape, o.periodS ?? DAY_S), o);
}

class Diurnal implements Workload {
  readonly name: string;
  readonly description: string;
  readonly #loop: (k: number) => TraceWorkload;
  readonly #warp: Warp;
  readonly #durationS: number;
  readonly #loopS: number;
  #k = 0;
  #replay: TraceWorkload;
  #head: Arrival | null;
  #id = 0;

  constructor(loop: (k: number) => TraceWorkload, warp: Warp, o: DiurnalOptions) {
    this.#loop = loop;
    this.#warp = warp;
    this.#durationS = o.durationS;
    this.#replay = loop(0);
    this.#head = this.#replay.next();
    const r = this.#replay;
    if (this.#head === null) throw new WorkloadError(`diurnal: ${r.name} has no arrivals to loop`);
    const gap = r.requests > 1 ? r.spanS / (r.requests - 1) : 1;
    this.#loopS = this.#head.atS + r.spanS + gap;
    this.name = o.name ?? `diurnal ${r.name}`;
    const s = o.shape;
    const shape = Array.isArray(s) ? `${s.length} factors per ${(o.periodS ?? DAY_S) / 3600} h (${Math.min(...s)}–${Math.max(...s)} × the trace's rate)`
      : `trough ${(s as { trough: number }).trough} × peak, peak at ${((s as { peakAtS: number }).peakAtS / 3600).toFixed(1)} h`;
    this.description = `${r.description}, looped every ${(this.#loopS / 60).toFixed(1)} min and warped to a ${((o.periodS ?? DAY_S) / 3600).toFixed(0)} h shape (${shape}) over ${(o.durationS / 3600).toFixed(1)} h`;
  }

  next(): Arrival | null {
    for (;;) {
      const a = this.#head;
      if (a === null) {
        // the loop is spent: the next one starts where this one's span ended
        this.#k++;
        this.#replay = this.#loop(this.#k);
        this.#head = this.#replay.next();
        if (this.#head === null) return null;
        continue;
      }
      this.#head = this.#replay.next();
      const atS = this.#warp.inverse(this.#k * this.#loopS + a.atS);
      if (!(atS <= this.#durationS)) {
        this.#head = null;
        this.#k = Infinity;
        return null;
      }
      const k = this.#k;
      const segments: Segment[] = new Array(a.segments.length);
      for (let i = 0; i < segments.length; i++) segments[i] = { key: saltKey(a.segments[i].key, k), length: a.segments[i].length };
      return {
        id: this.#id++, atS, tenant: a.tenant, model: a.model, promptLen: a.promptLen, outputLen: a.outputLen,
        segments, outputKey: saltKey(a.outputKey, k), session: a.session,
      };
    }
  }
}

/** A trace read once, replayed afresh for each loop with the loop's own seed. */
export function traceLoop(table: TraceTable, opts: TraceOptions, seed: number): (k: number) => Replay {
  return (k) => new Replay(table, { ...opts, seed: deriveSeed(seed, k + 1) });
}

/** An Azure or Mooncake trace file, parsed into its columns. Throws WorkloadError if it cannot be read. */
export function readTrace(kind: 'azure' | 'mooncake', file: string, blockTokens = 512): TraceTable {
  try {
    return kind === 'azure' ? parseAzure(readFileSync(file), file) : parseMooncake(readFileSync(file, 'utf8'), file, blockTokens);
  } catch (err) {
    if (err instanceof WorkloadError) throw err;
    throw new WorkloadError(`cannot read ${kind === 'azure' ? 'Azure' : 'Mooncake'} trace ${file}: ${(err as Error).message}`);
  }
}

// ── the shapes ────────────────────────────────────────────────────────────────

/** trough + (1 − trough)·(1 + cos(2π(t − peak)/P))/2; W in closed form, inverted by Newton's method inside a bracket */
function cosineWarp({ trough, peakAtS }: { trough: number; peakAtS: number }, periodS: number): Warp {
  if (!(trough > 0 && trough <= 1)) throw new WorkloadError(`diurnal: shape.trough is the trough's rate ÷ the peak's, in (0, 1]; got ${trough}`);
  if (!(peakAtS >= 0)) throw new WorkloadError(`diurnal: shape.peakAtS must be ≥ 0, got ${peakAtS}`);
  const w = (2 * Math.PI) / periodS;
  const amp = (1 - trough) / 2;
  const mid = trough + amp;
  const rate = (t: number): number => mid + amp * Math.cos(w * (t - peakAtS));
  const s0 = Math.sin(-w * peakAtS);
  const cumulative = (t: number): number => mid * t + (amp / w) * (Math.sin(w * (t - peakAtS)) - s0);
  return {
    rate, cumulative,
    inverse(u) {
      if (u <= 0) return 0;
      // W is increasing with slope in [trough, 1]: u ≤ W(t) ≤ … brackets t in [u, u / trough]
      let lo = u;
      let hi = u / trough;
      let t = u / mid;
      for (let i = 0; i < 60; i++) {
        const f = cumulative(t) - u;
        if (Math.abs(f) < 1e-9 * Math.max(1, u)) return t;
        if (f > 0) hi = t;
        else lo = t;
        const n = t - f / rate(t);
        t = n > lo && n < hi ? n : (lo + hi) / 2;
      }
      return t;
    },
  };
}

/** one factor held over each of n equal slices of the period; a slice at 0 has no arrivals */
function stepWarp(factors: readonly number[], periodS: number): Warp {
  if (factors.length === 0 || !factors.every((f) => f >= 0 && Number.isFinite(f)) || !factors.some((f) => f > 0)) {
    throw new WorkloadError('diurnal: shape factors must be numbers ≥ 0, at least one of them > 0');
  }
  const n = factors.length;
  const slice = periodS / n;
  // W at the start of each slice within one period
  const at = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) at[i + 1] = at[i] + factors[i] * slice;
  const perPeriod = at[n];
  const rate = (t: number): number => factors[Math.floor((((t % periodS) + periodS) % periodS) / slice) % n];
  const cumulative = (t: number): number => {
    const p = Math.floor(t / periodS);
    const r = t - p * periodS;
    const i = Math.min(n - 1, Math.floor(r / slice));
    return p * perPeriod + at[i] + factors[i] * (r - i * slice);
  };
  return {
    rate, cumulative,
    inverse(u) {
      if (u <= 0) return 0;
      let p = Math.floor(u / perPeriod);
      let r = u - p * perPeriod;
      if (r === 0 && p > 0) {
        // the first t reaching a period's total is the end of its last slice with traffic
        p--;
        r = perPeriod;
      }
      // the first slice whose end reaches r (slices at 0 are skipped: their W is flat)
      let i = 0;
      while (i < n - 1 && at[i + 1] < r) i++;
      return p * periodS + i * slice + (r - at[i]) / factors[i];
    },
  };
}
