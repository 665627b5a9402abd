import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { azureTrace, diurnal, fromSpec, readTrace, traceLoop, warpOf, WorkloadError, type Arrival } from '../../../src/sim/workload/index.js';
import { cv, drain, traceFile } from './helpers.js';

const CODE = traceFile('AzureLLMInferenceTrace_code.csv');
const CONV = traceFile('AzureLLMInferenceTrace_conv.csv');
const H = 3600;

const dir = mkdtempSync(join(tmpdir(), 'sy-diurnal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** an Azure-format trace of `rows` arrivals `gapS` apart (a steady rate, so hourly counts are exact) */
function steadyCsv(rows: number, gapS: number): string {
  const p = join(dir, `steady-${rows}-${gapS}.csv`);
  const lines = ['TIMESTAMP,ContextTokens,GeneratedTokens'];
  for (let i = 0; i < rows; i++) {
    const t = i * gapS;
    const s = Math.floor(t);
    const frac = String(Math.round((t - s) * 1e7)).padStart(7, '0');
    const hh = String(Math.floor(s / 3600)).padStart(2, '0');
    const mm = String(Math.floor((s % 3600) / 60)).padStart(2, '0');
    const ss = String(s % 60).padStart(2, '0');
    lines.push(`2023-11-16 ${hh}:${mm}:${ss}.${frac},${100 + i},${1 + (i % 50)}`);
  }
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

/** arrivals per slice of `sliceS` over [0, durationS) */
function counts(as: readonly Arrival[], sliceS: number, durationS: number): number[] {
  const c = new Array<number>(Math.ceil(durationS / sliceS)).fill(0);
  for (const a of as) if (a.atS < durationS) c[Math.floor(a.atS / sliceS)]++;
  return c;
}

function day(file: string, shape: number[] | { trough: number; peakAtS: number }, durationS = 24 * H, seed = 7) {
  return fromSpec({ kind: 'diurnal', of: { kind: 'azure', file }, durationS, shape }, { baseDir: '/', seed });
}

describe('diurnal warp', () => {
  it('a cosine shape peaks at 1 at peakAtS and bottoms at the trough 12 h away; W inverts', () => {
    const w = warpOf({ trough: 0.25, peakAtS: 14 * H });
    expect(w.rate(14 * H)).toBeCloseTo(1, 12);
    expect(w.rate(2 * H)).toBeCloseTo(0.25, 12);
    // a day's integral is the mean rate (0.625) × the day
    expect(w.cumulative(24 * H)).toBeCloseTo(0.625 * 24 * H, 6);
    for (const t of [0, 1, 600, 5 * H, 14 * H, 23.9 * H, 40 * H]) expect(w.inverse(w.cumulative(t))).toBeCloseTo(t, 4);
  });

  it('hourly factors hold over their hour; an hour at 0 is skipped over', () => {
    const w = warpOf([1, 0, 0.5], 3 * H);
    expect([w.rate(0.5 * H), w.rate(1.5 * H), w.rate(2.5 * H), w.rate(3.5 * H)]).toEqual([1, 0, 0.5, 1]);
    expect(w.cumulative(3 * H)).toBe(1.5 * H);
    // just after the first hour's worth of trace time, the warp is in the third hour
    expect(w.inverse(H + 1)).toBeCloseTo(2 * H + 2, 9);
    expect(w.inverse(H)).toBe(H);
    expect(w.inverse(1.5 * H + 1)).toBeCloseTo(3 * H + 1, 9);
  });

  it('refuses a shape that would stop time or name no traffic', () => {
    expect(() => warpOf({ trough: 0, peakAtS: 0 })).toThrow(WorkloadError);
    expect(() => warpOf([0, 0])).toThrow(/at least one of them > 0/);
    expect(() => fromSpec({ kind: 'diurnal', of: { kind: 'azure', file: CONV }, durationS: H, shape: { trough: 1.5, peakAtS: 0 } } as never, { baseDir: '/', seed: 1 }))
      .toThrow(/shape/);
    expect(() => fromSpec({ kind: 'diurnal', of: { kind: 'poisson', ratePerS: 1, prompt: 1, output: 1 }, durationS: H, shape: [1] } as never, { baseDir: '/', seed: 1 }))
      .toThrow(/of must be a trace/);
  });
});

describe('a diurnal day from a trace', () => {
  it('hourly counts follow the shape on a steady trace (within 1 %)', () => {
    // 2 req/s for 30 min, looped: the trace's rate is 2 /s, so hour h holds 7,200 × its mean shape
    const file = steadyCsv(3600, 0.5);
    const shape = { trough: 0.25, peakAtS: 14 * H };
    const w = warpOf(shape);
    const c = counts(drain(day(file, shape)), H, 24 * H);
    c.forEach((n, h) => {
      const expected = 2 * (w.cumulative((h + 1) * H) - w.cumulative(h * H));
      expect(Math.abs(n - expected) / expected).toBeLessThan(0.01);
    });
    // the peak hour is around 14 h and carries about 4 × the trough's
    expect(c.indexOf(Math.max(...c))).toBeGreaterThanOrEqual(13);
    expect(c.indexOf(Math.max(...c))).toBeLessThanOrEqual(14);
    expect(Math.max(...c) / Math.min(...c)).toBeGreaterThan(3.5);
  });

  it('hour h replays exactly the trace time W(h)…W(h + 1) of the looped conv trace, so counts follow the factors', () => {
    const factors = [0.5, 1, 0.5, 1, 0.75, 1];
    const trace = drain(azureTrace(CONV));
    const spanS = trace.at(-1)!.atS;
    const loopS = spanS + spanS / (trace.length - 1);
    const w = warpOf(factors, 6 * H);
    const c = counts(drain(fromSpec({ kind: 'diurnal', of: { kind: 'azure', file: CONV }, periodS: 6 * H, durationS: 6 * H, shape: factors }, { baseDir: '/', seed: 1 })), H, 6 * H);
    const inTrace = (u0: number, u1: number) => {
      let n = 0;
      for (let k = Math.floor(u0 / loopS); k * loopS < u1; k++) for (const a of trace) if (k * loopS + a.atS >= u0 && k * loopS + a.atS < u1) n++;
      return n;
    };
    c.forEach((n, h) => expect(Math.abs(n - inTrace(w.cumulative(h * H), w.cumulative((h + 1) * H)))).toBeLessThanOrEqual(1));
    // the trace is not flat within its hour, so against the factor alone a stretch of it is off by some %
    const rate = trace.length / loopS;
    c.forEach((n, h) => expect(Math.abs(n / (factors[h] * rate * H) - 1)).toBeLessThan(0.1));
  });

  it('keeps the burstiness within an hour (CV of inter-arrivals of the code trace)', () => {
    // at the peak the warp is ~flat: an hour there is the trace as it was, bursts and gaps
    const as = drain(day(CODE, { trough: 0.25, peakAtS: 14 * H }));
    const peakHour = as.filter((a) => a.atS >= 13.5 * H && a.atS < 14.5 * H);
    const trough = as.filter((a) => a.atS >= 1.5 * H && a.atS < 2.5 * H);
    const gapsOf = (xs: Arrival[]) => xs.slice(1).map((a, i) => a.atS - xs[i].atS);
    const traceCv = cv(gapsOf(drain(azureTrace(CODE))));
    expect(traceCv).toBeGreaterThan(5);
    // the trough hour replays a quarter of the trace's hour, stretched: still as bursty
    for (const hour of [peakHour, trough]) {
      expect(cv(gapsOf(hour))).toBeGreaterThan(0.5 * traceCv);
    }
    // while a Poisson-like trace stays near 1
    const conv = drain(day(CONV, { trough: 0.25, peakAtS: 14 * H })).filter((a) => a.atS >= 13.5 * H && a.atS < 14.5 * H);
    expect(cv(gapsOf(conv))).toBeLessThan(1.3);
  });

  it("lengths are the trace's, in its order, loop after loop", () => {
    const trace = drain(azureTrace(CONV));
    const as = drain(day(CONV, { trough: 0.5, peakAtS: 0 }, 6 * H));
    expect(as.length).toBeGreaterThan(trace.length);
    as.forEach((a, i) => {
      const r = trace[i % trace.length];
      expect([a.promptLen, a.outputLen]).toEqual([r.promptLen, r.outputLen]);
    });
    expect(as.every((a, i) => a.id === i && (i === 0 || a.atS >= as[i - 1].atS))).toBe(true);
    expect(as.at(-1)!.atS).toBeLessThanOrEqual(6 * H);
  });

  it('a loop never shares a prompt key with the one before it', () => {
    const table = readTrace('azure', CONV);
    const as = drain(diurnal(traceLoop(table, {}, 1), { durationS: 3 * H, shape: [1] }));
    const n = table.rows;
    const keys = new Set(as.map((a) => a.segments[0].key));
    expect(keys.size).toBe(as.length);
    expect(as[n].promptLen).toBe(as[0].promptLen);
    expect(as[n].segments[0].key).not.toBe(as[0].segments[0].key);
  });

  it('is deterministic in the seed: same seed, same day; another seed, other tenants', () => {
    const spec = (seed: number) => fromSpec({
      kind: 'diurnal', of: { kind: 'azure', file: CONV, tenants: [{ name: 'a', weight: 1 }, { name: 'b', weight: 1 }] },
      durationS: 4 * H, shape: { trough: 0.25, peakAtS: 2 * H },
    }, { baseDir: '/', seed });
    const a = drain(spec(3));
    const b = drain(spec(3));
    const c = drain(spec(4));
    expect(b).toEqual(a);
    expect(c.map((x) => x.atS)).toEqual(a.map((x) => x.atS));
    expect(c.map((x) => x.tenant)).not.toEqual(a.map((x) => x.tenant));
  });
});
