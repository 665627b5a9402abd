import { RandomStream } from './rng.js';
import { describeTenants, tenantPicker, type TenantPicker } from './tenants.js';
import { WorkloadError, type Arrival, type Segment, type TenantMix, type TraceWorkload } from './types.js';

// Replaying a parsed trace on the virtual clock. The time a row arrives is
//   atS = (t − startS) · timeScale / rateScale,   t = seconds since the trace's first row.
// timeScale multiplies every timestamp (0.5 = the same rows twice as dense); rateScale divides every
// inter-arrival time (2 = twice the rate). Both only stretch the time axis, so they compose as the
// product timeScale / rateScale. startS is trace time (before scaling); durationS is virtual time
// (after scaling), the same clock as the simulator's.

export interface TraceOptions {
  readonly timeScale?: number;
  readonly rateScale?: number;
  /** keep arrivals up to this virtual time (after scaling) */
  readonly durationS?: number;
  /** skip rows before this many seconds of trace time */
  readonly startS?: number;
  /** every arrival's tenant; or `tenants` for a weighted mix (drawn with `seed`) */
  readonly tenant?: string;
  readonly tenants?: TenantMix;
  readonly seed?: number;
  readonly model?: string | null;
  readonly name?: string;
}

/** A trace parsed into compact columns; prompts are built per row on demand. */
export interface TraceTable {
  readonly label: string;
  readonly rows: number;
  /** seconds since the first row, non-decreasing */
  readonly timeS: Float64Array;
  /** ≥ 1 (zeros already raised and counted) */
  readonly promptLen: Int32Array;
  readonly outputLen: Int32Array;
  readonly zeroPromptRows: number;
  readonly zeroOutputRows: number;
  /** bytes held by the columns */
  readonly bytes: number;
  segments(row: number): Segment[];
  outputKey(row: number): number;
}

export class Replay implements TraceWorkload {
  readonly name: string;
  readonly description: string;
  readonly requests: number;
  readonly spanS: number;
  readonly rows: number;
  readonly zeroOutputRows: number;
  readonly zeroPromptRows: number;
  readonly bytesPerRequest: number;
  readonly #t: TraceTable;
  readonly #factor: number;
  readonly #startS: number;
  readonly #tenant: TenantPicker;
  readonly #who: RandomStream;
  readonly #model: string | null;
  readonly #end: number;
  #row: number;
  #id = 0;

  constructor(t: TraceTable, o: TraceOptions) {
    const timeScale = o.timeScale ?? 1;
    const rateScale = o.rateScale ?? 1;
    if (!(timeScale > 0) || !(rateScale > 0)) throw new WorkloadError(`${t.label}: timeScale and rateScale must be > 0, got ${timeScale} and ${rateScale}`);
    const startS = o.startS ?? 0;
    if (!(startS >= 0)) throw new WorkloadError(`${t.label}: startS must be ≥ 0, got ${startS}`);
    if (o.durationS !== undefined && !(o.durationS > 0)) throw new WorkloadError(`${t.label}: durationS must be > 0, got ${o.durationS}`);
    this.#t = t;
    this.#factor = timeScale / rateScale;
    this.#startS = startS;
    this.#tenant = tenantPicker(o.tenants, o.tenant);
    this.#who = new RandomStream(o.seed ?? 0).fork(3);
    this.#model = o.model ?? null;
    this.name = o.name ?? t.label;
    this.rows = t.rows;
    this.zeroOutputRows = t.zeroOutputRows;
    this.zeroPromptRows = t.zeroPromptRows;
    this.bytesPerRequest = t.rows > 0 ? t.bytes / t.rows : 0;
    // rows are sorted by time: the replay is the run [first, end)
    const first = lowerBound(t.timeS, startS, 0, t.rows, false);
    const end = o.durationS === undefined ? t.rows : lowerBound(t.timeS, startS + o.durationS / this.#factor, first, t.rows, true);
    this.#row = first;
    this.#end = end;
    this.requests = end - first;
    this.spanS = this.requests > 0 ? this.#at(end - 1) - this.#at(first) : 0;
    const f = this.#factor;
    const scale = f === 1 ? '' : ` ×${round3(1 / f)} rate`;
    const from = startS > 0 ? ` from ${startS} s` : '';
    const who = describeTenants(o.tenants, o.tenant);
    const zeros = t.zeroOutputRows > 0 ? ` (${t.zeroOutputRows} row${t.zeroOutputRows === 1 ? '' : 's'} with 0 output tokens → 1)` : '';
    this.description = `${t.label}${scale}${from}, ${this.requests.toLocaleString('en-US')} requests over ${(this.spanS / 60).toFixed(1)} min${zeros}${who ? `, ${who}` : ''}`;
  }

  next(): Arrival | null {
    const row = this.#row;
    if (row >= this.#end) return null;
    this.#row++;
    const t = this.#t;
    return {
      id: this.#id++, atS: this.#at(row), tenant: this.#tenant(this.#who), model: this.#model, promptLen: t.promptLen[row], outputLen: t.outputLen[row],
      segments: t.segments(row), outputKey: t.outputKey(row), session: null,
    };
  }

  #at(row: number): number {
    return (this.#t.timeS[row] - this.#startS) * this.#factor;
  }
}

/** first index in [lo, hi) whose time is ≥ x (or > x when `after`) */
function lowerBound(a: Float64Array, x: number, lo: number, hi: number, after: boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (after ? a[mid] <= x : a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Raise 0 to 1 in place and count how many were raised. */
export function raiseZeros(a: Int32Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] <= 0) {
      a[i] = 1;
      n++;
    }
  }
  return n;
}
