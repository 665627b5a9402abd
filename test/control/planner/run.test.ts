import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPlan, planJson, runPlan, type CheckRun, type LoadedPlan, type PlanReport } from '../../../src/control/planner/index.js';
import { buildProblem, whatIfName } from '../../../src/control/planner/problem.js';
import { streamsOf } from '../../../src/control/planner/demand.js';

// runPlan end to end on the small fixture (2 regions, 2 GPU types, 2 streams, 3 hours, surviving
// the loss of either region, one what-if of each kind), checked in the simulator with a short window.

const FIXTURE = join(import.meta.dirname, 'fixtures', 'small.yaml');

function small(windowS: number): LoadedPlan {
  const loaded = loadPlan(FIXTURE);
  return { ...loaded, plan: { ...loaded.plan, check: { ...loaded.plan.check, windowS } } };
}

describe('runPlan on the small plan, checked in the simulator', () => {
  let r: PlanReport;
  const progress: { what: string; f: number }[] = [];

  beforeAll(async () => {
    r = await runPlan(small(20), { onProgress: (what, f) => progress.push({ what, f }) });
  }, 120_000);

  it('solves the plan and checks it at every hour, and at the busiest hour with each region lost', () => {
    expect(r.plan.solution.status).toBe('optimal');
    const c = r.plan.check!;
    const normal = c.runs.filter((x) => x.scenario === 'normal').map((x) => x.hour);
    expect(normal).toEqual([0, 1, 2]);
    const busiest = [0, 1, 2].reduce((b, h) => (total(r, h) > total(r, b) ? h : b), 0);
    const lost = c.runs.filter((x) => x.scenario !== 'normal');
    expect(lost.map((x) => x.scenario).sort()).toEqual(['lost:eu-west', 'lost:us-east']);
    expect(lost.every((x) => x.hour === busiest)).toBe(true);
    expect(c.failureAttainment).not.toBeNull();
    // attainment is what the runs say: met ÷ requests over the normal runs
    const req = c.runs.filter((x) => x.scenario === 'normal').flatMap((x) => x.streams).reduce((t, s) => t + s.requests, 0);
    const met = c.runs.filter((x) => x.scenario === 'normal').flatMap((x) => x.streams).reduce((t, s) => t + s.met, 0);
    expect(c.attainment).toBeCloseTo(met / req, 9);
    // ok: every stream meets the target, in the normal runs and in the failure runs alike
    const worst = (rs: readonly CheckRun[]) => Math.min(...perStream(rs));
    expect(c.ok).toBe(worst(c.runs.filter((x) => x.scenario === 'normal')) >= c.target && worst(lost) >= c.target);
  });

  it('sets one single-type baseline per GPU type beside it, the cheapest feasible first', () => {
    expect(r.singleType.map((o) => o.label).sort()).toEqual(['single type: A100-SXM-80GB', 'single type: H100-SXM-80GB']);
    const usd = r.singleType.filter((o) => o.solution.status === 'optimal').map((o) => o.solution.usd);
    expect(usd).toEqual([...usd].sort((a, b) => a - b));
    for (const o of r.singleType) {
      expect(new Set(o.offers.map((x) => x.gpu))).toEqual(new Set(o.gpuTypes));
      // a single type can only cost as much as the plan or more: the plan may buy it alone too
      if (o.solution.status === 'optimal') expect(o.solution.usd).toBeGreaterThanOrEqual(r.plan.solution.usd - 1e-9);
    }
  });

  it('sets peak provisioning beside it: one fleet all day, never cheaper than the hourly plan', () => {
    expect(r.peak.mode).toEqual({ fleet: 'static', local: false });
    expect(r.peak.solution.usd).toBeGreaterThanOrEqual(r.plan.solution.usd - 1e-9);
    expect(r.savings.vsPeak).toBeCloseTo(1 - r.plan.solution.usd / r.peak.solution.usd, 9);
    const best = r.singleType.find((o) => o.solution.status === 'optimal')!;
    expect(r.savings.vsBestSingleType).toBeCloseTo(1 - r.plan.solution.usd / best.solution.usd, 9);
    expect(r.peak.check).not.toBeNull();
  });

  it('reports every what-if, with its cost against the plan; a lost region also checks the plan\'s survivors', () => {
    const plan = small(20).plan;
    expect(r.whatIfs.map((w) => w.name)).toEqual(plan.whatIfs.map(whatIfName));
    expect(r.whatIfs.map((w) => w.kind)).toEqual(['region-lost', 'demand', 'price', 'spot']);
    for (const w of r.whatIfs) {
      if (w.outcome.solution.status === 'optimal') expect(w.deltaVsPlan).toBeCloseTo(w.outcome.solution.usd / r.plan.solution.usd - 1, 9);
      else expect(w.deltaVsPlan).toBeNull();
    }
    const lost = r.whatIfs[0];
    expect(lost.outcome.offers.some((o) => o.region === 'eu-west')).toBe(false);
    expect(lost.survivors!.runs.map((x) => x.scenario)).toEqual(['lost:eu-west']);
    // more demand cannot be served for less
    expect(r.whatIfs[1].outcome.solution.usd).toBeGreaterThanOrEqual(r.plan.solution.usd - 1e-9);
    expect(r.whatIfs[3].outcome.offers.some((o) => o.spot)).toBe(true);
  });

  it('gives cost per million tokens per model and region of the plan', () => {
    expect(r.plan.unitCosts.length).toBeGreaterThan(0);
    const sum = r.plan.unitCosts.reduce((t, u) => t + u.usd, 0);
    expect(sum).toBeCloseTo(r.plan.solution.usd, 6);
  });

  it('reports progress from 0 to 1, never going back', () => {
    expect(progress.length).toBeGreaterThan(5);
    for (let i = 1; i < progress.length; i++) expect(progress[i].f).toBeGreaterThanOrEqual(progress[i - 1].f - 1e-12);
    expect(progress[progress.length - 1].f).toBeCloseTo(1, 9);
    expect(progress.some((p) => p.what.startsWith('check'))).toBe(true);
  });
});

describe('runPlan without the simulator', () => {
  it('runs no check at all, and gives the same bytes twice', async () => {
    const a = await runPlan(small(20), { check: false });
    expect([a.plan, ...a.singleType, a.peak, ...a.whatIfs.map((w) => w.outcome)].every((o) => o.check === null)).toBe(true);
    expect(a.whatIfs.every((w) => w.survivors === null)).toBe(true);
    const b = await runPlan(small(20), { check: false });
    expect(planJson(a)).toBe(planJson(b));
  }, 60_000);
});

/** each stream's met ÷ requests over the runs */
describe('the example plans', () => {
  const dir = join(import.meta.dirname, '..', '..', '..', 'scenarios');
  const plans = readdirSync(dir).filter((f) => /^plan-.*\.yaml$/.test(f));

  it('every example plan under scenarios/ is a valid plan that every stream can be served in', () => {
    expect(plans).toEqual(expect.arrayContaining(['plan-one-region.yaml', 'plan-three-regions.yaml']));
    for (const f of plans) {
      const loaded = loadPlan(join(dir, f));
      const streams = streamsOf(loaded);
      const p = buildProblem(loaded, streams, { mode: { fleet: 'hourly', local: false } });
      // each bucket of each stream has some offer that can serve it within its tier
      p.streams.forEach((s, i) => s.buckets.forEach((b, j) => expect(Math.max(...p.capacity[i][j]), `${f}: ${s.id} ${b.id}`).toBeGreaterThan(0)));
    }
  });
});

function perStream(runs: readonly CheckRun[]): number[] {
  const by = new Map<string, [number, number]>();
  for (const x of runs) for (const s of x.streams) {
    const t = by.get(s.stream) ?? [0, 0];
    by.set(s.stream, [t[0] + s.met, t[1] + s.requests]);
  }
  return [...by.values()].filter(([, n]) => n > 0).map(([m, n]) => m / n);
}

function total(r: PlanReport, h: number): number {
  return r.streams.reduce((t, s) => t + s.ratesPerS[h], 0);
}
