import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bucketsOf, hourlyRates, LENGTH_DRAWS, streamsOf } from '../../../src/control/planner/demand.js';
import { parsePlan, PlanError, type LoadedPlan, type PlanSpecInput } from '../../../src/control/planner/spec.js';
import type { Bucket } from '../../../src/control/planner/types.js';

// The solver sees demand as a rate per hour and a mix of request-size classes. The rates must follow
// the shape the plan states, and the classes must be a faithful summary of the requests: shares that
// add up, means inside their class, and the same total prompt load as the source.

const ROOT = join(import.meta.dirname, '..', '..', '..');
const CONV = 'traces/AzureLLMInferenceTrace_conv.csv';

type DemandInput = PlanSpecInput['demand'][number];

function loaded(demand: DemandInput[], extra: Partial<PlanSpecInput> = {}): LoadedPlan {
  const plan = parsePlan({
    name: 't',
    regions: [{ name: 'us', latencyMs: { eu: 40 } }, { name: 'eu' }, { name: 'ap' }],
    hardware: [{ profile: 'llama-3.1-8b-h100', model: 'm', usdPerGpuHour: 3 }],
    tiers: { fast: { ttftMs: 1000, itlMs: 50 } },
    demand,
    ...extra,
  });
  return { plan, baseDir: ROOT };
}

const lengths = (over: Partial<DemandInput> = {}): DemandInput => ({
  name: 'chat', region: 'eu', model: 'm', tier: 'fast',
  requests: { kind: 'lengths', prompt: { kind: 'lognormal', p50: 2000, p90: 9000 }, output: { kind: 'lognormal', p50: 200, p90: 700 } },
  rate: { peakPerS: 10, trough: 0.3, peakAtHour: 14.5 },
  ...over,
});

const edgesOf = (id: string, axis: 'p' | 'o'): { above: number; atMost: number } => {
  const m = new RegExp(`${axis}(≤|>)(\\d+)`).exec(id)!;
  return m[1] === '≤' ? { above: -Infinity, atMost: Number(m[2]) } : { above: Number(m[2]), atMost: Infinity };
};

function expectWithinEdges(buckets: readonly Bucket[], prompt: readonly number[], output: readonly number[]): void {
  for (const b of buckets) {
    const p = edgesOf(b.id, 'p');
    const o = edgesOf(b.id, 'o');
    // the class below's edge is the lower bound of this one
    const pi = prompt.indexOf(p.atMost);
    const oi = output.indexOf(o.atMost);
    const pLo = p.above > -Infinity ? p.above : pi > 0 ? prompt[pi - 1] : 0;
    const oLo = o.above > -Infinity ? o.above : oi > 0 ? output[oi - 1] : 0;
    expect(b.promptTokens).toBeGreaterThan(pLo);
    expect(b.promptTokens).toBeLessThanOrEqual(p.atMost);
    expect(b.outputTokens).toBeGreaterThan(oLo);
    expect(b.outputTokens).toBeLessThanOrEqual(o.atMost);
  }
}

describe('hourly rates', () => {
  it('a cosine day peaks at peakAtHour, with the trough twelve hours away', () => {
    const [s] = streamsOf(loaded([lengths()], { hours: 24 }));
    const r = s.ratesPerS;
    expect(r).toHaveLength(24);
    const peak = r.indexOf(Math.max(...r));
    const low = r.indexOf(Math.min(...r));
    expect(peak).toBe(14);
    expect(low).toBe(2);
    expect(r[14]).toBeCloseTo(10, 9);
    expect(r[2]).toBeCloseTo(3, 9);
    // symmetric about the peak
    expect(r[10]).toBeCloseTo(r[18], 9);
  });

  it('repeats a cosine day over a longer horizon', () => {
    const r = hourlyRates(parsePlan({ ...loaded([lengths()]).plan, hours: 48 }).demand[0], 48);
    for (let h = 0; h < 24; h++) expect(r[h + 24]).toBeCloseTo(r[h], 9);
  });

  it('hourly factors repeat every day, times the peak', () => {
    const factors = Array.from({ length: 24 }, (_, h) => (h % 5) / 4);
    const [s] = streamsOf(loaded([lengths({ rate: { peakPerS: 8, factors } })], { hours: 50 }));
    expect(s.ratesPerS).toHaveLength(50);
    s.ratesPerS.forEach((r, h) => expect(r).toBe(8 * factors[h % 24]));
  });

  it('a forecast is taken as given', () => {
    const [s] = streamsOf(loaded([lengths({ rate: { ratesPerS: [1, 4, 2] } })], { hours: 3 }));
    expect(s.ratesPerS).toEqual([1, 4, 2]);
  });
});

describe('streams', () => {
  it('are served in their residency, or anywhere, the origin first', () => {
    const s = streamsOf(loaded([lengths(), lengths({ name: 'pinned', residency: ['ap', 'eu'] }), lengths({ name: 'away', residency: ['ap', 'us'] })]));
    expect(s.map((x) => x.id)).toEqual(['chat', 'pinned', 'away']);
    expect(s[0].allowed).toEqual(['eu', 'us', 'ap']);
    expect(s[1].allowed).toEqual(['eu', 'ap']);
    expect(s[2].allowed).toEqual(['ap', 'us']);
    expect(s[0]).toMatchObject({ origin: 'eu', model: 'm', tier: 'fast' });
  });
});

describe('buckets from length distributions', () => {
  const PROMPT = [512, 2048, 8192, 32768];
  const OUTPUT = [128, 512];

  it('have shares summing to 1 and means inside their edges', () => {
    const [s] = streamsOf(loaded([lengths()]));
    expect(s.buckets.length).toBeGreaterThan(6);
    expect(s.buckets.reduce((a, b) => a + b.share, 0)).toBeCloseTo(1, 12);
    for (const b of s.buckets) expect(b.share).toBeGreaterThan(0);
    expectWithinEdges(s.buckets, PROMPT, OUTPUT);
    expect(new Set(s.buckets.map((b) => b.id)).size).toBe(s.buckets.length);
  });

  it('drop empty classes: a fixed shape is one bucket of exactly that shape', () => {
    const [s] = streamsOf(loaded([lengths({ requests: { kind: 'lengths', prompt: 3000, output: 600 } })]));
    expect(s.buckets).toEqual([{ id: 'p≤8192,o>512', share: 1, promptTokens: 3000, outputTokens: 600 }]);
  });

  it('are drawn from the plan seed: the same seed the same buckets, another seed others', () => {
    const a = streamsOf(loaded([lengths()], { seed: 3 }))[0].buckets;
    const b = streamsOf(loaded([lengths()], { seed: 3 }))[0].buckets;
    const c = streamsOf(loaded([lengths()], { seed: 4 }))[0].buckets;
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    // each share is a count of LENGTH_DRAWS draws
    for (const x of a) expect(Math.abs(x.share * LENGTH_DRAWS - Math.round(x.share * LENGTH_DRAWS))).toBeLessThan(1e-6);
  });

  it('follow the plan’s edges, the last class open-ended', () => {
    const [s] = streamsOf(loaded([lengths()], { buckets: { prompt: [1000], output: [300] } }));
    expect(s.buckets.map((b) => b.id).sort()).toEqual(['p>1000,o>300', 'p>1000,o≤300', 'p≤1000,o>300', 'p≤1000,o≤300'].sort());
    expectWithinEdges(s.buckets, [1000], [300]);
  });

  it('bucketsOf puts a length equal to an edge in the class below it', () => {
    const b = bucketsOf({ prompt: [512, 513, 513], output: [128, 129, 129] }, [512], [128]);
    expect(b).toEqual([
      { id: 'p≤512,o≤128', share: 1 / 3, promptTokens: 512, outputTokens: 128 },
      { id: 'p>512,o>128', share: 2 / 3, promptTokens: 513, outputTokens: 129 },
    ]);
  });
});

describe('buckets from a trace', () => {
  // the trace's own columns, read here with a plain CSV split
  const lines = readFileSync(join(ROOT, CONV), 'utf8').trim().split('\n').slice(1);
  const rows = lines.map((l) => l.split(',').map(Number));
  const meanPrompt = rows.reduce((a, r) => a + r[1], 0) / rows.length;
  const meanOutput = rows.reduce((a, r) => a + r[2], 0) / rows.length;
  const traced = (over: Partial<DemandInput> = {}) => lengths({ requests: { kind: 'azure', file: CONV }, ...over });

  it('keep the trace’s mean prompt and output (the load the solver plans for)', () => {
    const [s] = streamsOf(loaded([traced()]));
    expect(s.buckets.reduce((a, b) => a + b.share, 0)).toBeCloseTo(1, 12);
    expect(s.buckets.reduce((a, b) => a + b.share * b.promptTokens, 0)).toBeCloseTo(meanPrompt, 6);
    expect(s.buckets.reduce((a, b) => a + b.share * b.outputTokens, 0)).toBeCloseTo(meanOutput, 6);
    expectWithinEdges(s.buckets, [512, 2048, 8192, 32768], [128, 512]);
  });

  it('take only the window of trace time asked for', () => {
    // seconds since the first row, from "YYYY-MM-DD HH:MM:SS.fffffff" (whole seconds and the fraction apart)
    const secs = (stamp: string) => Date.parse(`${stamp.slice(0, 19).replace(' ', 'T')}Z`) / 1000 + Number(`0${stamp.slice(19)}`);
    const t0 = secs(lines[0].split(',')[0]);
    const inWindow = lines.filter((l) => {
      const t = secs(l.split(',')[0]) - t0;
      return t >= 600 && t < 900;
    }).map((l) => Number(l.split(',')[1]));
    const mean = inWindow.reduce((a, x) => a + x, 0) / inWindow.length;
    const [s] = streamsOf(loaded([traced({ requests: { kind: 'azure', file: CONV, startS: 600, durationS: 300 } })]));
    expect(s.buckets.reduce((a, b) => a + b.share * b.promptTokens, 0)).toBeCloseTo(mean, 6);
    expect(Math.abs(mean - meanPrompt)).toBeGreaterThan(1);
  });

  it('read a trace shared by two streams once, with the same buckets', () => {
    const s = streamsOf(loaded([traced(), traced({ name: 'other', region: 'us' })]));
    expect(s[1].buckets).toEqual(s[0].buckets);
  });

  it('a Mooncake trace holds long prompts', () => {
    const [s] = streamsOf(loaded([traced({ requests: { kind: 'mooncake', file: 'traces/mooncake/conversation_trace.jsonl' } })]));
    expect(s.buckets.reduce((a, b) => a + b.share * b.promptTokens, 0)).toBeGreaterThan(8000);
    expect(s.buckets.some((b) => b.id.startsWith('p>32768'))).toBe(true);
  });

  it('name the demand entry when the trace cannot be read, or the window is empty', () => {
    expect(() => streamsOf(loaded([lengths(), traced({ name: 'x', requests: { kind: 'azure', file: 'traces/nope.csv' } })])))
      .toThrow(/demand\.1\.requests\.file: cannot read Azure trace .*nope\.csv/);
    expect(() => streamsOf(loaded([traced({ requests: { kind: 'azure', file: CONV, startS: 1e6 } })])))
      .toThrow(PlanError);
  });
});
