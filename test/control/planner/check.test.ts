import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { replicaCapacity } from '../../../src/control/autoscaler/capacity.js';
import { checkHours, checkPlan, checkScenarioOf } from '../../../src/control/planner/check.js';
import { buildProblem } from '../../../src/control/planner/problem.js';
import { streamsOf } from '../../../src/control/planner/demand.js';
import { loadPlan, parsePlan, PlanError, type LoadedPlan, type PlanSpecInput } from '../../../src/control/planner/spec.js';
import type { CheckResult, FailureScenario, Offer, PlanProblem, PlanSolution, Stream } from '../../../src/control/planner/types.js';
import { getProfile } from '../../../src/engine/index.js';
import { parseScenario, runScenario } from '../../../src/sim/index.js';
import { poolReplicaId } from '../../../src/sim/scenario.js';
import { fromSpec } from '../../../src/sim/workload/index.js';

// The check runs a solved plan's fleet in the simulator. The problem and the solution are built
// here by hand (the fleet sized from the same capacity model the planner uses), so these specs
// hold whatever the solver would pick.

const ROOT = resolve(fileURLToPath(import.meta.url), '../../../..');
const MODEL = 'llama-3.1-8b';
const TIER = { ttftMs: 1500, itlMs: 80 };
/** the plan's utilisation ceiling: the share of modelled capacity a fleet is sized to fill */
const UTILISATION = 0.85;
const WINDOW_S = 40;
const SHAPE = { promptTokens: 1000, outputTokens: 150 };

interface Demand {
  readonly name: string;
  readonly region: string;
  readonly residency?: string[];
  readonly ratesPerS: number[];
  readonly trace?: string;
}

function loadedOf(demand: readonly Demand[], extra: Partial<PlanSpecInput> = {}): LoadedPlan {
  const hours = demand[0].ratesPerS.length;
  const plan = parsePlan({
    name: 'check-spec',
    hours,
    regions: [{ name: 'us-east', latencyMs: { 'eu-west': 40 } }, { name: 'eu-west' }],
    hardware: [
      { profile: 'llama-3.1-8b-h100', model: MODEL, usdPerGpuHour: 2.99, spot: { usdPerGpuHour: 1.2, preemptionsPerHour: 60, replaceS: 15 } },
      { profile: 'llama-3.1-8b-a100', model: MODEL, usdPerGpuHour: 1.79 },
    ],
    tiers: { chat: TIER },
    demand: demand.map((d) => ({
      name: d.name, region: d.region, model: MODEL, tier: 'chat',
      ...(d.residency !== undefined ? { residency: d.residency } : {}),
      requests: d.trace !== undefined ? { kind: 'azure', file: d.trace }
        : { kind: 'lengths', prompt: { kind: 'uniform', min: 500, max: 1500 }, output: { kind: 'uniform', min: 50, max: 250 } },
      rate: { ratesPerS: d.ratesPerS },
    })),
    ...extra,
  });
  return { plan, baseDir: ROOT };
}

function offer(region: string, profile: string, spot = false): Offer {
  const p = getProfile(profile)!;
  const preemptionsPerHour = spot ? 60 : 0;
  const replaceS = spot ? 15 : 0;
  return {
    id: `${region}/${profile}${spot ? '/spot' : ''}`, region, profile, model: MODEL, gpu: p.gpu.name, gpus: p.tp,
    usdPerGpuHour: spot ? 1.2 : 2.99, spot, availability: 1 - (preemptionsPerHour * replaceS) / 3600, preemptionsPerHour, replaceS,
  };
}

const OFFERS: readonly Offer[] = [
  offer('us-east', 'llama-3.1-8b-h100'), offer('us-east', 'llama-3.1-8b-a100'), offer('us-east', 'llama-3.1-8b-h100', true),
  offer('eu-west', 'llama-3.1-8b-h100'), offer('eu-west', 'llama-3.1-8b-a100'), offer('eu-west', 'llama-3.1-8b-h100', true),
];

/** requests a second one replica of the offer serves within the tier, times the ceiling (as problem.ts sizes them) */
function capacityOf(o: Offer, s: Stream): number {
  const net = s.origin === o.region ? 1 : 2 * 40 + 1;
  return replicaCapacity(getProfile(o.profile)!, {}, SHAPE, { ttftMs: TIER.ttftMs - net, itlMs: TIER.itlMs }).requestsPerS * UTILISATION;
}

/** a hand-built world's interference fields: none stated (the solver reads missing coefficients as 0) */
const NO_INTERFERENCE = { prefillS: [], blocking: [], blockingShare: 0.005, mixTypesInRegion: true } as const;

function problemOf(loaded: LoadedPlan, scenarios: readonly FailureScenario[] = ['normal']): PlanProblem {
  const streams: Stream[] = loaded.plan.demand.map((d) => ({
    id: d.name, origin: d.region, model: d.model, tier: d.tier,
    allowed: d.residency ?? [d.region, ...loaded.plan.regions.map((r) => r.name).filter((r) => r !== d.region)],
    ratesPerS: 'ratesPerS' in d.rate ? d.rate.ratesPerS : [],
    buckets: [{ id: 'all', share: 1, ...SHAPE }],
  }));
  return {
    hours: loaded.plan.hours, regions: loaded.plan.regions.map((r) => r.name), offers: OFFERS, streams,
    capacity: streams.map((s) => [OFFERS.map((o) => capacityOf(o, s))]),
    budgets: [], scenarios, mode: { fleet: 'hourly', local: false }, ...NO_INTERFERENCE,
  };
}

/** replicas[h][o] from a function of the hour and the offer; a fleet by hand, as the solver would hand it */
function solutionOf(p: PlanProblem, replicas: (h: number, o: Offer) => number): PlanSolution {
  const table = Array.from({ length: p.hours }, (_, h) => p.offers.map((o) => replicas(h, o)));
  return { status: 'optimal', message: null, replicas: table, usd: 0, gpuHours: 0, routes: [], unprotected: [], solveMs: 0 };
}

/** on-demand H100s in each stream's origin, enough for its rate within the ceiling */
function sized(p: PlanProblem, factor = 1): (h: number, o: Offer) => number {
  return (h, o) => {
    if (o.profile !== 'llama-3.1-8b-h100' || o.spot) return 0;
    const rate = p.streams.filter((s) => s.origin === o.region).reduce((a, s) => a + s.ratesPerS[h], 0);
    return rate > 0 ? Math.max(1, Math.floor(Math.ceil(rate / capacityOf(o, p.streams.find((s) => s.origin === o.region)!)) * factor)) : 0;
  };
}

const opts = (over: Partial<Parameters<typeof checkPlan>[3]> = {}) => ({ hours: [0], scenarios: ['normal' as const], windowS: WINDOW_S, seed: 3, target: 0.99, ...over });

/** the requests of one check run, by tenant, from the very scenario the check builds */
function recordsOf(loaded: LoadedPlan, p: PlanProblem, s: PlanSolution, hour: number, scenario: FailureScenario) {
  const c = checkScenarioOf(loaded, p, s, hour, scenario, { windowS: WINDOW_S, seed: 3 })!;
  return { ...c, run: runScenario({ scenario: c.scenario, baseDir: loaded.baseDir }, { seed: c.seed }).runs[0] };
}

const streamOf = (r: CheckResult, id: string) => {
  const rows = r.runs.flatMap((x) => x.streams).filter((x) => x.stream === id);
  return { requests: rows.reduce((a, x) => a + x.requests, 0), met: rows.reduce((a, x) => a + x.met, 0) };
};

describe('checkPlan: a plan run in the simulator', () => {
  const loaded = loadedOf([
    { name: 'us-chat', region: 'us-east', ratesPerS: [24, 6] },
    { name: 'eu-chat', region: 'eu-west', ratesPerS: [16, 20] },
  ]);
  const p = problemOf(loaded);

  it('a fleet sized by the capacity model meets the tier for at least 99 % of requests', () => {
    const fractions: number[] = [];
    const r = checkPlan(loaded, p, solutionOf(p, sized(p)), opts({ hours: [0, 1], onProgress: (f) => fractions.push(f) }));
    expect(r.runs.map((x) => x.hour)).toEqual([0, 1]);
    for (const id of ['us-chat', 'eu-chat']) {
      const s = streamOf(r, id);
      // the first tenth of each window is warm-up, not counted: about 0.9 × window × rate arrive after it
      const expected = [0, 1].reduce((a, h) => a + p.streams.find((x) => x.id === id)!.ratesPerS[h], 0) * WINDOW_S * 0.9;
      expect(s.requests).toBeGreaterThan(expected * 0.85);
      expect(s.requests).toBeLessThan(expected * 1.15);
    }
    expect(r.attainment).toBeGreaterThanOrEqual(0.99);
    expect(r.worstStream!.attainment).toBeGreaterThanOrEqual(0.99);
    expect(r.failureAttainment).toBeNull();
    expect(r.ok).toBe(true);
    expect(r.simulatedS).toBe(2 * WINDOW_S);
    expect(r.wallMs).toBeGreaterThan(0);
    expect(fractions).toEqual([0.5, 1]);
    // the load against the modelled capacity, at most about the ceiling the fleet was sized to, and the offers with replicas are listed
    for (const run of r.runs) {
      expect(run.utilisation.map((u) => u.offer).sort()).toEqual(['eu-west/llama-3.1-8b-h100', 'us-east/llama-3.1-8b-h100']);
      for (const u of run.utilisation) expect(u.busy).toBeGreaterThan(0.05), expect(u.busy).toBeLessThanOrEqual(1);
      const tokens = run.tokens.find((t) => t.region === 'us-east')!;
      expect(tokens.outputTokens).toBeGreaterThan(0);
      expect(tokens.inputTokens).toBeGreaterThan(tokens.outputTokens);
    }
  });

  it('utilisation is served load against the capacity model, so it shows headroom where busy time reads ~1', () => {
    const us = p.offers.findIndex((o) => o.id === 'us-east/llama-3.1-8b-h100');
    const chat = p.streams.find((x) => x.id === 'us-chat')!;
    const full = capacityOf(p.offers[us], chat) / UTILISATION; // one replica's rate with the p99s at the SLO
    for (const factor of [1, 2]) {
      const fleet = solutionOf(p, sized(p, factor));
      const n = fleet.replicas[0][us];
      const u = checkPlan(loaded, p, fleet, opts()).runs[0].utilisation.find((x) => x.offer === p.offers[us].id)!;
      // the hour's rate over n replicas' modelled capacity, within Poisson noise of 40 s
      const planned = chat.ratesPerS[0] / (n * full);
      expect(u.busy).toBeGreaterThan(planned * 0.85);
      expect(u.busy).toBeLessThan(planned * 1.15);
      if (factor === 2) {
        expect(u.busy).toBeLessThan(0.5);
        // the engine's busy time (any sequence running) says nothing of that headroom
        const { run } = recordsOf(loaded, p, fleet, 0, 'normal');
        const mine = run.replicas.filter((r) => r.region === 'us-east');
        expect(mine.reduce((a, r) => a + r.busyS, 0) / mine.reduce((a, r) => a + r.upS, 0)).toBeGreaterThan(0.8);
      }
    }
  });

  it('refuses, before simulating anything, a window that would send more requests than a run may', () => {
    const huge = loadedOf([{ name: 'flood', region: 'us-east', ratesPerS: [30_000] }]);
    const hp = problemOf(huge);
    expect(() => checkPlan(huge, hp, solutionOf(hp, () => 1), opts())).toThrow(PlanError);
    expect(() => checkPlan(huge, hp, solutionOf(hp, () => 1), opts())).toThrow(/check\.windowS: hour 0 sends 1,200,000 requests in a 40 s window, more than the 1,000,000/);
  });

  it('the same fleet with half its replicas misses: attainment drops below the target', () => {
    const full = checkPlan(loaded, p, solutionOf(p, sized(p)), opts());
    const half = checkPlan(loaded, p, solutionOf(p, sized(p, 0.5)), opts());
    expect(half.attainment).toBeLessThan(0.99);
    expect(half.attainment).toBeLessThan(full.attainment);
    expect(half.worstStream!.attainment).toBeLessThan(0.99);
    expect(half.ok).toBe(false);
  });

  it('is deterministic for a seed', () => {
    const a = checkPlan(loaded, p, solutionOf(p, sized(p)), opts());
    const b = checkPlan(loaded, p, solutionOf(p, sized(p)), opts());
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
  });

  it('an infeasible solution has nothing to check and is not ok', () => {
    const s: PlanSolution = { ...solutionOf(p, () => 0), status: 'infeasible', message: 'stream us-chat cannot be carried' };
    const r = checkPlan(loaded, p, s, opts());
    expect(r.runs).toEqual([]);
    expect(r.ok).toBe(false);
  });

  it('an hour without replicas for its demand counts every request as missed', () => {
    const r = checkPlan(loaded, p, solutionOf(p, () => 0), opts());
    expect(r.attainment).toBe(0);
    expect(streamOf(r, 'us-chat').requests).toBe(Math.round(24 * WINDOW_S * 0.9));
    expect(r.ok).toBe(false);
  });
});

describe('checkPlan: regions lost, residency', () => {
  const loaded = loadedOf([
    { name: 'us-chat', region: 'us-east', ratesPerS: [14] },
    { name: 'eu-chat', region: 'eu-west', ratesPerS: [10] },
    { name: 'eu-bank', region: 'eu-west', residency: ['eu-west'], ratesPerS: [6] },
  ]);
  const scenarios: FailureScenario[] = ['normal', 'lost:eu-west', 'lost:us-east'];
  const p = problemOf(loaded, scenarios);
  // enough in each region to carry all the demand that may move there
  const survive = solutionOf(p, (_, o) => (o.profile === 'llama-3.1-8b-h100' && !o.spot ? Math.ceil(30 / capacityOf(o, p.streams[0])) : 0));

  it('a lost region\'s movable demand is served in the other region, from its clients\' own region', () => {
    const { run } = recordsOf(loaded, p, survive, 0, 'lost:eu-west');
    const eu = run.requests.filter((q) => q.tenant === 'eu-chat' && q.arrivalS >= WINDOW_S * 0.1);
    expect(eu.length).toBeGreaterThan(0);
    expect(eu.every((q) => q.outcome === 'ok' && q.region === 'us-east')).toBe(true);
    // the clients stay in eu-west: every first token crossed the Atlantic (2 × 40 ms at least)
    expect(Math.min(...eu.map((q) => q.firstTokenS - q.arrivalS))).toBeGreaterThanOrEqual(0.08);
    // the lost region's replicas never served
    expect(run.replicas.filter((r) => r.region === 'eu-west').every((r) => r.requests === 0 && r.upS === 0)).toBe(true);
    const r = checkPlan(loaded, p, survive, opts({ scenarios }));
    expect(r.failureAttainment).toBeGreaterThanOrEqual(0.99);
    const lostRun = r.runs.find((x) => x.scenario === 'lost:eu-west')!;
    // demand pinned to the lost region is the solver's unprotected list, not sent
    expect(lostRun.streams.map((s) => s.stream)).toEqual(['us-chat', 'eu-chat']);
    expect(lostRun.utilisation.find((u) => u.offer === 'eu-west/llama-3.1-8b-h100')!.busy).toBe(0);
    expect(lostRun.tokens.find((t) => t.region === 'eu-west')?.outputTokens ?? 0).toBe(0);
    expect(r.ok).toBe(true);
  });

  it('a fleet that cannot carry a lost region\'s demand fails the failure scenario', () => {
    // sized for each region's own demand: eu-west's lost, its unpinned stream swamps us-east's one replica
    const thin = solutionOf(p, sized(p));
    expect(thin.replicas[0][0]).toBe(1);
    const r = checkPlan(loaded, p, thin, opts({ scenarios: ['normal', 'lost:eu-west'] }));
    expect(r.attainment).toBeGreaterThanOrEqual(0.99);
    expect(r.failureAttainment!).toBeLessThan(0.99);
    expect(r.ok).toBe(false);
  });

  it('residency holds: a stream\'s requests never land outside its allowed regions, even when its region is overloaded', () => {
    // one replica in eu-west for 16 req/s: the unpinned eu stream spills over to us-east, the pinned one may not
    const tight = solutionOf(p, (_, o) => (o.profile === 'llama-3.1-8b-h100' && !o.spot ? (o.region === 'eu-west' ? 1 : 4) : 0));
    const { run } = recordsOf(loaded, p, tight, 0, 'normal');
    const bank = run.requests.filter((q) => q.tenant === 'eu-bank');
    expect(bank.length).toBeGreaterThan(100);
    expect(bank.every((q) => q.region === null || q.region === 'eu-west')).toBe(true);
    expect(run.requests.some((q) => q.tenant === 'eu-chat' && q.region === 'us-east')).toBe(true);
  });
});

describe('checkPlan: spot offers and two offers in a region', () => {
  const loaded = loadedOf([{ name: 'us-chat', region: 'us-east', ratesPerS: [30] }]);
  const p = problemOf(loaded);
  const spot = solutionOf(p, (_, o) => (o.region === 'us-east' && o.profile === 'llama-3.1-8b-h100' ? (o.spot ? 4 : 1) : 0));

  it('spot replicas are preempted (seeded crash faults) and the same seed gives the same preemptions', () => {
    const a = checkScenarioOf(loaded, p, spot, 0, 'normal', { windowS: WINDOW_S, seed: 3 })!;
    const b = checkScenarioOf(loaded, p, spot, 0, 'normal', { windowS: WINDOW_S, seed: 3 })!;
    const c = checkScenarioOf(loaded, p, spot, 0, 'normal', { windowS: WINDOW_S, seed: 4 })!;
    expect(a.preemptions).toBeGreaterThan(0);
    expect(a.scenario.faults.length).toBe(a.preemptions);
    expect(a.scenario.faults.every((f) => f.kind === 'crash' && f.forS === 15 && f.replica!.startsWith('us-east/llama-3.1-8b#llama-3.1-8b-h100-spot/'))).toBe(true);
    expect(b.scenario.faults).toEqual(a.scenario.faults);
    expect(c.scenario.faults).not.toEqual(a.scenario.faults);
    const r = checkPlan(loaded, p, spot, opts());
    expect(r.runs[0].preemptions).toBe(a.preemptions);
    // the crashed replicas' lost up time shows: the spot pool was up less than the window
    const run = runScenario({ scenario: a.scenario, baseDir: ROOT }, { seed: a.seed }).runs[0];
    const spotUp = run.replicas.filter((x) => x.id.includes('-spot/')).reduce((s, x) => s + x.upS, 0);
    const onDemandUp = run.replicas.find((x) => x.id === 'us-east/llama-3.1-8b#llama-3.1-8b-h100/0')!.upS;
    expect(spotUp).toBeLessThan(4 * onDemandUp - 14);
  });

  it('two offers of one model in one region are two pools with distinct replica ids, and both get traffic', () => {
    const both = solutionOf(p, (_, o) => (o.region === 'us-east' && !o.spot ? 2 : 0));
    const { run, scenario } = recordsOf(loaded, p, both, 0, 'normal');
    expect(scenario.fleet.map((f) => f.name)).toEqual(['llama-3.1-8b-h100', 'llama-3.1-8b-a100']);
    const ids = run.replicas.map((r) => r.id);
    expect(new Set(ids).size).toBe(4);
    for (const profile of ['llama-3.1-8b-h100', 'llama-3.1-8b-a100']) {
      const mine = run.replicas.filter((r) => r.profile === profile);
      expect(mine.length).toBe(2);
      expect(mine.every((r) => r.requests > 0)).toBe(true);
    }
    const r = checkPlan(loaded, p, both, opts());
    expect(r.runs[0].utilisation.map((u) => u.offer)).toEqual(['us-east/llama-3.1-8b-h100', 'us-east/llama-3.1-8b-a100']);
    expect(r.runs[0].utilisation.every((u) => u.busy > 0 && u.replicas === 2)).toBe(true);
  });
});

describe('checkPlan: trace demand', () => {
  const TRACE = 'traces/AzureLLMInferenceTrace_conv.csv';

  it('replays a run of the trace rate-scaled to the hour\'s rate, from a start that moves with the hour', () => {
    const loaded = loadedOf([{ name: 'conv', region: 'us-east', ratesPerS: [12, 12], trace: TRACE }]);
    const p = problemOf(loaded);
    const s = solutionOf(p, sized(p));
    const h0 = recordsOf(loaded, p, s, 0, 'normal');
    const h1 = recordsOf(loaded, p, s, 1, 'normal');
    for (const h of [h0, h1]) {
      expect(h.run.requests.length / WINDOW_S).toBeGreaterThan(12 * 0.97);
      expect(h.run.requests.length / WINDOW_S).toBeLessThan(12 * 1.03);
      // the run fills the window: arrivals in its last tenth too
      expect(Math.max(...h.run.requests.map((q) => q.arrivalS))).toBeGreaterThan(WINDOW_S * 0.9);
    }
    const part = (c: typeof h0) => (c.scenario.workload.kind === 'mix' ? c.scenario.workload.parts[0] : null);
    expect(part(h0)).toMatchObject({ kind: 'azure', tenant: 'conv', model: MODEL });
    expect((part(h0) as { startS: number }).startS).not.toBe((part(h1) as { startS: number }).startS);
    // different seconds of the trace: not the same prompts in the same order
    expect(h0.run.requests.slice(0, 20).map((q) => q.promptLen)).not.toEqual(h1.run.requests.slice(0, 20).map((q) => q.promptLen));
  });

  it('a window that needs more rows than the trace has is shared by several runs from different starts', () => {
    const windowS = 3_600;
    const loaded = loadedOf([{ name: 'conv', region: 'us-east', ratesPerS: [30], trace: TRACE }]);
    const p = problemOf(loaded);
    const c = checkScenarioOf(loaded, p, solutionOf(p, (_, o) => (o.id === 'us-east/llama-3.1-8b-h100' ? 1 : 0)), 0, 'normal', { windowS, seed: 1 })!;
    const parts = c.scenario.workload.kind === 'mix' ? c.scenario.workload.parts : [];
    expect(parts.length).toBeGreaterThan(1);
    expect(new Set(parts.map((x) => (x as { startS: number }).startS)).size).toBe(parts.length);
    // the arrivals themselves, without simulating them: the hour's rate over the hour
    let n = 0;
    const w = fromSpec(c.scenario.workload, { baseDir: ROOT, seed: 1 });
    while (w.next() !== null) n++;
    expect(n / windowS).toBeGreaterThan(30 * 0.99);
    expect(n / windowS).toBeLessThan(30 * 1.01);
  });
});

describe('checkHours', () => {
  const loaded = loadedOf([
    { name: 'us-chat', region: 'us-east', ratesPerS: [5, 9, 7, 3] },
    { name: 'eu-chat', region: 'eu-west', ratesPerS: [8, 2, 1, 6] },
  ]);
  const p = problemOf(loaded);

  it('all: every hour of the horizon', () => {
    expect(checkHours(loaded.plan, p, 'all')).toEqual([0, 1, 2, 3]);
  });

  it('peak: each region\'s busiest hour and the quietest hour of the horizon, once each, in order', () => {
    // us-east peaks at 1, eu-west at 0; the total (13, 11, 8, 9) is lowest at 2
    expect(checkHours(loaded.plan, p, 'peak')).toEqual([0, 1, 2]);
  });

  it('a list: as given', () => {
    expect(checkHours(loaded.plan, p, [3, 1])).toEqual([3, 1]);
  });
});

describe('simulator pools named apart', () => {
  const base = {
    name: 'named', durationS: 10, regions: [{ name: 'us-east' }],
    workload: { kind: 'poisson', ratePerS: 1, prompt: 100, output: 10 },
  };

  it('a pool without a name keeps the REGION/MODEL/INDEX ids; a named one is REGION/MODEL#NAME/INDEX', () => {
    expect(poolReplicaId({ region: 'us-east', model: 'm' }, 2)).toBe('us-east/m/2');
    expect(poolReplicaId({ region: 'us-east', model: 'm', version: 'v2' }, 0)).toBe('us-east/m@v2/0');
    expect(poolReplicaId({ region: 'us-east', model: 'm', name: 'a100' }, 1)).toBe('us-east/m#a100/1');
    expect(poolReplicaId({ region: 'us-east', model: 'm', version: 'v2', name: 'a100' }, 1)).toBe('us-east/m@v2#a100/1');
  });

  it('two unnamed pools of one model in one region are refused: their ids would collide', () => {
    const fleet = [{ region: 'us-east', model: MODEL, profile: 'llama-3.1-8b-h100', replicas: 1 }, { region: 'us-east', model: MODEL, profile: 'llama-3.1-8b-a100', replicas: 1 }];
    expect(() => parseScenario({ ...base, fleet })).toThrow(/fleet\.1\.name: pools 0 and 1 serve llama-3\.1-8b in us-east and have no name, .*give each its own `name`/);
    expect(() => parseScenario({ ...base, fleet: fleet.map((f) => ({ ...f, name: 'x' })) })).toThrow(/are both named "x"/);
    expect(() => parseScenario({ ...base, fleet: [fleet[0], { ...fleet[1], name: 'a100' }] })).not.toThrow();
  });

  it('a fault names a named pool\'s replica by its id', () => {
    const fleet = [{ region: 'us-east', model: MODEL, profile: 'llama-3.1-8b-a100', replicas: 1, name: 'a100' }];
    expect(() => parseScenario({ ...base, fleet, faults: [{ kind: 'crash', atS: 1, replica: 'us-east/llama-3.1-8b#a100/0' }] })).not.toThrow();
    expect(() => parseScenario({ ...base, fleet, faults: [{ kind: 'crash', atS: 1, replica: 'us-east/llama-3.1-8b/0' }] })).toThrow(/no replica/);
  });
});

describe('checkPlan on a loaded plan (PLAN.yaml → streams → problem)', () => {
  it('checks every hour in every failure scenario, and a fleet sized by the problem\'s capacities serves it', () => {
    const loaded = loadPlan(resolve(ROOT, 'test/control/planner/fixtures/small.yaml'));
    const streams = streamsOf(loaded);
    const p = buildProblem(loaded, streams, { mode: { fleet: 'hourly', local: false } });
    // per stream, the origin's offer with the most capacity for its buckets, enough for its rate
    const table = Array.from({ length: p.hours }, () => p.offers.map(() => 0));
    p.streams.forEach((s, si) => {
      const mine = p.offers.map((o, oi) => ({ o, oi })).filter(({ o }) => o.region === s.origin);
      const best = mine.reduce((a, b) => (Math.min(...p.capacity[si].map((c) => c[b.oi])) > Math.min(...p.capacity[si].map((c) => c[a.oi])) ? b : a));
      for (let h = 0; h < p.hours; h++) table[h][best.oi] += Math.ceil(s.buckets.reduce((a, b, bi) => a + (b.share * s.ratesPerS[h]) / p.capacity[si][bi][best.oi], 0));
    });
    const solution: PlanSolution = { status: 'optimal', message: null, replicas: table, usd: 0, gpuHours: 0, routes: [], unprotected: [], solveMs: 0 };
    const c = loaded.plan.check;
    const hours = checkHours(loaded.plan, p, c.hours);
    const r = checkPlan(loaded, p, solution, { hours, scenarios: p.scenarios, windowS: c.windowS, seed: loaded.plan.seed, target: c.attainment });
    expect(r.runs.length).toBe(hours.length * p.scenarios.length);
    for (const run of r.runs.filter((x) => x.scenario === 'normal')) {
      for (const s of run.streams) {
        const rate = p.streams.find((x) => x.id === s.stream)!.ratesPerS[run.hour];
        expect(s.requests).toBeGreaterThan(rate * c.windowS * 0.9 * 0.6);
        expect(s.requests).toBeLessThan(rate * c.windowS * 0.9 * 1.4);
      }
    }
    // the lost region's streams are carried by the other region too (a fleet sized for the normal world, with headroom)
    expect(r.failureAttainment!).toBeGreaterThan(0.9);
    expect(r.attainment).toBeGreaterThanOrEqual(0.95);
  });
});
