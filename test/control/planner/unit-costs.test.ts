import { describe, expect, it } from 'vitest';
import { phaseWeights } from '../../../src/control/economics/index.js';
import { solvePlan } from '../../../src/control/planner/solve.js';
import type { Offer, PlanProblem, PlanSolution, Route, Stream } from '../../../src/control/planner/types.js';
import { plannedUtilisation, unitCostsOf } from '../../../src/control/planner/unit-costs.js';
import { PROFILES } from '../../../src/engine/profiles.js';

// A plan's cost per million tokens is its GPU cost over the tokens it serves, split between prefill
// and decode by the engine model: so the parts must add up to the whole, and the split must follow
// the tokens and the hardware.

const H100 = 'llama-3.1-8b-h100';
const A100 = 'llama-3.1-8b-a100';

function offer(region: string, profile: string, usdPerGpuHour: number, o: Partial<Offer> = {}): Offer {
  return {
    id: `${region}/${profile}`, region, profile, model: 'llama', gpu: profile, gpus: 1, usdPerGpuHour,
    spot: false, availability: 1, preemptionsPerHour: 0, replaceS: 0, ...o,
  };
}

function stream(id: string, origin: string, ratesPerS: number[], o: Partial<Stream> = {}): Stream {
  return {
    id, origin, model: 'llama', tier: 't', allowed: [origin], ratesPerS,
    buckets: [{ id: 'short', share: 0.75, promptTokens: 400, outputTokens: 100 }, { id: 'long', share: 0.25, promptTokens: 6000, outputTokens: 400 }], ...o,
  };
}

/** a hand-built world's interference fields: none stated (the solver reads missing coefficients as 0) */
const NO_INTERFERENCE = { prefillS: [], blocking: [], blockingShare: 0.005, mixTypesInRegion: true } as const;

/** a world of two regions and two profiles, with a second model in one region */
function world(): PlanProblem {
  const offers = [
    offer('us', H100, 2.99, { gpu: 'H100' }), offer('us', A100, 1.79, { gpu: 'A100' }), offer('eu', H100, 3.2, { gpu: 'H100' }),
    offer('eu', A100, 1.9, { gpu: 'A100', model: 'other' }),
  ];
  const streams = [
    stream('us', 'us', [20, 35, 50], { allowed: ['us', 'eu'] }),
    stream('eu', 'eu', [10, 12, 8], { allowed: ['eu', 'us'] }),
    stream('eu-other', 'eu', [3, 3, 3], { model: 'other', buckets: [{ id: 'all', share: 1, promptTokens: 1000, outputTokens: 200 }] }),
  ];
  const capacity = [
    [[8, 3, 7.5, 0], [1.5, 0.5, 1.4, 0]],
    [[7.5, 2.8, 8, 0], [1.4, 0.45, 1.5, 0]],
    [[0, 0, 0, 2]],
  ];
  return { hours: 3, regions: ['us', 'eu'], offers, streams, capacity, budgets: [{ region: 'us', gpuTypes: ['H100'], gpus: 6 }], scenarios: ['normal', 'lost:us', 'lost:eu'], mode: { fleet: 'hourly', local: false }, ...NO_INTERFERENCE };
}

describe('unitCostsOf', () => {
  it('adds up to the solution\'s cost, per model and region that holds replicas', async () => {
    const p = world();
    const s = await solvePlan(p);
    expect(s.status, s.message ?? '').toBe('optimal');
    const u = unitCostsOf(p, s);
    expect(u.reduce((a, x) => a + x.usd, 0)).toBeCloseTo(s.usd, 9);
    const keys = u.map((x) => `${x.model}@${x.region}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const x of u) {
      const offers = p.offers.map((of, o) => ({ of, o })).filter(({ of }) => of.model === x.model && of.region === x.region);
      const gpuUsd = offers.reduce((a, { of, o }) => a + s.replicas.reduce((b, row) => b + row[o], 0) * of.gpus * of.usdPerGpuHour, 0);
      expect(x.usd).toBeCloseTo(gpuUsd, 9);
      expect(gpuUsd).toBeGreaterThan(0);
    }
    // the other model is served in eu only; its unit cost stands apart from llama's there
    expect(keys).toContain('other@eu');
  });

  it('counts the normal scenario\'s routed tokens, an hour of each rate', async () => {
    const p = world();
    const s = await solvePlan(p);
    const u = unitCostsOf(p, s);
    const other = u.find((x) => x.model === 'other')!;
    // 3 req/s every hour for 3 hours, 1000 in and 200 out each
    expect(other.inputTokens).toBeCloseTo(3 * 3600 * 3 * 1000, 3);
    expect(other.outputTokens).toBeCloseTo(3 * 3600 * 3 * 200, 3);
    const llamaIn = u.filter((x) => x.model === 'llama').reduce((a, x) => a + x.inputTokens, 0);
    const totalRate = [20, 35, 50, 10, 12, 8].reduce((a, r) => a + r, 0);
    expect(llamaIn).toBeCloseTo(totalRate * 3600 * (0.75 * 400 + 0.25 * 6000), 0);
  });

  it('splits each offer\'s cost by its profile\'s phase weights and divides by the tokens', () => {
    const p: PlanProblem = {
      hours: 1, regions: ['us'], offers: [offer('us', H100, 3)], streams: [stream('s', 'us', [2])],
      capacity: [[[4], [1]]], budgets: [], scenarios: ['normal'], mode: { fleet: 'hourly', local: false }, ...NO_INTERFERENCE,
    };
    const routes: Route[] = [
      { scenario: 'normal', hour: 0, stream: 0, bucket: 0, offer: 0, ratePerS: 1.5 },
      { scenario: 'normal', hour: 0, stream: 0, bucket: 1, offer: 0, ratePerS: 0.5 },
      // failure scenarios' routing is spare capacity, not tokens served
      { scenario: 'lost:eu', hour: 0, stream: 0, bucket: 1, offer: 0, ratePerS: 100 },
    ];
    const s: PlanSolution = { status: 'optimal', message: null, replicas: [[2]], usd: 6, gpuHours: 2, routes, unprotected: [], solveMs: 0 };
    const [u] = unitCostsOf(p, s);
    const inTok = 3600 * (1.5 * 400 + 0.5 * 6000);
    const outTok = 3600 * (1.5 * 100 + 0.5 * 400);
    expect(u.inputTokens).toBeCloseTo(inTok, 6);
    expect(u.outputTokens).toBeCloseTo(outTok, 6);
    const w = phaseWeights(PROFILES[H100]);
    const inUsd = (6 * inTok * w.inputS) / (inTok * w.inputS + outTok * w.outputS);
    expect(u.inputUsdPerM).toBeCloseTo((inUsd * 1e6) / inTok, 9);
    expect(u.outputUsdPerM).toBeCloseTo(((6 - inUsd) * 1e6) / outTok, 9);
    // the parts rebuild the whole
    expect((u.inputUsdPerM! * inTok + u.outputUsdPerM! * outTok) / 1e6).toBeCloseTo(6, 9);
  });

  it('prices idle replicas with no tokens as cost with nothing to divide it by', () => {
    const p: PlanProblem = {
      hours: 2, regions: ['us', 'eu'], offers: [offer('us', H100, 3), offer('eu', A100, 2)], streams: [stream('s', 'us', [1, 1])],
      capacity: [[[4, 4], [1, 1]]], budgets: [], scenarios: ['normal', 'lost:us'], mode: { fleet: 'hourly', local: false }, ...NO_INTERFERENCE,
    };
    const routes: Route[] = [0, 1].map((hour) => ({ scenario: 'normal', hour, stream: 0, bucket: 0, offer: 0, ratePerS: 1 }));
    const s: PlanSolution = { status: 'optimal', message: null, replicas: [[1, 1], [1, 0]], usd: 8, gpuHours: 3, routes, unprotected: [], solveMs: 0 };
    const u = unitCostsOf(p, s);
    expect(u.map((x) => x.region)).toEqual(['us', 'eu']);
    const eu = u[1];
    expect(eu.usd).toBeCloseTo(2, 9);
    expect(eu.inputTokens).toBe(0);
    expect(eu.inputUsdPerM).toBeNull();
    expect(eu.outputUsdPerM).toBeNull();
  });

  it('is empty for a plan that was not solved', () => {
    const p = world();
    const s: PlanSolution = { status: 'infeasible', message: 'x', replicas: [[0, 0, 0, 0]], usd: 0, gpuHours: 0, routes: [], unprotected: [], solveMs: 0 };
    expect(unitCostsOf(p, s)).toEqual([]);
  });
});

describe('plannedUtilisation', () => {
  it('reads a fleet filled to the ceiling as that ceiling', () => {
    const p: PlanProblem = {
      hours: 1, regions: ['us'], offers: [offer('us', H100, 3)], streams: [stream('s', 'us', [8])],
      capacity: [[[4], [4]]], budgets: [], scenarios: ['normal'], mode: { fleet: 'hourly', local: false }, ...NO_INTERFERENCE,
    };
    const routes: Route[] = [{ scenario: 'normal', hour: 0, stream: 0, bucket: 0, offer: 0, ratePerS: 8 }];
    const s: PlanSolution = { status: 'optimal', message: null, replicas: [[2]], usd: 6, gpuHours: 2, routes, unprotected: [], solveMs: 0 };
    expect(plannedUtilisation(p, s, 0.8)).toBeCloseTo(0.8, 12);
    // twice the replicas for the same load: half as full
    expect(plannedUtilisation(p, { ...s, replicas: [[4]] }, 0.8)).toBeCloseTo(0.4, 12);
  });

  it('is at most the ceiling for a solved plan, and counts spot replicas at their availability', async () => {
    const p = world();
    const s = await solvePlan(p);
    const u = plannedUtilisation(p, s, 0.85);
    expect(u).toBeGreaterThan(0.2);
    expect(u).toBeLessThanOrEqual(0.85 + 1e-9);
    const spot: PlanProblem = { ...p, offers: p.offers.map((of) => ({ ...of, availability: 0.5 })) };
    expect(plannedUtilisation(spot, s, 0.85)).toBeCloseTo(Math.min(1, 2 * u), 9);
  });

  it('is 0 when nothing is held', () => {
    const p = world();
    const s: PlanSolution = { status: 'optimal', message: null, replicas: [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]], usd: 0, gpuHours: 0, routes: [], unprotected: [], solveMs: 0 };
    expect(plannedUtilisation(p, s, 0.85)).toBe(0);
  });
});
