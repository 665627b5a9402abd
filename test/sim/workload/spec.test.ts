import { describe, expect, it } from 'vitest';
import { blockHashes, deriveSeed, fromSpec, WorkloadError, WorkloadSpec, type Arrival, type WorkloadSpecInput } from '../../../src/sim/workload/index.js';
import { drain, TRACES, traceFile } from './helpers.js';

const ctx = { baseDir: TRACES, seed: 7 };
traceFile('AzureLLMInferenceTrace_conv.csv'); // fail early and clearly if the traces are missing

const chat: WorkloadSpecInput = {
  kind: 'shared-prefix', ratePerS: 1, durationS: 300, systemPrompts: 4, systemPromptLen: { kind: 'fixed', value: 1000 },
  sessions: { turns: 3, thinkTimeS: { kind: 'uniform', min: 5, max: 30 } }, userLen: 50, output: 120,
};

describe('fromSpec', () => {
  it.each<[string, WorkloadSpecInput]>([
    ['poisson', { kind: 'poisson', ratePerS: 5, durationS: 60, prompt: { kind: 'lognormal', p50: 900, p90: 3000 }, output: 200 }],
    ['gamma', { kind: 'gamma', ratePerS: 5, cv: 4, durationS: 60, prompt: { kind: 'empirical', trace: 'azure-code' }, output: { kind: 'empirical', trace: 'azure-code' } }],
    ['shared-prefix', chat],
    ['azure', { kind: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', rateScale: 2, durationS: 60 }],
    ['mooncake', { kind: 'mooncake', file: 'mooncake/synthetic_trace.jsonl', durationS: 60 }],
  ])('builds a %s workload that is the same for the same seed', (_, spec) => {
    const a = drain(fromSpec(spec, ctx));
    expect(a.length).toBeGreaterThan(10);
    expect(drain(fromSpec(spec, ctx))).toEqual(a);
  });

  it('takes the scenario seed unless the spec pins its own', () => {
    const spec: WorkloadSpecInput = { kind: 'poisson', ratePerS: 5, durationS: 60, prompt: 100, output: 10 };
    const base = drain(fromSpec(spec, ctx));
    expect(drain(fromSpec(spec, { ...ctx, seed: 8 }))).not.toEqual(base);
    expect(drain(fromSpec({ ...spec, seed: 3 }, { ...ctx, seed: 8 }))).toEqual(drain(fromSpec({ ...spec, seed: 3 }, ctx)));
  });

  it('resolves trace files against baseDir and says so when one is missing', () => {
    expect(fromSpec({ kind: 'azure', file: 'AzureLLMInferenceTrace_code.csv' }, ctx).description).toBe('Azure 2023 code trace, 8,819 requests over 57.3 min');
    expect(() => fromSpec({ kind: 'mooncake', file: 'missing.jsonl' }, ctx)).toThrow(/cannot read Mooncake trace .*traces\/missing\.jsonl/);
  });

  it('accepts what it parsed (the scenario schema parses first, fromSpec again)', () => {
    const parsed = WorkloadSpec.parse(chat);
    expect(drain(fromSpec(parsed, ctx))).toEqual(drain(fromSpec(chat, ctx)));
  });
});

describe('mix', () => {
  const spec: WorkloadSpecInput = {
    kind: 'mix', parts: [
      { kind: 'poisson', tenant: 'a', ratePerS: 5, durationS: 600, prompt: 500, output: 50 },
      { kind: 'gamma', tenant: 'b', ratePerS: 20, cv: 4, durationS: 600, prompt: 500, output: 50 },
    ],
  };
  const as = drain(fromSpec(spec, ctx));

  it('merges its parts by arrival time and numbers them afresh', () => {
    expect(as.every((a, i) => a.id === i)).toBe(true);
    expect(as.every((a, i) => i === 0 || a.atS >= as[i - 1].atS)).toBe(true);
    const count = (t: string) => as.filter((a) => a.tenant === t).length;
    expect(count('a') / 600 / 5).toBeCloseTo(1, 0.7);
    expect(count('b') / 600 / 20).toBeCloseTo(1, 0.7);
    expect(count('a') + count('b')).toBe(as.length);
  });

  it('keeps each part its own arrivals: a part alone equals its share of the mix', () => {
    // part i draws from stream deriveSeed(seed, i + 1) of the scenario's seed
    const part = (spec as { parts: WorkloadSpecInput[] }).parts[1];
    const alone = drain(fromSpec({ ...part, seed: deriveSeed(ctx.seed, 2) } as WorkloadSpecInput, ctx));
    const shape = (xs: Arrival[]) => xs.map((a) => [a.atS, a.promptLen, a.outputLen, a.tenant]);
    expect(shape(as.filter((a) => a.tenant === 'b'))).toEqual(shape(alone));
  });

  it('never lets two parts share a prefix, even when both number their keys from 0', () => {
    const twin: WorkloadSpecInput = {
      kind: 'mix', parts: [
        { kind: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', tenant: 'a', durationS: 30 },
        { kind: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', tenant: 'b', durationS: 30 },
      ],
    };
    const m = drain(fromSpec(twin, ctx));
    const [x, y] = [m.find((a) => a.tenant === 'a')!, m.find((a) => a.tenant === 'b')!];
    expect([x.promptLen, x.atS]).toEqual([y.promptLen, y.atS]); // the same row twice…
    expect(blockHashes(x.segments, null, 0, 16)[0]).not.toBe(blockHashes(y.segments, null, 0, 16)[0]); // …but not the same text
  });

  it('keeps prefixes shared inside a part', () => {
    const m = drain(fromSpec({ kind: 'mix', parts: [chat, { kind: 'poisson', ratePerS: 1, durationS: 300, prompt: 10, output: 10 }] }, ctx));
    const sessions = new Map<number, Arrival[]>();
    for (const a of m) if (a.session !== null) sessions.set(a.session, [...(sessions.get(a.session) ?? []), a]);
    const [t1, t2] = [...sessions.values()].find((t) => t.length >= 2)!;
    const h1 = blockHashes(t1.segments, t1.outputKey, t1.outputLen, 16);
    expect(Array.from(blockHashes(t2.segments, null, 0, 16).subarray(0, h1.length))).toEqual(Array.from(h1));
  });
});

describe('spec errors name the field and the fix', () => {
  const msg = (spec: unknown): string => {
    try {
      fromSpec(spec as WorkloadSpecInput, ctx);
    } catch (err) {
      expect(err).toBeInstanceOf(WorkloadError);
      return (err as Error).message;
    }
    throw new Error('expected fromSpec to throw');
  };
  it.each<[string, unknown, RegExp]>([
    ['an unknown kind', { kind: 'poison', ratePerS: 1 }, /kind: kind must be one of poisson, gamma, shared-prefix, azure, mooncake, mix/],
    ['a missing rate', { kind: 'poisson', prompt: 1, output: 1 }, /ratePerS: .*expected number/],
    ['an unknown field', { kind: 'poisson', ratePerS: 1, prompt: 1, output: 1, rate: 3 }, /Unrecognized key: "rate"/],
    ['an unknown length kind', { kind: 'poisson', ratePerS: 1, prompt: { kind: 'zipf' }, output: 1 }, /prompt.kind: kind must be fixed, uniform, lognormal or empirical/],
    ['a lognormal with mean and p50', { kind: 'poisson', ratePerS: 1, prompt: { kind: 'lognormal', mean: 5, p50: 5 }, output: 1 }, /prompt: lognormal needs exactly one of mean or p50/],
    ['an unknown empirical trace', { kind: 'poisson', ratePerS: 1, prompt: { kind: 'empirical', trace: 'sharegpt' }, output: 1 }, /prompt.trace: .*azure-conv/],
    ['tenant and tenants', { kind: 'azure', file: 'x.csv', tenant: 'a', tenants: [{ name: 'b', weight: 1 }] }, /tenants: give tenant .* or tenants/],
    ['a nested mix', { kind: 'mix', parts: [{ kind: 'mix', parts: [] }] }, /parts.0.kind: .*cannot be mixes/],
    ['system prompts without a length', { ...(chat as object), systemPromptLen: undefined }, /systemPromptLen: systemPromptLen is required when systemPrompts > 0/],
  ])('%s', (_, spec, re) => {
    expect(msg(spec)).toMatch(re);
  });
});
