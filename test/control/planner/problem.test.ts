import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replicaCapacity, replicaLatency } from '../../../src/control/autoscaler/capacity.js';
import { streamsOf } from '../../../src/control/planner/demand.js';
import { applyWhatIf, buildProblem, DEFAULT_REPLACE_S, offerWarnings, scenariosOf, whatIfName } from '../../../src/control/planner/problem.js';
import { loadPlan, parsePlan, type LoadedPlan, type PlanSpec, type PlanSpecInput } from '../../../src/control/planner/spec.js';
import type { PlanMode, PlanProblem } from '../../../src/control/planner/types.js';
import { PROFILES, profileNames } from '../../../src/engine/profiles.js';

// The problem is the solver's whole world: an offer that is not priced must not exist, a replica
// must not be credited with requests it cannot serve within the SLO as the client sees it (network
// included), and a what-if must change exactly what it says.

const HOURLY: PlanMode = { fleet: 'hourly', local: false };
const H100 = 'llama-3.1-8b-h100';
const A100 = 'llama-3.1-8b-a100';

type Input = PlanSpecInput;

function base(): Input {
  return {
    name: 't',
    hours: 2,
    regions: [
      { name: 'us', latencyMs: { eu: 40, ap: 150 }, gpuBudget: 10 },
      { name: 'eu', gpuBudget: { 'H100-SXM-80GB': 4 } },
      { name: 'ap' },
    ],
    hardware: [
      { profile: H100, model: 'm', usdPerGpuHour: { us: 3, eu: 3.5 } },
      { profile: A100, model: 'm', usdPerGpuHour: 1.8 },
      { profile: 'llama-2-70b-h100-tp2', model: 'big', usdPerGpuHour: { us: 3 } },
    ],
    tiers: { fast: { ttftMs: 400, itlMs: 60 }, slow: { ttftMs: 10_000, itlMs: 200 } },
    demand: [
      { name: 'us-chat', region: 'us', model: 'm', tier: 'fast', requests: { kind: 'lengths', prompt: 1500, output: 200 }, rate: { ratesPerS: [2, 3] } },
      { name: 'eu-big', region: 'eu', model: 'big', tier: 'slow', requests: { kind: 'lengths', prompt: 1000, output: 200 }, rate: { ratesPerS: [1, 1] } },
    ],
  };
}

function build(raw: Input, mode: PlanMode = HOURLY, gpuTypes: string[] | null = null): { loaded: LoadedPlan; p: PlanProblem } {
  const loaded = { plan: parsePlan(raw), baseDir: '.' };
  return { loaded, p: buildProblem(loaded, streamsOf(loaded), { mode, gpuTypes }) };
}

const offerIndex = (p: PlanProblem, id: string) => {
  const i = p.offers.findIndex((o) => o.id === id);
  expect(i, `no offer ${id}`).toBeGreaterThanOrEqual(0);
  return i;
};
const streamIndex = (p: PlanProblem, id: string) => p.streams.findIndex((s) => s.id === id);

describe('offers', () => {
  it('exist only where priced, named REGION/PROFILE, with the profile’s GPU and GPUs per replica', () => {
    const { p } = build(base());
    expect(p.offers.map((o) => o.id)).toEqual([
      'us/llama-3.1-8b-h100', 'us/llama-3.1-8b-a100', 'us/llama-2-70b-h100-tp2',
      'eu/llama-3.1-8b-h100', 'eu/llama-3.1-8b-a100',
      'ap/llama-3.1-8b-a100',
    ]);
    const big = p.offers[offerIndex(p, 'us/llama-2-70b-h100-tp2')];
    expect(big).toMatchObject({ region: 'us', model: 'big', gpu: 'H100-SXM-80GB', gpus: 2, usdPerGpuHour: 3, spot: false, availability: 1 });
    expect(p.offers[offerIndex(p, 'eu/llama-3.1-8b-h100')].usdPerGpuHour).toBe(3.5);
  });

  it('spot offers: priced where stated, available less the preempted time (default: a cold start-up)', () => {
    const raw = base();
    raw.hardware[1].spot = { usdPerGpuHour: { eu: 0.7 }, preemptionsPerHour: 2 };
    raw.hardware[0].spot = { usdPerGpuHour: 1.2, preemptionsPerHour: 4, replaceS: 300 };
    const { p } = build(raw);
    const a = p.offers[offerIndex(p, 'eu/llama-3.1-8b-a100/spot')];
    expect(a).toMatchObject({ spot: true, usdPerGpuHour: 0.7, preemptionsPerHour: 2, replaceS: DEFAULT_REPLACE_S });
    expect(DEFAULT_REPLACE_S).toBeGreaterThan(10);
    expect(a.availability).toBeCloseTo(1 - (2 * DEFAULT_REPLACE_S) / 3600, 12);
    expect(p.offers.filter((o) => o.id.endsWith('a100/spot')).map((o) => o.region)).toEqual(['eu']);
    // spot with no on-demand price in ap is still spot there; 4 × 300 s of every hour lost
    expect(p.offers[offerIndex(p, 'ap/llama-3.1-8b-h100/spot')].availability).toBeCloseTo(1 - 1200 / 3600, 12);
    raw.hardware[0].spot = { usdPerGpuHour: 1, preemptionsPerHour: 60, replaceS: 3600 };
    expect(build(raw).p.offers.filter((o) => o.spot && o.profile === H100).every((o) => o.availability === 0)).toBe(true);
  });

  it('keeps only the listed GPU types', () => {
    const { p } = build(base(), HOURLY, ['A100-SXM-80GB']);
    expect(p.offers.map((o) => o.id)).toEqual(['us/llama-3.1-8b-a100', 'eu/llama-3.1-8b-a100', 'ap/llama-3.1-8b-a100']);
    expect(p.capacity[0][0]).toHaveLength(3);
  });
});

describe('capacity', () => {
  it('is the engine model’s SLO capacity times the utilisation, with the TTFT less the network', () => {
    const raw = base();
    raw.utilisation = 0.8;
    const { p } = build(raw);
    const s = streamIndex(p, 'us-chat');
    const shape = { promptTokens: 1500, outputTokens: 200 };
    // in-region: a millisecond of round trips within the region
    const local = replicaCapacity(PROFILES[H100], {}, shape, { ttftMs: 399, itlMs: 60 }).requestsPerS;
    expect(p.capacity[s][0][offerIndex(p, 'us/llama-3.1-8b-h100')]).toBeCloseTo(local * 0.8, 9);
    // eu is 40 ms away: 80 ms of round trip
    const away = replicaCapacity(PROFILES[H100], {}, shape, { ttftMs: 400 - 80 - 1, itlMs: 60 }).requestsPerS;
    expect(p.capacity[s][0][offerIndex(p, 'eu/llama-3.1-8b-h100')]).toBeCloseTo(away * 0.8, 9);
  });

  it('scales with the utilisation ceiling', () => {
    const lo = base();
    lo.utilisation = 0.5;
    const hi = base();
    hi.utilisation = 1;
    const a = build(lo).p.capacity;
    const b = build(hi).p.capacity;
    let positive = 0;
    a.forEach((s, i) => s.forEach((bk, j) => bk.forEach((c, o) => {
      expect(c).toBeCloseTo(b[i][j][o] * 0.5, 12);
      if (c > 0) positive++;
    })));
    expect(positive).toBeGreaterThan(3);
  });

  it('is lower, or zero, in a farther region for a tight TTFT tier', () => {
    const { p } = build(base());
    const s = streamIndex(p, 'us-chat');
    const c = (id: string) => p.capacity[s][0][offerIndex(p, id)];
    // A100 in us, eu (40 ms) and ap (150 ms: 300 ms of a 400 ms budget)
    expect(c('us/llama-3.1-8b-a100')).toBeGreaterThan(c('eu/llama-3.1-8b-a100'));
    expect(c('eu/llama-3.1-8b-a100')).toBeGreaterThan(c('ap/llama-3.1-8b-a100'));
    expect(c('us/llama-3.1-8b-h100')).toBeGreaterThan(c('eu/llama-3.1-8b-h100'));
  });

  it('is zero once the network alone spends the TTFT budget', () => {
    const raw = base();
    raw.regions[0].latencyMs = { eu: 40, ap: 250 };
    const { p } = build(raw);
    expect(p.capacity[streamIndex(p, 'us-chat')][0][offerIndex(p, 'ap/llama-3.1-8b-a100')]).toBe(0);
  });

  it('takes an unstated pair’s latency as the largest stated one', () => {
    // eu↔ap is unstated: the largest stated (us↔ap, 150 ms); stating it as 150 changes nothing, 60 does
    const raw = base();
    raw.demand[0].region = 'eu';
    raw.tiers.fast.ttftMs = 600;
    const at = (ms: number | null) => {
      const r = structuredClone(raw);
      if (ms !== null) r.regions[1].latencyMs = { ap: ms };
      const { p } = build(r);
      return p.capacity[streamIndex(p, 'us-chat')][0][offerIndex(p, 'ap/llama-3.1-8b-a100')];
    };
    expect(at(null)).toBeGreaterThan(0);
    expect(at(null)).toBe(at(150));
    expect(at(60)).toBeGreaterThan(at(150));
  });

  it('is zero for an offer of another model', () => {
    const { p } = build(base());
    const s = streamIndex(p, 'eu-big');
    p.offers.forEach((o, i) => {
      if (o.model !== 'big') expect(p.capacity[s][0][i]).toBe(0);
      else expect(p.capacity[s][0][i]).toBeGreaterThan(0);
    });
    expect(p.capacity[streamIndex(p, 'us-chat')][0][offerIndex(p, 'us/llama-2-70b-h100-tp2')]).toBe(0);
  });

  it('is zero for a bucket longer than the context, where a longer context serves it', () => {
    const raw = base();
    raw.hardware[1].engine = { maxModelLen: 4096 };
    raw.demand[0].requests = { kind: 'lengths', prompt: 5000, output: 100 };
    raw.tiers.fast.ttftMs = 5000;
    const { p } = build(raw);
    const s = streamIndex(p, 'us-chat');
    expect(p.capacity[s][0][offerIndex(p, 'us/llama-3.1-8b-a100')]).toBe(0);
    expect(p.capacity[s][0][offerIndex(p, 'us/llama-3.1-8b-h100')]).toBeGreaterThan(0);
  });

  it('is zero where the SLO is out of reach even idle, and the true rate below the autoscaler’s floor', () => {
    const raw = base();
    raw.tiers.fast.itlMs = 1;
    expect(build(raw).p.capacity[0][0].every((c) => c === 0)).toBe(true);
    // a long prompt whose idle TTFT is just inside a tight budget: below 10 % prefill busy
    const near = base();
    near.demand[0].requests = { kind: 'lengths', prompt: 14_000, output: 40 };
    near.tiers.fast = { ttftMs: 1500, itlMs: 200 };
    near.utilisation = 1;
    const { p } = build(near);
    const c = p.capacity[0][0][offerIndex(p, 'us/llama-3.1-8b-h100')];
    const slo = { ttftMs: 1499, itlMs: 200 };
    const shape = { promptTokens: 14_000, outputTokens: 40 };
    expect(replicaCapacity(PROFILES[H100], {}, shape, slo).ttftMs).toBeGreaterThan(slo.ttftMs);
    expect(c).toBeGreaterThan(0);
    expect(replicaLatency(PROFILES[H100], {}, shape, c).ttftMs).toBeLessThanOrEqual(slo.ttftMs * (1 + 1e-8));
    expect(replicaLatency(PROFILES[H100], {}, shape, c * 1.01).ttftMs).toBeGreaterThan(slo.ttftMs);
  });

  it('honours residency, and keeps streams home in local mode', () => {
    const raw = base();
    raw.demand[0].residency = ['us', 'eu'];
    const r = build(raw).p;
    expect(r.capacity[0][0][offerIndex(r, 'ap/llama-3.1-8b-a100')]).toBe(0);
    expect(r.capacity[0][0][offerIndex(r, 'eu/llama-3.1-8b-a100')]).toBeGreaterThan(0);
    const l = build(base(), { fleet: 'static', local: true }).p;
    expect(l.mode).toEqual({ fleet: 'static', local: true });
    l.offers.forEach((o, i) => {
      if (o.region !== 'us') expect(l.capacity[0][0][i]).toBe(0);
    });
    expect(l.capacity[0][0][offerIndex(l, 'us/llama-3.1-8b-a100')]).toBeGreaterThan(0);
  });
});

describe('interference: what the size-blind gateway makes one request class do to another', () => {
  /** one region, one H100 offer, a tight chat stream and a long-prompt batch stream */
  function world(attainment = 0.99): Input {
    return {
      name: 't', hours: 1,
      regions: [{ name: 'us', latencyMs: { eu: 40 } }, { name: 'eu' }],
      hardware: [{ profile: H100, model: 'm', usdPerGpuHour: 3 }],
      tiers: { fast: { ttftMs: 1000, itlMs: 100 }, slow: { ttftMs: 20_000, itlMs: 200 } },
      buckets: { prompt: [2048], output: [512] },
      demand: [
        { name: 'chat', region: 'us', model: 'm', tier: 'fast', requests: { kind: 'lengths', prompt: 800, output: 100 }, rate: { ratesPerS: [4] } },
        { name: 'docs', region: 'us', model: 'm', tier: 'slow', requests: { kind: 'lengths', prompt: 40_000, output: 100 }, rate: { ratesPerS: [0.2] } },
      ],
      check: { attainment },
    };
  }

  it('prefill is the engine model’s: an idle replica’s TTFT less its first step', () => {
    const { p } = build(world());
    const o = offerIndex(p, 'us/llama-3.1-8b-h100');
    const docs = streamIndex(p, 'docs');
    const idle = replicaLatency(PROFILES[H100], {}, { promptTokens: 40_000, outputTokens: 100 }, 0);
    expect(p.prefillS[docs][0][o]).toBeCloseTo((idle.ttftMs - idle.stepMs) / 1000, 9);
    // a 40k-token prompt takes far longer than an 800-token one, and both are positive
    expect(p.prefillS[docs][0][o]).toBeGreaterThan(20 * p.prefillS[streamIndex(p, 'chat')][0][o]);
  });

  it('blocking is the long prefill beyond the tightest tier’s patience: (S − B)⁺ with B the TTFT less network, own prefill and step', () => {
    const { p } = build(world());
    const chat = streamIndex(p, 'chat');
    const docs = streamIndex(p, 'docs');
    for (const id of ['us/llama-3.1-8b-h100', 'eu/llama-3.1-8b-h100']) {
      const o = offerIndex(p, id);
      const idleChat = replicaLatency(PROFILES[H100], {}, { promptTokens: 800, outputTokens: 100 }, 0);
      // chat's clients are in us: 1 ms within a region, 81 ms to eu and back
      const net = id.startsWith('us') ? 1 : 81;
      const B = (1000 - net - idleChat.ttftMs) / 1000;
      expect(p.blocking[docs][0][o]).toBeCloseTo(Math.max(0, p.prefillS[docs][0][o] - B), 6);
      expect(p.blocking[docs][0][o]).toBeGreaterThan(0);
      // a short chat prompt stalls nobody: its prefill is well inside every class's patience
      expect(p.blocking[chat][0][o]).toBe(0);
    }
    // farther clients are less patient, so the same prefill blocks more there
    expect(p.blocking[docs][0][offerIndex(p, 'eu/llama-3.1-8b-h100')]).toBeGreaterThan(p.blocking[docs][0][offerIndex(p, 'us/llama-3.1-8b-h100')]);
  });

  it('weighs the tight stream’s classes by their share, so a rare long chat prompt does not set the patience', () => {
    const raw = world();
    raw.demand[0] = { ...raw.demand[0], requests: { kind: 'lengths', prompt: { kind: 'lognormal', p50: 600, p90: 1500, max: 8000 }, output: 100 } };
    const { p } = build(raw);
    const o = offerIndex(p, 'us/llama-3.1-8b-h100');
    const chat = p.streams[streamIndex(p, 'chat')];
    const docs = streamIndex(p, 'docs');
    const S = p.prefillS[docs][0][o];
    const expected = chat.buckets.reduce((a, b) => {
      const idle = replicaLatency(PROFILES[H100], {}, { promptTokens: Math.round(b.promptTokens), outputTokens: Math.max(1, Math.round(b.outputTokens)) }, 0);
      return a + b.share * Math.max(0, S - (1000 - 1 - idle.ttftMs) / 1000);
    }, 0);
    expect(chat.buckets.length).toBeGreaterThan(1);
    expect(p.blocking[docs][0][o]).toBeCloseTo(expected, 6);
  });

  it('allows blocking half the miss budget, and holds one GPU type per region unless the plan says otherwise', () => {
    expect(build(world(0.99)).p.blockingShare).toBeCloseTo(0.005, 12);
    expect(build(world(0.9)).p.blockingShare).toBeCloseTo(0.05, 12);
    expect(build(world()).p.mixTypesInRegion).toBe(false);
    // the plan key (spec.ts to come) restores the mix, for a gateway that routes each size to its type
    const plan = { ...parsePlan(world()), mixTypesInRegion: true };
    const loaded = { plan, baseDir: '.' };
    expect(buildProblem(loaded, streamsOf(loaded), { mode: HOURLY }).mixTypesInRegion).toBe(true);
  });

  it('is zero where the offer cannot serve the class at all', () => {
    const { p } = build(base());
    p.capacity.forEach((bs, s) => bs.forEach((os, b) => os.forEach((c, o) => {
      if (c === 0) {
        expect(p.blocking[s][b][o]).toBe(0);
        expect(p.prefillS[s][b][o]).toBe(0);
      }
    })));
  });
});

describe('offerWarnings: offers the solver can never buy are reported, not silently left out', () => {
  it('names an offer whose context is too short for every request that may reach it', () => {
    const raw = base();
    raw.hardware[1].engine = { maxModelLen: 4096 };
    raw.demand[0].requests = { kind: 'lengths', prompt: 5000, output: 100 };
    raw.tiers.fast.ttftMs = 5000;
    const { loaded, p } = build(raw);
    const w = offerWarnings(loaded, p);
    // the A100 is priced in all three regions and can serve none of it anywhere
    for (const r of ['us', 'eu', 'ap']) expect(w).toContain(`${r}/llama-3.1-8b-a100 can serve none of the m demand that may reach it (every request class is too long for its context or KV cache): it is never bought`);
    expect(w.some((x) => x.includes('llama-3.1-8b-h100'))).toBe(false);
  });

  it('names an offer too slow for the tier once the network is taken off, and says nothing of offers that serve', () => {
    const raw = base();
    // 400 ms TTFT: ap is 150 ms one way from us, so 300 ms of it goes to the network
    raw.demand[0].requests = { kind: 'lengths', prompt: 6000, output: 200 };
    const { loaded, p } = build(raw);
    const w = offerWarnings(loaded, p);
    const ap = p.offers.findIndex((o) => o.id === 'ap/llama-3.1-8b-a100');
    expect(p.capacity[streamIndex(p, 'us-chat')].every((row) => row[ap] === 0)).toBe(true);
    expect(w).toContain("ap/llama-3.1-8b-a100 can serve none of the m demand that may reach it (it misses the tiers' TTFT/ITL even idle, once the network from the clients is taken off): it is never bought");
    expect(w.some((x) => x.startsWith('us/llama-3.1-8b-h100'))).toBe(false);
    expect(w.some((x) => x.startsWith('eu-big') || x.includes('llama-2-70b'))).toBe(false);
  });

  it('names hardware whose model no demand asks for, and is empty for a plan where every offer serves', () => {
    const raw = base();
    raw.demand = raw.demand.filter((d) => d.model === 'm');
    raw.tiers.fast.ttftMs = 2000; // every offer of m can meet it from us
    const { loaded, p } = build(raw);
    expect(offerWarnings(loaded, p)).toEqual(['llama-2-70b-h100-tp2 serves big, which no demand entry asks for: it is never bought']);
    const fixture = loadPlan(join(import.meta.dirname, 'fixtures', 'small.yaml'));
    expect(offerWarnings(fixture, buildProblem(fixture, streamsOf(fixture), { mode: HOURLY }))).toEqual([]);
  });
});

describe('budgets and scenarios', () => {
  it('map regions’ GPU budgets: a total, or per type with an unlisted type at zero', () => {
    const { p } = build(base());
    expect(p.budgets).toEqual([
      { region: 'us', gpuTypes: null, gpus: 10 },
      { region: 'eu', gpuTypes: ['H100-SXM-80GB'], gpus: 4 },
      { region: 'eu', gpuTypes: ['A100-SXM-80GB'], gpus: 0 },
    ]);
  });

  it('add every region lost when the plan must survive any one', () => {
    const raw = base();
    expect(build(raw).p.scenarios).toEqual(['normal']);
    raw.failure = { survive: 'any-region' };
    expect(build(raw).p.scenarios).toEqual(['normal', 'lost:us', 'lost:eu', 'lost:ap']);
    expect(scenariosOf(parsePlan(raw))).toEqual(['normal', 'lost:us', 'lost:eu', 'lost:ap']);
  });

  it('keep the horizon, regions and streams', () => {
    const { p } = build(base());
    expect(p.hours).toBe(2);
    expect(p.regions).toEqual(['us', 'eu', 'ap']);
    expect(p.streams.map((s) => s.id)).toEqual(['us-chat', 'eu-big']);
    expect(p.capacity).toHaveLength(2);
    expect(p.capacity[0]).toHaveLength(p.streams[0].buckets.length);
  });
});

describe('what-ifs', () => {
  const plan = (): PlanSpec => {
    const raw = base();
    raw.failure = { survive: 'any-region' };
    raw.hardware[1].spot = { usdPerGpuHour: 0.9, preemptionsPerHour: 1 };
    raw.demand[1].rate = { peakPerS: 4, trough: 0.5, peakAtHour: 3 };
    return parsePlan(raw);
  };
  /** the plan with the keys a what-if may touch removed, to compare the rest */
  const rest = (p: PlanSpec, ...keys: (keyof PlanSpec)[]) => JSON.stringify(Object.fromEntries(Object.entries(p).filter(([k]) => !keys.includes(k as keyof PlanSpec))));
  const offers = (p: PlanSpec) => buildProblem({ plan: p, baseDir: '.' }, streamsOf({ plan: p, baseDir: '.' }), { mode: HOURLY }).offers;

  it('region lost: the region offers nothing, keeps its clients, and plans for no further loss', () => {
    const p = plan();
    const w = applyWhatIf(p, { kind: 'region-lost', region: 'eu' });
    const before = offers(p);
    const after = offers(w);
    expect(after.some((o) => o.region === 'eu')).toBe(false);
    expect(after).toEqual(before.filter((o) => o.region !== 'eu'));
    expect(w.demand).toEqual(p.demand);
    expect(w.regions).toEqual(p.regions);
    expect(w.failure.survive).toBe('none');
    expect(rest(w, 'hardware', 'failure')).toBe(rest(p, 'hardware', 'failure'));
    expect(whatIfName({ kind: 'region-lost', region: 'eu' })).toBe('eu lost');
  });

  it('region lost: demand its residency holds there is lost with it, the rest stays', () => {
    const p = plan();
    const pinned = { ...p, demand: p.demand.map((d, i) => (i === 0 ? { ...d, residency: [d.region] } : d)) };
    const gone = pinned.demand[0];
    const w = applyWhatIf(pinned, { kind: 'region-lost', region: gone.region });
    expect(w.demand.map((d) => d.name)).toEqual(pinned.demand.slice(1).map((d) => d.name));
    const other = applyWhatIf(pinned, { kind: 'region-lost', region: pinned.regions.find((r) => r.name !== gone.region)!.name });
    expect(other.demand.map((d) => d.name)).toEqual(pinned.demand.map((d) => d.name));
  });

  it('demand: every rate (or one region’s) times the factor', () => {
    const p = plan();
    const all = applyWhatIf(p, { kind: 'demand', factor: 1.5 });
    const a = streamsOf({ plan: p, baseDir: '.' });
    const b = streamsOf({ plan: all, baseDir: '.' });
    b.forEach((s, i) => {
      s.ratesPerS.forEach((r, h) => expect(r).toBeCloseTo(a[i].ratesPerS[h] * 1.5, 12));
      expect(s.buckets).toEqual(a[i].buckets);
    });
    const eu = streamsOf({ plan: applyWhatIf(p, { kind: 'demand', factor: 2, region: 'eu' }), baseDir: '.' });
    expect(eu[0].ratesPerS).toEqual(a[0].ratesPerS);
    eu[1].ratesPerS.forEach((r, h) => expect(r).toBeCloseTo(a[1].ratesPerS[h] * 2, 12));
    expect(rest(all, 'demand')).toBe(rest(p, 'demand'));
    expect(whatIfName({ kind: 'demand', factor: 1.5 })).toBe('demand ×1.5');
  });

  it('price: that offer’s price, added where it was not offered', () => {
    const p = plan();
    const cheaper = offers(applyWhatIf(p, { kind: 'price', region: 'eu', profile: H100, usdPerGpuHour: 2 }));
    const before = offers(p);
    expect(cheaper.find((o) => o.id === 'eu/llama-3.1-8b-h100')?.usdPerGpuHour).toBe(2);
    expect(cheaper.filter((o) => o.id !== 'eu/llama-3.1-8b-h100')).toEqual(before.filter((o) => o.id !== 'eu/llama-3.1-8b-h100'));
    const added = offers(applyWhatIf(p, { kind: 'price', region: 'ap', profile: H100, usdPerGpuHour: 2.5 }));
    expect(added).toHaveLength(before.length + 1);
    expect(added.find((o) => o.id === 'ap/llama-3.1-8b-h100')).toMatchObject({ usdPerGpuHour: 2.5, spot: false });
    expect(rest(applyWhatIf(p, { kind: 'price', region: 'ap', profile: H100, usdPerGpuHour: 2.5 }), 'hardware')).toBe(rest(p, 'hardware'));
  });

  it('spot: offers at a share of the on-demand price, with the preemptions given', () => {
    const p = plan();
    const w = applyWhatIf(p, { kind: 'spot', profile: H100, priceFactor: 0.4, preemptionsPerHour: 3, replaceS: 120 });
    const after = offers(w);
    const spot = after.filter((o) => o.spot && o.profile === H100);
    expect(spot.map((o) => o.id)).toEqual(['us/llama-3.1-8b-h100/spot', 'eu/llama-3.1-8b-h100/spot']);
    expect(spot.map((o) => o.usdPerGpuHour)).toEqual([3 * 0.4, 3.5 * 0.4]);
    for (const o of spot) expect(o.availability).toBeCloseTo(1 - (3 * 120) / 3600, 12);
    expect(after.filter((o) => !(o.spot && o.profile === H100))).toEqual(offers(p));
    const one = offers(applyWhatIf(p, { kind: 'spot', profile: H100, region: 'eu', priceFactor: 0.5, preemptionsPerHour: 1 }));
    expect(one.filter((o) => o.spot && o.profile === H100).map((o) => [o.id, o.replaceS])).toEqual([['eu/llama-3.1-8b-h100/spot', DEFAULT_REPLACE_S]]);
    expect(whatIfName({ kind: 'spot', profile: H100, priceFactor: 0.4, preemptionsPerHour: 3 })).toMatch(/spot llama-3.1-8b-h100 .*0.4.*3 preemptions/);
  });

  it('leave the plan they are given untouched, and keep a given name', () => {
    const p = plan();
    const copy = JSON.stringify(p);
    for (const w of [
      { kind: 'region-lost', region: 'us' },
      { kind: 'demand', factor: 3 },
      { kind: 'price', region: 'us', profile: A100, usdPerGpuHour: 0.1 },
      { kind: 'spot', profile: A100, priceFactor: 0.2, preemptionsPerHour: 1 },
    ] as const) applyWhatIf(p, w);
    expect(JSON.stringify(p)).toBe(copy);
    expect(whatIfName({ kind: 'demand', factor: 3, name: 'Black Friday' })).toBe('Black Friday');
  });
});

describe('the example fixture', () => {
  it('builds: 2 regions, 2 profiles, 2 streams, 3 hours, surviving a region lost', () => {
    const loaded = loadPlan(join(import.meta.dirname, 'fixtures', 'small.yaml'));
    const p = buildProblem(loaded, streamsOf(loaded), { mode: HOURLY });
    expect(p.hours).toBe(3);
    expect(p.regions).toHaveLength(2);
    expect(new Set(p.offers.map((o) => o.profile)).size).toBe(2);
    expect(p.streams).toHaveLength(2);
    expect(p.scenarios).toEqual(['normal', 'lost:us-east', 'lost:eu-west']);
    // every bucket is servable by some offer
    for (const s of p.capacity) for (const b of s) expect(Math.max(...b)).toBeGreaterThan(0);
    expect(loaded.plan.whatIfs.map((w) => w.kind).sort()).toEqual(['demand', 'price', 'region-lost', 'spot']);
  });
});

describe('build time', () => {
  it('3 regions × 3 profiles × 6 streams × ~8 buckets build in under a second', () => {
    const eights = profileNames().filter((n) => n.startsWith('llama-3.1-8b-')).slice(0, 3);
    const profiles = eights.length === 3 ? eights : [...eights, 'llama-2-70b-a100-tp2'].slice(0, 3);
    const regions = ['us', 'eu', 'ap'];
    const raw: Input = {
      name: 'big', hours: 24,
      regions: [{ name: 'us', latencyMs: { eu: 40, ap: 140 } }, { name: 'eu', latencyMs: { ap: 110 } }, { name: 'ap' }],
      hardware: profiles.map((profile, i) => ({ profile, model: 'm', usdPerGpuHour: 1 + i })),
      tiers: { fast: { ttftMs: 1000, itlMs: 50 }, slow: { ttftMs: 5000, itlMs: 120 } },
      demand: regions.flatMap((region, i) => [
        { name: `${region}-chat`, region, model: 'm', tier: 'fast', requests: { kind: 'lengths' as const, prompt: { kind: 'lognormal' as const, p50: 1000, p90: 4000 }, output: { kind: 'lognormal' as const, p50: 200, p90: 600 } }, rate: { peakPerS: 20, trough: 0.3, peakAtHour: (14 + 8 * i) % 24 } },
        { name: `${region}-docs`, region, model: 'm', tier: 'slow', requests: { kind: 'lengths' as const, prompt: { kind: 'lognormal' as const, p50: 8000, p90: 30000, max: 100000 }, output: { kind: 'lognormal' as const, p50: 300, p90: 900 } }, rate: { peakPerS: 5, trough: 0.3, peakAtHour: (15 + 8 * i) % 24 } },
      ]),
      failure: { survive: 'any-region' },
    };
    const loaded = { plan: parsePlan(raw), baseDir: '.' };
    const streams = streamsOf(loaded);
    const buckets = streams.reduce((a, s) => a + s.buckets.length, 0) / streams.length;
    expect(buckets).toBeGreaterThanOrEqual(7);
    const t0 = performance.now();
    const p = buildProblem(loaded, streams, { mode: HOURLY });
    const ms = performance.now() - t0;
    expect(p.offers).toHaveLength(9);
    expect(ms).toBeLessThan(1000);
  });
});
