import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadPlan, MAX_HOURS, MAX_ROUTES_PER_HOUR, parsePlan, PlanError, routesBound, type PlanSpecInput } from '../../../src/control/planner/spec.js';

// PLAN.yaml is typed by people: every mistake must be refused with the path of the key to fix, and
// a plan that leaves things out must get the documented defaults.

/** a small valid plan; each case changes one thing */
function good(): PlanSpecInput {
  return {
    name: 'two-regions',
    regions: [
      { name: 'us', latencyMs: { eu: 40 }, gpuBudget: 16 },
      { name: 'eu', gpuBudget: { 'H100-SXM-80GB': 8 } },
    ],
    hardware: [
      { profile: 'llama-3.1-8b-h100', model: 'm', usdPerGpuHour: { us: 3, eu: 3.3 } },
      { profile: 'llama-3.1-8b-a100', model: 'm', usdPerGpuHour: 1.8 },
    ],
    tiers: { fast: { ttftMs: 1000, itlMs: 50 } },
    demand: [{
      name: 'chat', region: 'us', model: 'm', tier: 'fast',
      requests: { kind: 'lengths', prompt: 1000, output: 200 },
      rate: { peakPerS: 5, trough: 0.4, peakAtHour: 14 },
    }],
  };
}

/** the paths (as a.b.c) of every problem parsePlan reports */
function errorsOf(raw: unknown): string[] {
  try {
    parsePlan(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(PlanError);
    return (err as Error).message.split('\n').slice(1).map((l) => l.trim());
  }
  return [];
}

function expectError(raw: unknown, path: string, words: RegExp): void {
  const errs = errorsOf(raw);
  const hit = errs.find((e) => e.startsWith(`${path}:`));
  expect(hit, `no error at ${path}; got ${JSON.stringify(errs)}`).toBeDefined();
  expect(hit).toMatch(words);
}

describe('parsePlan', () => {
  it('accepts a good plan and fills in the defaults', () => {
    const p = parsePlan(good());
    expect(p.seed).toBe(1);
    expect(p.hours).toBe(24);
    expect(p.utilisation).toBe(0.85);
    expect(p.buckets).toEqual({ prompt: [512, 2048, 8192, 32768], output: [128, 512] });
    expect(p.failure.survive).toBe('none');
    expect(p.whatIfs).toEqual([]);
    expect(p.check).toEqual({ attainment: 0.99, windowS: 120, hours: 'all', failures: true });
    expect(p.hardware[0].engine).toEqual({});
    expect(p.regions[1].latencyMs).toEqual({});
    // a bare number is a fixed length
    const r = p.demand[0].requests;
    expect(r.kind === 'lengths' ? r.prompt : null).toEqual({ kind: 'fixed', value: 1000 });
  });

  it('refuses an unknown key, naming where it is', () => {
    const p = good();
    (p.regions[0] as Record<string, unknown>).gpuBudgett = 4;
    expectError(p, 'regions.0', /gpuBudgett/);
  });

  it('refuses an unknown region in residency, prices and latencies', () => {
    const p = good();
    p.demand[0].residency = ['us', 'asia'];
    (p.hardware[0].usdPerGpuHour as Record<string, number>).mars = 1;
    p.regions[0].latencyMs = { eu: 40, moon: 1300 };
    expectError(p, 'demand.0.residency.1', /unknown region "asia".*us, eu/);
    expectError(p, 'hardware.0.usdPerGpuHour.mars', /unknown region "mars"/);
    expectError(p, 'regions.0.latencyMs.moon', /unknown region "moon"/);
  });

  it('refuses an unknown tier and a model no hardware serves', () => {
    const p = good();
    p.demand[0].tier = 'slow';
    p.demand[0].model = 'other';
    expectError(p, 'demand.0.tier', /unknown tier "slow".*fast/);
    expectError(p, 'demand.0.model', /no hardware entry serves "other"/);
  });

  it('refuses an unknown hardware profile, listing the known ones', () => {
    const p = good();
    p.hardware[1].profile = 'llama-9-h200';
    expectError(p, 'hardware.1.profile', /unknown hardware profile "llama-9-h200".*llama-3.1-8b-h100/);
  });

  it('refuses a profile listed twice (offers are named REGION/PROFILE)', () => {
    const p = good();
    p.hardware.push({ profile: 'llama-3.1-8b-h100', model: 'n', usdPerGpuHour: 2 });
    expectError(p, 'hardware.2.profile', /already hardware entry 0/);
  });

  it('refuses a context longer than the model has', () => {
    const p = good();
    p.hardware[0].engine = { maxModelLen: 1_000_000 };
    expectError(p, 'hardware.0.engine.maxModelLen', /beyond .* 131072/);
  });

  it('refuses a forecast whose length is not the horizon', () => {
    const p = good();
    p.hours = 6;
    p.demand[0].rate = { ratesPerS: [1, 2, 3] };
    expectError(p, 'demand.0.rate.ratesPerS', /3 rates for a horizon of 6 hours/);
  });

  it('refuses a what-if on a profile the plan does not use, or in an unknown region', () => {
    const p = good();
    p.whatIfs = [
      { kind: 'price', region: 'eu', profile: 'llama-2-70b-h100-tp4', usdPerGpuHour: 1 },
      { kind: 'region-lost', region: 'atlantis' },
      { kind: 'spot', profile: 'llama-3.1-8b-h100', region: 'us', priceFactor: 0.5, preemptionsPerHour: 1 },
    ];
    expectError(p, 'whatIfs.0.profile', /no hardware entry uses "llama-2-70b-h100-tp4"/);
    expectError(p, 'whatIfs.1.region', /unknown region "atlantis"/);
    expect(errorsOf(p).filter((e) => e.startsWith('whatIfs.2'))).toEqual([]);
  });

  it('refuses spot in a region with no on-demand price to take it from', () => {
    const p = good();
    p.hardware[0].usdPerGpuHour = { us: 3 };
    p.whatIfs = [{ kind: 'spot', profile: 'llama-3.1-8b-h100', region: 'eu', priceFactor: 0.5, preemptionsPerHour: 1 }];
    expectError(p, 'whatIfs.0.region', /no on-demand price in eu/);
  });

  it('refuses a check hour past the horizon', () => {
    const p = good();
    p.hours = 4;
    p.check = { hours: [0, 4] };
    expectError(p, 'check.hours.1', /past the horizon \(hours 0–3\)/);
  });

  it('refuses surviving the loss of a region with only one region', () => {
    const p = good();
    p.regions = [{ name: 'us' }];
    p.hardware.forEach((h) => { h.usdPerGpuHour = 2; });
    p.failure = { survive: 'any-region' };
    expectError(p, 'failure.survive', /at least two regions/);
  });

  it('refuses absurd sizes: a budget of 1e9 GPUs, a horizon past a week', () => {
    const p = good();
    p.regions[0].gpuBudget = 1e9;
    p.hours = MAX_HOURS + 1;
    expectError(p, 'regions.0.gpuBudget', /.+/);
    expectError(p, 'hours', /.+/);
  });

  it('refuses a budget on a GPU type no hardware runs on', () => {
    const p = good();
    p.regions[1].gpuBudget = { 'H100-SXM-80G': 8 };
    expectError(p, 'regions.1.gpuBudget.H100-SXM-80G', /no hardware entry runs on "H100-SXM-80G".*H100-SXM-80GB/);
  });

  it('refuses NaN, strings for numbers and edges out of order', () => {
    const p = good();
    p.utilisation = Number.NaN;
    (p.tiers.fast as Record<string, unknown>).ttftMs = '1000';
    p.buckets = { prompt: [2048, 512] };
    expectError(p, 'utilisation', /.+/);
    expectError(p, 'tiers.fast.ttftMs', /number/);
    expectError(p, 'buckets.prompt', /increase/);
  });

  it('refuses a check hour listed twice, and more check hours than the horizon has', () => {
    const p = good();
    p.hours = 4;
    p.check = { hours: [1, 2, 1] };
    expectError(p, 'check.hours.2', /hour 1 is listed twice/);
    p.check = { hours: Array.from({ length: MAX_HOURS + 1 }, () => 0) };
    expectError(p, 'check.hours', /.+/);
  });

  it("refuses a region's latency to itself", () => {
    const p = good();
    p.regions[0].latencyMs = { us: 5, eu: 40 };
    expectError(p, 'regions.0.latencyMs.us', /latency to itself/);
  });

  it('refuses hardware priced in no region (it could never be bought)', () => {
    const p = good();
    p.hardware[1].usdPerGpuHour = {};
    expectError(p, 'hardware.1.usdPerGpuHour', /price in no region/);
    // spot alone is a price
    p.hardware[1].spot = { usdPerGpuHour: { eu: 0.7 }, preemptionsPerHour: 1 };
    expect(errorsOf(p)).toEqual([]);
  });

  it('refuses a plan too big to solve an hour of, saying what to cut', () => {
    const p = good();
    p.regions = Array.from({ length: 20 }, (_, i) => ({ name: `r${i}` }));
    p.hardware = ['llama-3.1-8b-h100', 'llama-3.1-8b-a100', 'llama-3.1-8b-l40s'].map((profile) => ({ profile, model: 'm', usdPerGpuHour: 2, spot: { usdPerGpuHour: 1, preemptionsPerHour: 1 } }));
    p.failure = { survive: 'any-region' };
    p.demand = Array.from({ length: 200 }, (_, i) => ({ ...good().demand[0], name: `d${i}`, region: `r${i % 20}` }));
    // 21 scenarios × 15 bucket classes × 200 entries × 120 offers
    expect(routesBound(parsePlan({ ...p, demand: p.demand.slice(0, 1) }))).toBe(21 * 15 * 120);
    expectError(p, 'demand', new RegExp(`7,560,000 routing variables.*${MAX_ROUTES_PER_HOUR.toLocaleString('en-US')}.*fewer bucket edges`));
    // the example-sized plan is far inside the bound
    // (H100 in us and eu, A100 everywhere: 4 offers)
    expect(routesBound(parsePlan(good()))).toBe(1 * 15 * 4);
  });

  it('answers any hostile value anywhere with a PlanError naming a path, never another error', () => {
    const paths: (string | number)[][] = [
      ['name'], ['hours'], ['seed'], ['utilisation'], ['buckets'], ['buckets', 'prompt'], ['regions'], ['regions', 0], ['regions', 0, 'latencyMs'],
      ['regions', 0, 'gpuBudget'], ['regions', 1, 'gpuBudget', 'H100-SXM-80GB'], ['hardware'], ['hardware', 0, 'profile'], ['hardware', 0, 'usdPerGpuHour'],
      ['hardware', 1, 'engine'], ['hardware', 0, 'spot'], ['tiers'], ['tiers', 'fast', 'ttftMs'], ['demand'], ['demand', 0, 'residency'], ['demand', 0, 'requests'],
      ['demand', 0, 'requests', 'prompt'], ['demand', 0, 'rate'], ['demand', 0, 'rate', 'peakPerS'], ['failure'], ['whatIfs'], ['check'], ['check', 'hours'],
    ];
    const hostile = fc.oneof(
      fc.anything(),
      fc.constantFrom(Number.NaN, Infinity, -Infinity, -1, 0, 1e308, -0, '', '__proto__', null, [], {}, { kind: 'fixed', value: -5 }),
      fc.array(fc.integer(), { maxLength: 300 }),
    );
    fc.assert(fc.property(fc.constantFrom(...paths), hostile, (path, value) => {
      const raw = good() as unknown as Record<string | number, unknown>;
      let at: Record<string | number, unknown> = raw;
      for (const k of path.slice(0, -1)) at = (at[k] ??= {}) as Record<string | number, unknown>;
      at[path[path.length - 1]] = value;
      try {
        parsePlan(raw);
      } catch (err) {
        expect(err).toBeInstanceOf(PlanError);
        expect((err as Error).message).toMatch(/not a valid plan:\n {2}\S/);
      }
    }), { numRuns: 400, seed: 15 });
  });

  it('names the rate forms when a rate fits none', () => {
    const p = good();
    p.demand[0].rate = { peakPerS: 3 } as never;
    expectError(p, 'demand.0.rate', /peakPerS, trough, peakAtHour/);
  });
});

describe('loadPlan', () => {
  it('resolves trace paths against the plan file and reads the example fixture', () => {
    const l = loadPlan(join(import.meta.dirname, 'fixtures', 'small.yaml'));
    expect(l.baseDir).toBe(join(import.meta.dirname, 'fixtures'));
    expect(l.plan.regions.map((r) => r.name)).toEqual(['us-east', 'eu-west']);
    expect(l.plan.hours).toBe(3);
  });

  it('names the file when it is not YAML or not a plan', () => {
    const dir = mkdtempSync(join(tmpdir(), 'plan-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: [unclosed');
    expect(() => loadPlan(bad)).toThrow(/bad\.yaml is not valid YAML/);
    writeFileSync(bad, 'name: x\n');
    expect(() => loadPlan(bad)).toThrow(/bad\.yaml is not a valid plan:\n {2}regions:/);
    expect(() => loadPlan(join(dir, 'missing.yaml'))).toThrow(PlanError);
  });
});
