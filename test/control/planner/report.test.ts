import { describe, expect, it } from 'vitest';
import { planJson, renderPlanHtml, renderPlanText } from '../../../src/control/planner/report/index.js';
import type { CheckResult, Offer, PlanOutcome, PlanReport, PlanSolution, Stream, WhatIfRow } from '../../../src/control/planner/types.js';

// The renderers on a report built by hand: two regions, three offers, four hours, a plan beside
// one feasible and one infeasible single-type baseline and peak provisioning, and what-ifs. Names
// that come from YAML carry markup, to prove the page escapes them.

const HOSTILE = '<script>alert("x")</script>';

const offer = (region: string, profile: string, gpu: string, usdPerGpuHour: number, spot = false): Offer => ({
  id: `${region}/${profile}${spot ? '/spot' : ''}`, region, profile, model: 'llama-3.1-8b', gpu, gpus: 1, usdPerGpuHour, spot,
  availability: spot ? 0.95 : 1, preemptionsPerHour: spot ? 0.5 : 0, replaceS: 90,
});
const OFFERS: Offer[] = [
  offer('us-east', 'llama-3.1-8b-h100', 'H100-SXM-80GB', 3),
  offer('us-east', 'llama-3.1-8b-a100', 'A100-SXM-80GB', 2),
  offer('eu-west', 'llama-3.1-8b-a100', 'A100-SXM-80GB', 2, true),
];
const HOURS = 4;

/** a solution whose cost and GPU-hours follow from its replicas, as the solver's do */
function solution(replicas: number[][], offers: readonly Offer[] = OFFERS, wall = 12.5): PlanSolution {
  let usd = 0;
  let gpuHours = 0;
  for (const row of replicas) row.forEach((n, i) => {
    usd += n * offers[i].gpus * offers[i].usdPerGpuHour;
    gpuHours += n * offers[i].gpus;
  });
  return { status: 'optimal', message: null, replicas, usd, gpuHours, routes: [{ scenario: 'normal', hour: 0, stream: 0, bucket: 0, offer: 0, ratePerS: 1.25 }], unprotected: [], solveMs: wall };
}
const infeasible = (message: string): PlanSolution => ({
  status: 'infeasible', message, replicas: Array.from({ length: HOURS }, () => OFFERS.map(() => 0)), usd: 0, gpuHours: 0, routes: [], unprotected: [], solveMs: 3,
});

function check(attainment: number, ok: boolean, wallMs = 800, failureAttainment: number | null = null): CheckResult {
  return {
    runs: [0, 1, 2, 3].map((hour) => ({
      hour, scenario: 'normal' as const, streams: [{ stream: 'us-chat', requests: 100, met: Math.round(attainment * 100) }],
      utilisation: [{ offer: OFFERS[0].id, replicas: 2, busy: 0.6 }], tokens: [], preemptions: 0,
    })),
    attainment, worstStream: { stream: 'us-chat', attainment }, failureAttainment, target: 0.99, ok, simulatedS: 480, wallMs,
  };
}

function outcome(label: string, s: PlanSolution, c: CheckResult | null, gpuTypes: string[] | null = null): PlanOutcome {
  return {
    label, mode: { fleet: label === 'per-region peak' ? 'static' : 'hourly', local: false }, gpuTypes, offers: OFFERS, solution: s, utilisation: 0.7,
    unitCosts: s.status === 'optimal' ? [{ model: HOSTILE, region: 'us-east', usd: s.usd, inputTokens: 40e6, outputTokens: 8e6, inputUsdPerM: 0.125, outputUsdPerM: 2.5 }] : [],
    check: c,
  };
}

const stream: Stream = {
  id: 'us-chat', origin: 'us-east', model: 'llama-3.1-8b', tier: 'interactive', allowed: ['us-east', 'eu-west'],
  ratesPerS: [2, 4, 3, 1], buckets: [{ id: 'p≤2048,o≤512', share: 1, promptTokens: 1000, outputTokens: 200 }],
};

function report(wall = 12.5): PlanReport {
  const plan = outcome('plan', solution([[2, 0, 0], [3, 1, 0], [2, 1, 1], [1, 0, 0]], OFFERS, wall), check(0.995, true, wall * 64, 0.99));
  const peak = outcome('per-region peak', solution(Array.from({ length: HOURS }, () => [3, 1, 1])), check(1, true));
  const single = outcome('single type: H100-SXM-80GB', solution([[2, 0, 0], [4, 0, 0], [4, 0, 0], [1, 0, 0]]), check(0.99, true), ['H100-SXM-80GB']);
  const none = outcome('single type: A100-SXM-80GB', infeasible('stream us-chat, bucket p≤2048,o≤512, hour 1: over the GPU budget in us-east'), null, ['A100-SXM-80GB']);
  const lostSolution = { ...solution([[3, 0, 0], [4, 0, 0], [3, 0, 0], [1, 0, 0]]), unprotected: [{ scenario: 'lost:eu-west' as const, stream: 'eu-docs' }] };
  const whatIfs: WhatIfRow[] = [
    { name: 'eu-west lost', kind: 'region-lost', outcome: outcome('eu-west lost', lostSolution, check(0.992, true)), deltaVsPlan: lostSolution.usd / plan.solution.usd - 1, survivors: check(0.93, false) },
    { name: HOSTILE, kind: 'demand', outcome: outcome(HOSTILE, infeasible('over budget'), null), deltaVsPlan: null, survivors: null },
  ];
  return {
    name: 'hand-built', description: `a plan with ${HOSTILE} in it`, seed: 3, hours: HOURS, regions: ['us-east', 'eu-west'], streams: [stream],
    plan, singleType: [single, none], peak, whatIfs, warnings: [`us-east/llama-3.1-8b-l4 can serve none of its demand: ${HOSTILE}`],
    savings: { vsPeak: 1 - plan.solution.usd / peak.solution.usd, vsBestSingleType: 1 - plan.solution.usd / single.solution.usd },
  };
}

describe('the text report', () => {
  const r = report();
  const text = renderPlanText(r);
  const lines = text.split('\n');

  it('leads with what the plan costs a day and what it saves against each baseline', () => {
    const perDay = (r.plan.solution.usd * 24) / HOURS;
    expect(text).toContain(`${perDay.toFixed(2)} USD a day`);
    expect(text).toContain(`${r.plan.solution.gpuHours.toFixed(1)} GPU-hours`);
    const save = (x: number) => `−${(x * 100).toFixed(1)} %`;
    expect(lines.find((l) => l.includes('vs per-region peak'))).toContain(save(r.savings.vsPeak!));
    expect(lines.find((l) => l.includes('vs best single type'))).toContain(save(r.savings.vsBestSingleType!));
    expect(lines.find((l) => l.includes('vs best single type'))).toContain('H100-SXM-80GB');
    expect(lines.find((l) => l.includes('attainment in sim'))).toMatch(/99\.5 % over 4 hours, 99\.0 % with a region lost; target 99\.0 %: met$/);
    expect(lines.find((l) => l.includes('worst stream'))).toMatch(/us-chat, 99\.5 %$/);
  });

  it('has every section', () => {
    for (const s of ['demand:', 'replicas per region and hour', 'the plan beside its baselines:', 'what-ifs:', 'cost per million tokens']) expect(text).toContain(s);
  });

  it('lists replicas per offer under its region, hour by hour, zeros as dots', () => {
    const at = lines.findIndex((l) => l.includes('replicas per region and hour'));
    const block = lines.slice(at + 1, at + 8);
    expect(block[0]).toMatch(/^\s+hour\s+0\s+1\s+2\s+3$/);
    expect(block[1].trim()).toBe('us-east');
    expect(block[2]).toMatch(/^\s+llama-3\.1-8b-h100\s+2\s+3\s+2\s+1$/);
    expect(block[3]).toMatch(/^\s+llama-3\.1-8b-a100\s+\.\s+1\s+1\s+\.$/);
    expect(block[4].trim()).toBe('eu-west');
    expect(block[5]).toMatch(/^\s+llama-3\.1-8b-a100 spot\s+\.\s+\.\s+1\s+\.$/);
  });

  it('compares the plan with every baseline, infeasible ones marked, costs relative to the plan', () => {
    const row = (label: string) => lines.find((l) => l.trimStart().startsWith(label))!;
    const peakVs = r.peak.solution.usd / r.plan.solution.usd - 1;
    expect(row('per-region peak')).toContain(`+${(peakVs * 100).toFixed(1)} %`);
    expect(row('single type: A100-SXM-80GB')).toMatch(/\bno\b/);
    expect(row('single type: H100-SXM-80GB')).toMatch(/99\.0 % ok/);
  });

  it('shows each what-if with its cost against the plan and why it reads as it does', () => {
    const lost = lines.find((l) => l.trimStart().startsWith('eu-west lost'))!;
    expect(lost).toContain(`+${(r.whatIfs[0].deltaVsPlan! * 100).toFixed(1)} %`);
    expect(lost).toContain("the plan's fleet without it: 93.0 %");
    expect(text).toContain('over budget');
  });

  it('gives cost per million input and output tokens per model and region, for the plan beside the best single type and peak provisioning', () => {
    const rows = lines.filter((l) => l.includes('0.125') && l.includes('2.500'));
    expect(rows.map((l) => l.trim().split(/\s{2,}/)[0])).toEqual(['plan', r.singleType[0].label.replace('single type: ', 'only '), 'per-region peak']);
    for (const row of rows) expect(row).toContain('us-east');
  });

  it('names what the plan cannot use, and why', () => {
    expect(text).toContain('warnings:');
    expect(text).toContain(r.warnings[0]);
    expect(renderPlanHtml(r)).toContain('<h2>Warnings</h2>');
  });

  it('fits in 100 columns', () => {
    const wide = lines.filter((l) => [...l].length > 100 && !l.includes('plan hand-built'));
    expect(wide).toEqual([]);
  });

  it('says so when there is no plan, with the solver\'s reason', () => {
    const bad = { ...r, plan: outcome('plan', infeasible('stream us-chat, hour 1: no offer can serve bucket p>32768'), null), savings: { vsPeak: null, vsBestSingleType: null } };
    const t = renderPlanText(bad);
    expect(t).toContain('no plan: infeasible — stream us-chat, hour 1: no offer can serve bucket p>32768');
    expect(t).toContain('(no replicas)');
  });
});

describe('the JSON report', () => {
  it('is the whole report, the same bytes for the same plan, without wall times', () => {
    const a = planJson(report(12.5));
    const b = planJson(report(99.25));
    expect(a).toBe(b);
    expect(a).not.toMatch(/solveMs|wallMs/);
    const back = JSON.parse(a) as PlanReport;
    expect(back.plan.solution.replicas).toEqual(report().plan.solution.replicas);
    expect(back.whatIfs.map((w) => w.name)).toEqual(['eu-west lost', HOSTILE]);
    expect(back.savings.vsPeak).toBeCloseTo(report().savings.vsPeak!, 5);
    expect(back.plan.check?.runs).toHaveLength(4);
  });

  it('writes non-finite numbers as null and rounds away floating-point noise', () => {
    const r = report();
    const odd = { ...r, plan: { ...r.plan, utilisation: Number.NaN, solution: { ...r.plan.solution, usd: 0.1 + 0.2 } } };
    const back = JSON.parse(planJson(odd));
    expect(back.plan.utilisation).toBeNull();
    expect(back.plan.solution.usd).toBe(0.3);
  });
});

describe('the HTML report', () => {
  const html = renderPlanHtml(report());

  it('escapes every name that comes from the plan', () => {
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
  });

  it('has the plots: replicas per region, cost per hour, demand, cost per outcome, attainment per hour', () => {
    expect(html).toContain('Replicas per hour: us-east');
    expect(html).toContain('Replicas per hour: eu-west');
    expect(html).toContain('Cost per hour');
    expect(html).toContain('Demand per hour, per stream');
    expect(html).toContain('USD a day, per outcome');
    expect(html).toContain('SLO attainment in the simulator, per checked hour');
    expect((html.match(/<svg /g) ?? []).length).toBe(6);
  });

  it('has the tables of the text report', () => {
    for (const h of ['Demand', 'Replicas per offer and hour', 'The plan beside its baselines', 'What-ifs', 'Cost per million tokens', "The simulator's check"]) {
      expect(html).toContain(`<h2>${h}`);
    }
    expect(html).toContain('<th>us-east/llama-3.1-8b-h100</th><td>2</td><td>3</td><td>2</td><td>1</td>');
  });
});
