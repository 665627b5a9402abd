import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { poisson, WorkloadError, type LengthDist } from '../../../src/sim/workload/index.js';
import { QUANTILE_PROBS, QUANTILES } from '../../../src/sim/workload/empirical.js';
import { drain, mean, quantile, quantiles, traceFile } from './helpers.js';

/** prompt lengths of n arrivals drawn from `d` */
function prompts(d: LengthDist, n = 40_000, seed = 3): Float64Array {
  const w = poisson({ ratePerS: 100, seed, prompt: d, output: 1 });
  return Float64Array.from(drain(w, n), (a) => a.promptLen);
}

const isWhole = (xs: Float64Array) => xs.every((x) => Number.isInteger(x));

describe('length distributions', () => {
  it('fixed: always the value; a bare number means fixed', () => {
    expect(new Set(prompts({ kind: 'fixed', value: 321 }, 100))).toEqual(new Set([321]));
    expect(new Set(prompts(77, 100))).toEqual(new Set([77]));
  });

  it('uniform: whole numbers spread evenly over [min, max], both ends included', () => {
    const xs = prompts({ kind: 'uniform', min: 10, max: 19 });
    expect(Math.min(...xs)).toBe(10);
    expect(Math.max(...xs)).toBe(19);
    expect(mean(xs)).toBeCloseTo(14.5, 0);
    expect(isWhole(xs)).toBe(true);
  });

  it('lognormal by p50/p90: those percentiles, within 3%', () => {
    const xs = prompts({ kind: 'lognormal', p50: 1000, p90: 3000 });
    expect(quantile(xs, 0.5) / 1000).toBeCloseTo(1, 1.2);
    expect(quantile(xs, 0.9) / 3000).toBeCloseTo(1, 1.2);
    expect(isWhole(xs)).toBe(true);
  });

  it('lognormal by mean and sigma: that mean', () => {
    const xs = prompts({ kind: 'lognormal', mean: 800, sigma: 0.6 });
    expect(mean(xs) / 800).toBeCloseTo(1, 1.2);
  });

  it('clamps to [max(1, min), max]', () => {
    const xs = prompts({ kind: 'lognormal', p50: 1000, sigma: 2, min: 50, max: 2000 });
    expect(Math.min(...xs)).toBe(50);
    expect(Math.max(...xs)).toBe(2000);
    const tiny = prompts({ kind: 'lognormal', p50: 0.5, sigma: 1 }, 2000);
    expect(Math.min(...tiny)).toBe(1); // never a 0-token prompt
  });

  it('empirical: the trace column named by its role, median as in the trace', () => {
    // README: Azure conv ContextTokens p50 1020, GeneratedTokens p50 129
    const ctx = prompts({ kind: 'empirical', trace: 'azure-conv' });
    expect(quantile(ctx, 0.5) / 1020).toBeCloseTo(1, 1.2);
    const gen = prompts({ kind: 'empirical', trace: 'azure-conv', of: 'output' });
    expect(quantile(gen, 0.5) / 129).toBeCloseTo(1, 1.2);
    const out = drain(poisson({ ratePerS: 100, seed: 1, prompt: 1, output: { kind: 'empirical', trace: 'azure-conv' } }), 40_000);
    expect(quantile(out.map((a) => a.outputLen), 0.5) / 129).toBeCloseTo(1, 1.2);
  });

  it.each<[string, LengthDist, RegExp]>([
    ['mean and p50 together', { kind: 'lognormal', mean: 5, p50: 5 }, /exactly one of mean or p50/],
    ['neither mean nor p50', { kind: 'lognormal', sigma: 1 }, /exactly one of mean or p50/],
    ['p90 below p50', { kind: 'lognormal', p50: 500, p90: 400 }, /must be above p50/],
    ['sigma and p90 together', { kind: 'lognormal', p50: 500, p90: 900, sigma: 1 }, /sigma or p90, not both/],
    ['min above max', { kind: 'lognormal', p50: 500, min: 10, max: 5 }, /min 10 is above max 5/],
    ['uniform reversed', { kind: 'uniform', min: 9, max: 3 }, /prompt: min 9 is above max 3/],
  ])('refuses %s, saying which field', (_, d, msg) => {
    expect(() => prompts(d, 1)).toThrow(WorkloadError);
    expect(() => prompts(d, 1)).toThrow(msg);
  });
});

describe('built-in empirical tables', () => {
  // the tables are the traces' quantiles at QUANTILE_PROBS (linear interpolation, rounded); this
  // recomputes them from the files, so a table that drifted from its trace fails here
  const q = (xs: number[]) => quantiles(xs, QUANTILE_PROBS).map(Math.round);
  const azure = (f: string) => {
    const rows = readFileSync(traceFile(f), 'utf8').trim().split(/\r?\n/).slice(1).map((l) => l.split(','));
    return { prompt: q(rows.map((r) => +r[1])), output: q(rows.map((r) => +r[2])) };
  };
  const moon = (f: string) => {
    const rows = readFileSync(traceFile(f), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    return { prompt: q(rows.map((r) => r.input_length)), output: q(rows.map((r) => r.output_length)) };
  };
  it.each([
    ['azure-code', () => azure('AzureLLMInferenceTrace_code.csv')],
    ['azure-conv', () => azure('AzureLLMInferenceTrace_conv.csv')],
    ['mooncake-conversation', () => moon('mooncake/conversation_trace.jsonl')],
    ['mooncake-synthetic', () => moon('mooncake/synthetic_trace.jsonl')],
  ] as const)('%s matches its trace file', (name, compute) => {
    expect(QUANTILES[name]).toEqual(compute());
  });
});
