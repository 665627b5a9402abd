import { describe, expect, it } from 'vitest';
import { solvePlan } from '../../../src/control/planner/solve.js';
import type { Budget, FailureScenario, Offer, PlanMode, PlanProblem, PlanSolution, Stream } from '../../../src/control/planner/types.js';
import { RandomStream } from '../../../src/sim/workload/rng.js';

// The solver must return the cheapest fleet that carries every stream in every failure scenario,
// so these specifications compare it with answers found another way: exhaustive search over small
// fleets, and worlds whose optimum follows from the prices alone.

const HOURLY: PlanMode = { fleet: 'hourly', local: false };

function offer(region: string, profile: string, usdPerGpuHour: number, o: Partial<Offer> = {}): Offer {
  return {
    id: `${region}/${profile}${o.spot ? '/spot' : ''}`, region, profile, model: 'm', gpu: profile, gpus: 1, usdPerGpuHour,
    spot: false, availability: 1, preemptionsPerHour: 0, replaceS: 0, ...o,
  };
}

function stream(id: string, origin: string, ratesPerS: number[], o: Partial<Stream> = {}): Stream {
  return {
    id, origin, model: 'm', tier: 't', allowed: [origin], ratesPerS,
    buckets: [{ id: 'all', share: 1, promptTokens: 1000, outputTokens: 200 }], ...o,
  };
}

function problem(o: Partial<PlanProblem> & Pick<PlanProblem, 'offers' | 'streams' | 'capacity'>): PlanProblem {
  const regions = o.regions ?? [...new Set([...o.offers.map((of) => of.region), ...o.streams.map((s) => s.origin)])];
  // no interference unless a test states it: the rows under test elsewhere in this file stay alone
  const zeros = o.capacity.map((bs) => bs.map((os) => os.map(() => 0)));
  return {
    hours: o.streams[0].ratesPerS.length, regions, budgets: [], scenarios: ['normal'], mode: HOURLY,
    prefillS: zeros, blocking: zeros, blockingShare: 0.005, mixTypesInRegion: true, ...o,
  };
}

/** replicas of each offer summed over the hours */
const held = (s: PlanSolution, o: number) => s.replicas.reduce((a, row) => a + row[o], 0);

/** req/s routed per (scenario, hour, stream) must equal the stream's rate */
function expectDemandMet(p: PlanProblem, s: PlanSolution, skip: (f: FailureScenario, stream: number) => boolean = () => false) {
  for (const f of p.scenarios) {
    for (let h = 0; h < p.hours; h++) {
      p.streams.forEach((st, si) => {
        if (skip(f, si)) return;
        const routed = s.routes.filter((r) => r.scenario === f && r.hour === h && r.stream === si).reduce((a, r) => a + r.ratePerS, 0);
        expect(routed).toBeCloseTo(st.ratesPerS[h], 6);
      });
    }
  }
}

/** every (scenario, hour, offer)'s routed load fits the replicas held */
function expectCapacityHeld(p: PlanProblem, s: PlanSolution) {
  for (const f of p.scenarios) {
    for (let h = 0; h < p.hours; h++) {
      p.offers.forEach((of, o) => {
        const load = s.routes.filter((r) => r.scenario === f && r.hour === h && r.offer === o).reduce((a, r) => a + r.ratePerS / p.capacity[r.stream][r.bucket][o], 0);
        expect(load).toBeLessThanOrEqual(s.replicas[h][o] * of.availability + 1e-6);
        if (f !== 'normal' && f.slice(5) === of.region) expect(load).toBe(0);
      });
    }
  }
}

// ---- exhaustive search, independent of the solver ----------------------------------------------
// With two offers, whether a fleet carries a set of demand items (each may split between the offers
// it is allowed on) is a fractional knapsack: start every flexible item on B and move to A first
// what saves B the most per unit of A, until A is full.

interface Item { readonly a: number | null; readonly b: number | null } // replicas it needs on A / on B alone

function fits(items: readonly Item[], capA: number, capB: number): boolean {
  let loadA = 0;
  let loadB = 0;
  const flex: { a: number; b: number }[] = [];
  for (const it of items) {
    if (it.a === null && it.b === null) return false;
    if (it.b === null) loadA += it.a!;
    else if (it.a === null) loadB += it.b;
    else flex.push({ a: it.a, b: it.b });
  }
  const eps = 1e-9;
  if (loadA > capA + eps) return false;
  for (const f of flex) loadB += f.b;
  flex.sort((x, y) => y.b / y.a - x.b / x.a);
  for (const f of flex) {
    if (loadB <= capB + eps) break;
    const room = capA - loadA;
    if (room <= 0) break;
    const t = Math.min(1, room / f.a, (loadB - capB) / f.b);
    loadA += t * f.a;
    loadB -= t * f.b;
  }
  return loadB <= capB + eps;
}

/** the cheapest (nA, nB) by enumeration, for a problem with exactly two offers */
function bruteForce(p: PlanProblem, maxN: number): number | null {
  const [A, B] = p.offers;
  const scenarioItems = (f: FailureScenario, h: number): Item[] => {
    const lost = f === 'normal' ? null : f.slice(5);
    const items: Item[] = [];
    p.streams.forEach((st, s) => {
      const allowed = st.allowed.filter((r) => !p.mode.local || r === st.origin);
      if (lost !== null && allowed.every((r) => r === lost)) return;
      st.buckets.forEach((bk, b) => {
        const d = st.ratesPerS[h] * bk.share;
        if (d <= 0) return;
        const need = (of: Offer, o: number) => (p.capacity[s][b][o] > 0 && allowed.includes(of.region) && of.region !== lost ? d / p.capacity[s][b][o] : null);
        items.push({ a: need(A, 0), b: need(B, 1) });
      });
    });
    return items;
  };
  const withinBudget = (nA: number, nB: number) => p.budgets.every((bu) => {
    const count = (of: Offer, n: number) => (of.region === bu.region && (bu.gpuTypes === null || bu.gpuTypes.includes(of.gpu)) ? of.gpus * n : 0);
    return count(A, nA) + count(B, nB) <= bu.gpus;
  });
  const price = (nA: number, nB: number) => nA * A.gpus * A.usdPerGpuHour + nB * B.gpus * B.usdPerGpuHour;
  const cheapest = (hours: number[]): number | null => {
    let best: number | null = null;
    for (let nA = 0; nA <= maxN; nA++) {
      for (let nB = 0; nB <= maxN; nB++) {
        if (!withinBudget(nA, nB)) continue;
        const ok = hours.every((h) => p.scenarios.every((f) => fits(scenarioItems(f, h), nA * A.availability, nB * B.availability)));
        if (ok && (best === null || price(nA, nB) < best)) best = price(nA, nB);
      }
    }
    return best;
  };
  const all = Array.from({ length: p.hours }, (_, h) => h);
  if (p.mode.fleet === 'static') {
    const c = cheapest(all);
    return c === null ? null : c * p.hours;
  }
  let total = 0;
  for (const h of all) {
    const c = cheapest([h]);
    if (c === null) return null;
    total += c;
  }
  return total;
}

function randomProblem(rng: RandomStream): PlanProblem {
  const regions = ['r0', 'r1'];
  const gpusA = 1 + rng.int(2);
  const offers = [
    offer('r0', 'pa', Math.round((1 + 3 * rng.float()) * 100) / 100, { gpus: gpusA, availability: rng.float() < 0.3 ? 0.9 : 1 }),
    offer(regions[rng.int(2)], 'pb', Math.round((1 + 3 * rng.float()) * 100) / 100),
  ];
  if (offers[1].region === 'r0') offers[1] = { ...offers[1], id: 'r0/pb' };
  const hours = 1 + rng.int(3);
  const streams: Stream[] = [];
  const nStreams = 1 + rng.int(2);
  for (let s = 0; s < nStreams; s++) {
    const origin = regions[rng.int(2)];
    const nb = 1 + rng.int(2);
    const shares = nb === 1 ? [1] : [0.3 + 0.4 * rng.float()].flatMap((x) => [x, 1 - x]);
    streams.push(stream(`s${s}`, origin, Array.from({ length: hours }, () => Math.round(rng.float() * 200) / 10), {
      allowed: rng.float() < 0.7 ? [origin, ...regions.filter((r) => r !== origin)] : [origin],
      buckets: shares.map((share, b) => ({ id: `b${b}`, share, promptTokens: 500 * (b + 1), outputTokens: 100 })),
    }));
  }
  // each (stream, bucket) servable by at least one offer, sometimes only one
  const capacity = streams.map((st) => st.buckets.map(() => {
    const c = [0.5 + 4 * rng.float(), 0.5 + 4 * rng.float()];
    const r = rng.float();
    if (r < 0.15) c[0] = 0;
    else if (r < 0.3) c[1] = 0;
    return c;
  }));
  const scenarios: FailureScenario[] = rng.float() < 0.4 ? ['normal', 'lost:r0', 'lost:r1'] : ['normal'];
  const budgets: Budget[] = rng.float() < 0.5 ? [{ region: 'r0', gpuTypes: rng.float() < 0.5 ? null : ['pa'], gpus: 4 + rng.int(10) }] : [];
  const mode: PlanMode = { fleet: rng.float() < 0.3 ? 'static' : 'hourly', local: rng.float() < 0.2 };
  return problem({ regions, offers, streams, capacity, scenarios, budgets, mode, hours });
}

describe('solvePlan', () => {
  it('finds the fleet an exhaustive search finds cheapest, on random small worlds', async () => {
    const rng = new RandomStream(15);
    let feasible = 0;
    let infeasible = 0;
    for (let i = 0; i < 40; i++) {
      const p = randomProblem(rng.fork(i));
      // the reference routes freely (a router that follows the plan)
      const s = await solvePlan(p, { normalRouting: 'free' });
      const best = bruteForce(p, 30);
      if (best === null) {
        expect(s.status, `world ${i}`).toBe('infeasible');
        infeasible++;
        continue;
      }
      expect(s.status, `world ${i}: ${s.message}`).toBe('optimal');
      expect(s.usd, `world ${i}`).toBeCloseTo(best, 6);
      expectCapacityHeld(p, s);
      expectDemandMet(p, s, (f, si) => s.unprotected.some((u) => u.scenario === f && u.stream === p.streams[si].id));
      feasible++;
    }
    // the worlds exercise both outcomes
    expect(feasible).toBeGreaterThan(10);
    expect(infeasible).toBeGreaterThan(0);
  });

  it('chooses the cheaper of two offers that serve alike', async () => {
    const p = problem({
      offers: [offer('r0', 'dear', 3), offer('r0', 'cheap', 2)],
      streams: [stream('s', 'r0', [10])],
      capacity: [[[2, 2]]],
    });
    const s = await solvePlan(p);
    expect(s.status).toBe('optimal');
    expect(s.replicas[0]).toEqual([0, 5]);
    expect(s.usd).toBeCloseTo(10, 9);
    expect(s.gpuHours).toBe(5);
  });

  it('prices by the request it serves: a dearer GPU that carries more per dollar wins', async () => {
    const p = problem({
      offers: [offer('r0', 'big', 3), offer('r0', 'small', 1)],
      streams: [stream('s', 'r0', [12])],
      capacity: [[[6, 1.5]]], // big: 0.5 USD per req/s-hour; small: 0.67
    });
    const s = await solvePlan(p);
    expect(s.replicas[0]).toEqual([2, 0]);
    expect(s.usd).toBeCloseTo(6, 9);
  });

  it('buys a second GPU type when the budget for the cheaper one binds', async () => {
    const offers = [offer('r0', 'h100', 2, { gpu: 'H100', gpus: 2 }), offer('r0', 'a100', 2, { gpu: 'A100' })];
    const base = { offers, streams: [stream('s', 'r0', [40])], capacity: [[[10, 3]]] };
    const free = await solvePlan(problem(base));
    expect(free.replicas[0]).toEqual([4, 0]); // 16 USD against 14 × 2 on A100
    const bound = await solvePlan(problem({ ...base, budgets: [{ region: 'r0', gpuTypes: ['H100'], gpus: 6 }] }));
    expect(bound.status).toBe('optimal');
    expect(bound.replicas[0][0] * 2).toBeLessThanOrEqual(6);
    expect(bound.replicas[0]).toEqual([3, 4]); // 30 req/s on H100, 10 on A100 (4 × 3 ≥ 10)
    expect(bound.usd).toBeGreaterThan(free.usd);
  });

  it('says which budget is short when no fleet within it carries the demand', async () => {
    const p = problem({
      offers: [offer('r0', 'h100', 2, { gpu: 'H100' })],
      streams: [stream('s', 'r0', [5, 50])],
      capacity: [[[10]]],
      budgets: [{ region: 'r0', gpuTypes: null, gpus: 3 }],
    });
    const s = await solvePlan(p);
    expect(s.status).toBe('infeasible');
    expect(s.message).toContain('over the GPU budget');
    expect(s.message).toContain("r0's budget of 3 GPUs is at least 2 short at hour 1");
    expect(s.replicas.flat().every((n) => n === 0)).toBe(true);
  });

  it('holds one fleet all day in mode static, costing at least the busiest hour held every hour', async () => {
    const offers = [offer('r0', 'a', 2), offer('r0', 'b', 1.5)];
    const streams = [stream('s0', 'r0', [3, 9, 20, 7]), stream('s1', 'r0', [12, 4, 1, 15], { buckets: [{ id: 'long', share: 1, promptTokens: 8000, outputTokens: 500 }] })];
    const capacity = [[[4, 2.5]], [[1, 1.2]]];
    const hourly = await solvePlan(problem({ offers, streams, capacity }));
    const fixed = await solvePlan(problem({ offers, streams, capacity, mode: { fleet: 'static', local: false } }));
    expect(fixed.status).toBe('optimal');
    for (const row of fixed.replicas) expect(row).toEqual(fixed.replicas[0]);
    const hourUsd = hourly.replicas.map((row) => row.reduce((a, n, o) => a + n * offers[o].usdPerGpuHour, 0));
    expect(fixed.usd).toBeGreaterThanOrEqual(Math.max(...hourUsd) * 4 - 1e-9);
    expect(fixed.usd).toBeGreaterThan(hourly.usd);
    expectCapacityHeld(problem({ offers, streams, capacity }), fixed);
  });

  it('static and hourly agree when demand is flat', async () => {
    const offers = [offer('r0', 'a', 2), offer('r1', 'b', 1.5)];
    const streams = [stream('s0', 'r0', [6, 6, 6], { allowed: ['r0', 'r1'] })];
    const capacity = [[[4, 2.5]]];
    const hourly = await solvePlan(problem({ offers, streams, capacity }));
    const fixed = await solvePlan(problem({ offers, streams, capacity, mode: { fleet: 'static', local: false } }));
    expect(fixed.usd).toBeCloseTo(hourly.usd, 9);
  });

  it('holds spare capacity elsewhere to survive the loss of any one region', async () => {
    const offers = [offer('r0', 'a', 2), offer('r1', 'a', 2), offer('r2', 'a', 2)];
    const all = ['r0', 'r1', 'r2'];
    const streams = all.map((r) => stream(`s-${r}`, r, [10], { allowed: [r, ...all.filter((x) => x !== r)] }));
    const capacity = streams.map(() => [[2, 2, 2]]);
    const base = await solvePlan(problem({ offers, streams, capacity }));
    const p = problem({ offers, streams, capacity, scenarios: ['normal', 'lost:r0', 'lost:r1', 'lost:r2'] });
    const safe = await solvePlan(p);
    expect(base.replicas[0]).toEqual([5, 5, 5]);
    expect(safe.status).toBe('optimal');
    // 15 replicas of load; any two regions must hold it: 8 + 8 ≥ 15 (or 7 + 8), so 23 at least
    expect(safe.replicas[0].reduce((a, n) => a + n, 0)).toBeGreaterThanOrEqual(23);
    expect(safe.usd).toBeGreaterThan(base.usd);
    expect(safe.unprotected).toEqual([]);
    expectDemandMet(p, safe);
    expectCapacityHeld(p, safe);
  });

  it('lists demand pinned to a lost region as unprotected and plans the rest around it', async () => {
    const offers = [offer('eu', 'a', 2), offer('us', 'a', 2)];
    const streams = [stream('eu-only', 'eu', [4]), stream('us', 'us', [6], { allowed: ['us', 'eu'] })];
    const p = problem({ offers, streams, capacity: [[[2, 2]], [[2, 2]]], scenarios: ['normal', 'lost:eu', 'lost:us'] });
    const s = await solvePlan(p);
    expect(s.status).toBe('optimal');
    expect(s.unprotected).toEqual([{ scenario: 'lost:eu', stream: 'eu-only' }]);
    expect(s.routes.some((r) => r.scenario === 'lost:eu' && r.stream === 0)).toBe(false);
    // with us lost, eu carries both streams: 2 + 3 replicas
    expect(s.replicas[0][0]).toBeGreaterThanOrEqual(5);
    expectDemandMet(p, s, (f, si) => f === 'lost:eu' && si === 0);
    expectCapacityHeld(p, s);
  });

  it('names the stream, bucket, hour and scenario of demand no offer can serve', async () => {
    const streams = [stream('chat', 'r0', [0, 3], {
      allowed: ['r0', 'r1'],
      buckets: [{ id: 'p≤512', share: 0.5, promptTokens: 300, outputTokens: 100 }, { id: 'p≤32768', share: 0.5, promptTokens: 30000, outputTokens: 100 }],
    })];
    const offers = [offer('r0', 'small', 1), offer('r1', 'big', 3)];
    // only r1's offer takes the long bucket: fine normally, not with r1 lost
    const p = problem({ offers, streams, capacity: [[[2, 2], [0, 0.5]]], scenarios: ['normal', 'lost:r0', 'lost:r1'] });
    const s = await solvePlan(p);
    expect(s.status).toBe('infeasible');
    expect(s.message).toContain('stream "chat" bucket "p≤32768" (hour 1, scenario lost:r1)');
    expect(s.message).toContain('with r1 lost');
    expect(s.message).not.toContain('scenario normal');
  });

  it('says when nothing in a stream\'s regions offers its model', async () => {
    const p = problem({
      offers: [offer('r1', 'a', 1)],
      streams: [stream('eu', 'r0', [1], { model: 'other' })],
      capacity: [[[0]]],
      regions: ['r0', 'r1'],
    });
    const s = await solvePlan(p);
    expect(s.status).toBe('infeasible');
    expect(s.message).toMatch(/stream "eu" bucket "all" \(hour 0, scenario normal\): nothing in r0 offers other/);
  });

  it('serves every stream in its origin only in mode local', async () => {
    const offers = [offer('r0', 'a', 3), offer('r1', 'a', 1)];
    const streams = [stream('s0', 'r0', [5], { allowed: ['r0', 'r1'] })];
    const global = await solvePlan(problem({ offers, streams, capacity: [[[1, 1]]] }), { normalRouting: 'free' });
    const local = await solvePlan(problem({ offers, streams, capacity: [[[1, 1]]], mode: { fleet: 'hourly', local: true } }), { normalRouting: 'free' });
    expect(global.replicas[0]).toEqual([0, 5]);
    expect(local.replicas[0]).toEqual([5, 0]);
    expect(local.routes.every((r) => offers[r.offer].region === 'r0')).toBe(true);
  });

  it('keeps normal traffic in its origin by default, as the gateway routes local-first, and spills only what the origin cannot hold', async () => {
    // r1 is cheaper, but with every region up the gateway serves r0's clients in r0
    const offers = [offer('r0', 'a', 3), offer('r1', 'a', 1)];
    const streams = [stream('s0', 'r0', [5, 9], { allowed: ['r0', 'r1'] })];
    const p = problem({ offers, streams, capacity: [[[1, 1]]], scenarios: ['normal', 'lost:r0'] });
    const home = await solvePlan(p);
    expect(home.replicas[0]).toEqual([5, 5]); // r1 still holds the lost-r0 capacity
    expect(home.routes.filter((r) => r.scenario === 'normal').every((r) => offers[r.offer].region === 'r0')).toBe(true);
    // with r0's budget at 6 GPUs, hour 1's 9 req/s cannot stay home: 6 there, 3 spill to r1
    const tight = await solvePlan({ ...p, budgets: [{ region: 'r0', gpuTypes: null, gpus: 6 }] });
    expect(tight.status).toBe('optimal');
    expect(tight.replicas[0]).toEqual([5, 5]);
    expect(tight.replicas[1][0]).toBeLessThanOrEqual(6);
    expect(tight.routes.some((r) => r.scenario === 'normal' && r.hour === 1 && offers[r.offer].region === 'r1')).toBe(true);
    // a router that follows the plan can use the cheaper region in normal hours too
    const free = await solvePlan(p, { normalRouting: 'free' });
    expect(free.usd).toBeLessThan(home.usd);
  });

  it('routes locally among equally cheap plans', async () => {
    const offers = [offer('r0', 'a', 2), offer('r1', 'a', 2)];
    const streams = [stream('s0', 'r0', [4], { allowed: ['r0', 'r1'] }), stream('s1', 'r1', [4], { allowed: ['r1', 'r0'] })];
    const s = await solvePlan(problem({ offers, streams, capacity: [[[2, 2]], [[2, 2]]] }));
    expect(s.replicas[0]).toEqual([2, 2]);
    for (const r of s.routes) expect(offers[r.offer].region).toBe(streams[r.stream].origin);
  });

  it('counts a spot replica at its availability', async () => {
    const offers = [offer('r0', 'a', 2), offer('r0', 'a', 1, { spot: true, availability: 0.8, preemptionsPerHour: 2, replaceS: 360 })];
    const s = await solvePlan(problem({ offers, streams: [stream('s', 'r0', [8])], capacity: [[[2, 2]]] }));
    // 4 replicas' worth of load: 5 spot replicas at 0.8 (5 USD) beat 4 on demand (8 USD)
    expect(s.replicas[0]).toEqual([0, 5]);
  });

  it('keeps every region within its GPU budget in every hour, spot replicas counted, in both modes, through every lost region', async () => {
    // cheap spot and dear on demand of one GPU type in each of two regions; a budget of 8 GPUs of
    // that type in r0 and 7 (any type) in r1 must bind: unbudgeted, surviving any loss on cheap spot
    // would hold about 14 in each
    const offers = [
      offer('r0', 'h', 3, { gpu: 'H' }), offer('r0', 'h', 1, { gpu: 'H', spot: true, availability: 0.9, preemptionsPerHour: 1, replaceS: 360 }),
      offer('r1', 'h', 3, { gpu: 'H' }), offer('r1', 'h', 1, { gpu: 'H', spot: true, availability: 0.9, preemptionsPerHour: 1, replaceS: 360 }),
      offer('r2', 'h', 4, { gpu: 'H' }),
    ];
    const all = ['r0', 'r1', 'r2'];
    const streams = [stream('s0', 'r0', [6, 9, 4], { allowed: all }), stream('s1', 'r1', [5, 3, 8], { allowed: all })];
    const capacity = streams.map(() => [offers.map(() => 1)]);
    const budgets: Budget[] = [{ region: 'r0', gpuTypes: ['H'], gpus: 8 }, { region: 'r1', gpuTypes: null, gpus: 7 }];
    const scenarios: FailureScenario[] = ['normal', 'lost:r0', 'lost:r1', 'lost:r2'];
    for (const fleet of ['hourly', 'static'] as const) {
      const free = await solvePlan(problem({ offers, streams, capacity, scenarios, mode: { fleet, local: false } }));
      const p = problem({ offers, streams, capacity, scenarios, budgets, mode: { fleet, local: false } });
      const s = await solvePlan(p);
      expect(s.status, s.message ?? '').toBe('optimal');
      const inRegion = (sol: PlanSolution, h: number, r: string) => sol.replicas[h].reduce((a, n, o) => a + (offers[o].region === r ? n * offers[o].gpus : 0), 0);
      // the budgets bind: without them some hour holds more than they allow
      expect([0, 1, 2].some((h) => inRegion(free, h, 'r0') > 8 || inRegion(free, h, 'r1') > 7)).toBe(true);
      for (let h = 0; h < 3; h++) {
        expect(inRegion(s, h, 'r0')).toBeLessThanOrEqual(8);
        expect(inRegion(s, h, 'r1')).toBeLessThanOrEqual(7);
      }
      expect(s.usd).toBeGreaterThan(free.usd);
      expectDemandMet(p, s);
      expectCapacityHeld(p, s);
    }
  });

  it('lets the local tie-break decide only between fleets within a tenth of a cent, however large the demand', async () => {
    // serving s0 (origin r0) from r1 saves 0.01 USD an hour; at 10⁴ req/s in 2 scenarios a tie-break
    // of 1e-6 USD per req/s would weigh 0.02 USD and keep it home at the dearer fleet
    const offers = [offer('r0', 'a', 1.01), offer('r1', 'a', 1)];
    const streams = [stream('s0', 'r0', [10_000], { allowed: ['r0', 'r1'] })];
    const s = await solvePlan(problem({ offers, streams, capacity: [[[10_000, 10_000]]], scenarios: ['normal', 'lost:r2'], regions: ['r0', 'r1', 'r2'] }), { normalRouting: 'free' });
    expect(s.status).toBe('optimal');
    expect(s.replicas[0]).toEqual([0, 1]);
  });

  it('refuses, with an error naming the size, a model with more routing variables than memory allows', async () => {
    // 1 stream × 2 000 buckets × 600 offers: 1.2 million routing shares in one hour
    const offers = Array.from({ length: 600 }, (_, i) => offer('r0', `p${i}`, 1 + i / 1000));
    const buckets = Array.from({ length: 2000 }, (_, b) => ({ id: `b${b}`, share: 1 / 2000, promptTokens: 100, outputTokens: 10 }));
    const s = await solvePlan(problem({ offers, streams: [stream('s', 'r0', [10], { buckets })], capacity: [buckets.map(() => offers.map(() => 1))] }));
    expect(s.status).toBe('error');
    expect(s.message).toMatch(/more than 1,000,000 routing variables; plan fewer streams, buckets or offers/);
  });

  describe('on a world where budgets are far short (24 offers × 8 streams × 12 buckets × 5 scenarios)', () => {
    const rng = new RandomStream(3);
    const regions = ['r0', 'r1', 'r2', 'r3'];
    const offers = Array.from({ length: 24 }, (_, i) => offer(regions[i % 4], `p${i}`, 1 + rng.float() * 3, { gpu: `g${i % 3}`, gpus: 1 + (i % 2) }));
    const buckets = Array.from({ length: 12 }, (_, b) => ({ id: `b${b}`, share: 1 / 12, promptTokens: 100, outputTokens: 10 }));
    const streams = Array.from({ length: 8 }, (_, i) => stream(`s${i}`, regions[i % 4], [5 + rng.float() * 20], { allowed: regions, buckets }));
    const p = problem({
      offers, streams, regions, capacity: streams.map(() => buckets.map(() => offers.map(() => 0.3 + rng.float() * 3))),
      budgets: regions.map((region) => ({ region, gpuTypes: null, gpus: 9 })), scenarios: ['normal', ...regions.map((r): FailureScenario => `lost:${r}`)],
    });

    it('never calls a plan optimal when the time limit stops the solver', async () => {
      const s = await solvePlan(p, { timeLimitS: 0.0001 });
      expect(s.status).toBe('error');
      expect(s.message).toMatch(/time limit .* before proving a plan optimal/);
    });

    it('names every short budget within seconds (the elastic model is an LP)', async () => {
      const t0 = performance.now();
      const s = await solvePlan(p, { timeLimitS: 60 });
      expect(s.status).toBe('infeasible');
      for (const r of regions) expect(s.message).toMatch(new RegExp(`${r}'s budget of 9 GPUs is at least \\d+ short at hour 0`));
      expect(performance.now() - t0).toBeLessThan(30_000);
    });
  });

  it('returns an error naming the cause when the model cannot be written', async () => {
    const s = await solvePlan(problem({ offers: [offer('r0', 'a', Number.NaN)], streams: [stream('s', 'r0', [2])], capacity: [[[1]]] }));
    expect(s.status).toBe('error');
    expect(s.message).toMatch(/not finite.*prices/);
    expect(s.routes).toEqual([]);
  });

  it('buys nothing for hours without demand', async () => {
    const s = await solvePlan(problem({ offers: [offer('r0', 'a', 2)], streams: [stream('s', 'r0', [0, 2, 0])], capacity: [[[1]]] }));
    expect(s.status).toBe('optimal');
    expect(s.replicas).toEqual([[0], [2], [0]]);
    expect(s.usd).toBeCloseTo(4, 9);
  });

  it('plans a day of 3 regions × 3 profiles, 6 streams of 8 buckets and 4 scenarios in well under 10 s', async () => {
    const regions = ['us', 'eu', 'ap'];
    const profiles = [{ p: 'h100', price: 2.99, speed: 3 }, { p: 'a100', price: 1.79, speed: 1.6 }, { p: 'l40s', price: 0.99, speed: 0.8 }];
    const offers = regions.flatMap((r, ri) => profiles.map((pr) => offer(r, pr.p, pr.price * (1 + 0.1 * ri), { gpu: pr.p })));
    const rng = new RandomStream(7);
    const streams: Stream[] = [];
    regions.forEach((r, ri) => {
      for (const kind of ['short', 'long']) {
        const shares = Array.from({ length: 8 }, () => 0.05 + rng.float());
        const total = shares.reduce((a, x) => a + x, 0);
        streams.push(stream(`${r}-${kind}`, r, Array.from({ length: 24 }, (_, h) => (kind === 'short' ? 80 : 25) * (0.3 + 0.7 * (1 + Math.cos((2 * Math.PI * (h - 8 * ri)) / 24)) / 2)), {
          allowed: r === 'eu' && kind === 'long' ? ['eu'] : [r, ...regions.filter((x) => x !== r)],
          buckets: shares.map((x, b) => ({ id: `b${b}`, share: x / total, promptTokens: 256 << b, outputTokens: 128 })),
        }));
      }
    });
    const capacity = streams.map((st) => st.buckets.map((bk) => offers.map((of) => {
      const pr = profiles.find((x) => x.p === of.profile)!;
      if (of.profile === 'l40s' && bk.promptTokens > 8000) return 0;
      return (pr.speed * 40 * 1000) / (bk.promptTokens + 500) * (of.region === st.origin ? 1 : 0.9);
    })));
    const budgets: Budget[] = regions.map((r) => ({ region: r, gpuTypes: ['h100'], gpus: 40 }));
    const p = problem({ regions, offers, streams, capacity, budgets, scenarios: ['normal', 'lost:us', 'lost:eu', 'lost:ap'] });
    // CPU time, not wall: the machine is shared, and a busy neighbour must not fail the spec
    const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const s = await solvePlan(p, { timeLimitS: 60 });
    const cpu = cpuMs(process.cpuUsage(c0));
    const ms = performance.now() - t0;
    console.log(`3 regions × 3 profiles × 24 h × 4 scenarios × 6 streams × 8 buckets: hourly ${ms.toFixed(0)} ms wall, ${cpu.toFixed(0)} ms CPU, ${s.usd.toFixed(2)} USD, ${s.gpuHours} GPU-h`);
    expect(s.status, s.message ?? '').toBe('optimal');
    expect(cpu).toBeLessThan(10_000);
    expect(s.unprotected.map((u) => u.stream)).toEqual(['eu-long']);
    expectCapacityHeld(p, s);

    const t1 = performance.now();
    const c1 = process.cpuUsage();
    const fixed = await solvePlan({ ...p, mode: { fleet: 'static', local: false } }, { timeLimitS: 60 });
    const cpu1 = cpuMs(process.cpuUsage(c1));
    console.log(`  the same held static: ${(performance.now() - t1).toFixed(0)} ms wall, ${cpu1.toFixed(0)} ms CPU, ${fixed.usd.toFixed(2)} USD`);
    expect(fixed.status, fixed.message ?? '').toBe('optimal');
    expect(cpu1).toBeLessThan(10_000);
    for (const row of fixed.replicas) expect(row).toEqual(fixed.replicas[0]);
    expectCapacityHeld(p, fixed);
    expectDemandMet(p, fixed, (f, si) => fixed.unprotected.some((u) => u.scenario === f && u.stream === p.streams[si].id));
    expect(fixed.usd).toBeGreaterThan(s.usd);

    // the rows for the size-blind gateway: one type per (region, hour) and the longest prompts blocking
    const blocking = streams.map((st) => st.buckets.map((bk) => offers.map(() => (bk.promptTokens > 16_000 ? 0.002 : 0))));
    const c2 = process.cpuUsage();
    const blind = await solvePlan({ ...p, mixTypesInRegion: false, blocking, blockingShare: 0.005 }, { timeLimitS: 60 });
    const cpu2 = cpuMs(process.cpuUsage(c2));
    console.log(`  one type per region, blocking rows: ${cpu2.toFixed(0)} ms CPU, ${blind.usd.toFixed(2)} USD`);
    expect(blind.status, blind.message ?? '').toBe('optimal');
    expect(cpu2).toBeLessThan(10_000);
    expect(blind.usd).toBeGreaterThan(s.usd);
  }, 180_000);

  it('reports a held offer\'s replicas by index with nothing for offers no stream can use', async () => {
    const offers = [offer('r0', 'a', 2), offer('r0', 'b', 1, { model: 'other' })];
    const s = await solvePlan(problem({ offers, streams: [stream('s', 'r0', [3])], capacity: [[[1, 0]]] }));
    expect(s.replicas).toEqual([[3, 0]]);
    expect(held(s, 1)).toBe(0);
  });
});

describe('solvePlan under the gateway’s size-blind routing', () => {
  /** the blocking row of (scenario, hour, offer): Σ rate · blocking ≤ ε · availability · replicas */
  function expectBlockingHeld(p: PlanProblem, s: PlanSolution) {
    for (const f of p.scenarios) {
      for (let h = 0; h < p.hours; h++) {
        p.offers.forEach((of, o) => {
          const blocked = s.routes.filter((r) => r.scenario === f && r.hour === h && r.offer === o).reduce((a, r) => a + r.ratePerS * p.blocking[r.stream][r.bucket][o], 0);
          expect(blocked).toBeLessThanOrEqual(p.blockingShare * of.availability * s.replicas[h][o] + 1e-9);
        });
      }
    }
  }

  const twoClasses = [{ id: 'short', share: 0.9, promptTokens: 500, outputTokens: 100 }, { id: 'long', share: 0.1, promptTokens: 50_000, outputTokens: 100 }];

  it('buys the replicas a long class needs to keep its prefills from stalling tight requests, beyond what its load needs', async () => {
    // 5 req/s, 0.5 of them long; capacity 10 req/s for either class: 1 replica carries the load.
    // Each long request holds a replica 0.05 s past the tightest patience; with ε = 0.005 the long
    // class may take 0.005 / 0.05 = 0.1 req/s per replica, so 0.5 req/s needs 5 replicas
    const base = { offers: [offer('r0', 'a', 2)], streams: [stream('s', 'r0', [5], { buckets: twoClasses })], capacity: [[[10], [10]]] };
    const blind = await solvePlan(problem(base));
    expect(blind.replicas[0]).toEqual([1]);
    const p = problem({ ...base, blocking: [[[0], [0.05]]], blockingShare: 0.005 });
    const s = await solvePlan(p);
    expect(s.status).toBe('optimal');
    expect(s.replicas[0]).toEqual([Math.ceil((0.5 * 0.05) / 0.005 - 1e-9)]);
    expect(s.usd).toBeCloseTo(10, 9);
    expectBlockingHeld(p, s);
    expectCapacityHeld(p, s);
  });

  it('counts a spot replica’s blocking allowance at its availability', async () => {
    const p = problem({
      offers: [offer('r0', 'a', 2, { availability: 0.5 })], streams: [stream('s', 'r0', [5], { buckets: twoClasses })],
      capacity: [[[10], [10]]], blocking: [[[0], [0.05]]], blockingShare: 0.005,
    });
    const s = await solvePlan(p);
    expect(s.replicas[0]).toEqual([10]);
    expectBlockingHeld(p, s);
  });

  it('sends the long class where it blocks less when that is cheaper than diluting it', async () => {
    // a: 1 USD, blocks 0.05 s per long request (5 replicas for 0.5 req/s); b: 2 USD, blocks 0.01 s
    // (1 replica) but serves short requests slowly. Mixed: short on a (1 replica), long on b (1
    // replica) = 3 USD, against 5 on a alone and 10 on b alone (4.5 + 0.05 replicas of load)
    const offers = [offer('r0', 'a', 1, { gpu: 'A' }), offer('r0', 'b', 2, { gpu: 'B' })];
    const base = { offers, streams: [stream('s', 'r0', [5], { buckets: twoClasses })], capacity: [[[10, 1], [10, 10]]], blocking: [[[0, 0], [0.05, 0.01]]], blockingShare: 0.005 };
    const mixed = problem({ ...base, mixTypesInRegion: true });
    const s = await solvePlan(mixed);
    expect(s.replicas[0]).toEqual([1, 1]);
    expect(s.usd).toBeCloseTo(3, 9);
    // a's one replica may still take 0.005 / 0.05 = 0.1 req/s of the long class, no more
    const longOnA = s.routes.filter((r) => r.bucket === 1 && r.offer === 0).reduce((x, r) => x + r.ratePerS, 0);
    expect(longOnA).toBeLessThanOrEqual(0.1 + 1e-9);
    expectBlockingHeld(mixed, s);
    // one type only: a alone, diluted over 5 replicas (5 USD), beats b alone (10)
    const one = await solvePlan(problem({ ...base, mixTypesInRegion: false }));
    expect(one.replicas[0]).toEqual([5, 0]);
    expect(one.usd).toBeCloseTo(5, 9);
  });

  it('leaves a class that blocks at all off an offer when the plan allows no misses (attainment 1)', async () => {
    const offers = [offer('r0', 'a', 1), offer('r0', 'b', 3)];
    // b blocks nobody but serves short requests slowly; a would be cheaper for both classes
    const p = problem({ offers, streams: [stream('s', 'r0', [5], { buckets: twoClasses })], capacity: [[[10, 1], [10, 10]]], blocking: [[[0, 0], [0.05, 0]]], blockingShare: 0 });
    const s = await solvePlan(p);
    expect(s.status).toBe('optimal');
    expect(s.routes.filter((r) => r.bucket === 1).every((r) => r.offer === 1)).toBe(true);
    expect(s.replicas[0]).toEqual([1, 1]);
  });

  describe('one GPU type per model and region', () => {
    // Mélange's saving: chat is cheapest on a (0.2 USD per req/s), long prompts on b (0.5 against 1)
    const offers = [offer('r0', 'a', 1, { gpu: 'A' }), offer('r0', 'b', 2, { gpu: 'B' })];
    const streams = [stream('chat', 'r0', [20]), stream('docs', 'r0', [4])];
    const capacity = [[[5, 4]], [[1, 4]]];

    it('turns two GPU types in one region into one: the cheaper single-type fleet, found by hand', async () => {
      const mixed = await solvePlan(problem({ offers, streams, capacity, mixTypesInRegion: true }));
      expect(mixed.replicas[0]).toEqual([4, 1]); // 4 + 2 = 6 USD
      const one = await solvePlan(problem({ offers, streams, capacity, mixTypesInRegion: false }));
      // a alone: 20/5 + 4/1 = 8 replicas, 8 USD; b alone: 20/4 + 4/4 = 6 replicas, 12 USD
      expect(one.replicas[0]).toEqual([8, 0]);
      expect(one.usd).toBeCloseTo(8, 9);
      expect(one.usd).toBeGreaterThan(mixed.usd);
    });

    it('applies per region and per hour: each region, each hour, picks its own type', async () => {
      const two = [...offers, offer('r1', 'a', 1, { gpu: 'A' }), offer('r1', 'b', 2, { gpu: 'B' })];
      // where chat is small and docs large, b wins: 1/4 + 10/4 → 3 b = 6 USD against 1/5 + 10 → 11 a
      const st = [stream('chat', 'r0', [20, 1]), stream('docs', 'r0', [4, 10]), stream('chat1', 'r1', [1, 20]), stream('docs1', 'r1', [10, 4])];
      const cap = [[[5, 4, 0, 0]], [[1, 4, 0, 0]], [[0, 0, 5, 4]], [[0, 0, 1, 4]]];
      const s = await solvePlan(problem({ offers: two, streams: st, capacity: cap, mixTypesInRegion: false }));
      expect(s.status).toBe('optimal');
      for (let h = 0; h < 2; h++) {
        for (const r of ['r0', 'r1']) {
          const types = new Set(two.flatMap((of, o) => (of.region === r && s.replicas[h][o] > 0 ? [of.gpu] : [])));
          expect(types.size, `${r} hour ${h}`).toBe(1);
        }
      }
      // r0 hour 0: 8 a (chat 4 + docs 4) = 8 USD against 6 b = 12; hour 1: 3 b
      expect(s.replicas[0].slice(0, 2)).toEqual([8, 0]);
      expect(s.replicas[1].slice(0, 2)).toEqual([0, 3]);
      // r1 mirrors r0 with the hours swapped
      expect(s.replicas[0].slice(2)).toEqual([0, 3]);
      expect(s.replicas[1].slice(2)).toEqual([8, 0]);
    });

    it('lets spot and on-demand replicas of the same type mix', async () => {
      const withSpot = [offer('r0', 'a', 1, { gpu: 'A' }), offer('r0', 'a', 0.5, { gpu: 'A', spot: true, availability: 0.9 }), offer('r0', 'b', 2, { gpu: 'B' })];
      // load 17.25/5 + 4/1 = 7.45 replicas of A. Spot alone is cheapest per carried req/s (0.5/0.9
      // < 1) but needs 9 against A's budget of 8: 0.9 s + o ≥ 7.45 and s + o ≤ 8 give s ≤ 5, so
      // 5 spot + 3 on demand = 5.5 USD (b alone: 17.25/4 + 1 → 6 b = 12 USD)
      const s = await solvePlan(problem({
        offers: withSpot, streams: [stream('chat', 'r0', [17.25]), stream('docs', 'r0', [4])], capacity: [[[5, 5, 4]], [[1, 1, 4]]],
        mixTypesInRegion: false, budgets: [{ region: 'r0', gpuTypes: ['A'], gpus: 8 }],
      }));
      expect(s.status).toBe('optimal');
      expect(s.replicas[0]).toEqual([3, 5, 0]);
      expect(s.usd).toBeCloseTo(5.5, 9);
    });

    it('holds for a static fleet too', async () => {
      const st = [stream('chat', 'r0', [20, 1]), stream('docs', 'r0', [4, 10])];
      const s = await solvePlan(problem({ offers, streams: st, capacity, mixTypesInRegion: false, mode: { fleet: 'static', local: false } }));
      expect(s.status).toBe('optimal');
      const types = new Set(offers.flatMap((of, o) => (s.replicas[0][o] > 0 ? [of.gpu] : [])));
      expect(types.size).toBe(1);
      // a: max over hours (8, 1 + 10 = 11) = 11 USD/h; b: max(6, 1 + 3 = 4) = 6 b = 12 USD/h: a wins
      expect(s.replicas[0]).toEqual([11, 0]);
      expect(s.usd).toBeCloseTo(22, 9);
    });

    it('names the budget that one type cannot fit within, where a mix would', async () => {
      const budgets: Budget[] = [{ region: 'r0', gpuTypes: ['A'], gpus: 5 }, { region: 'r0', gpuTypes: ['B'], gpus: 5 }];
      const mixed = await solvePlan(problem({ offers, streams, capacity, budgets, mixTypesInRegion: true }));
      expect(mixed.status).toBe('optimal');
      const one = await solvePlan(problem({ offers, streams, capacity, budgets, mixTypesInRegion: false }));
      expect(one.status).toBe('infeasible');
      // b alone needs 6 against its 5 (a alone 8 against 5): the least excess is b's, 1 GPU
      expect(one.message).toContain("r0's budget of 5 B GPUs is at least 1 short at hour 0");
    });
  });
});
