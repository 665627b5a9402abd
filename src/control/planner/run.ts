import { checkHours, checkPlan } from './check.js';
import { streamsOf } from './demand.js';
import { applyWhatIf, buildProblem, offerWarnings, whatIfName } from './problem.js';
import { solvePlan } from './solve.js';
import type { LoadedPlan } from './spec.js';
import type { CheckResult, CheckRun, FailureScenario, PlanMode, PlanOutcome, PlanProblem, PlanReport, PlanSolution, Stream, WhatIfRow } from './types.js';
import { plannedUtilisation, unitCostsOf } from './unit-costs.js';

// One plan, end to end: the cheapest fleet (hour by hour, across regions), the baselines it is
// judged against (one GPU type; peak provisioning) and the what-ifs, each solved exactly and checked
// in the simulator. Only the plan itself is checked at every hour the plan asks for; the baselines
// and what-ifs at the 'peak' hours (each region's busiest and the quietest), which is where a fleet
// sized too small or too large shows, at a fraction of the simulator time.

export interface RunPlanOptions {
  /** false: no simulator runs at all (every `check` is null) */
  readonly check?: boolean;
  /** what is being done, and the whole run's fraction done (0–1) */
  readonly onProgress?: (what: string, fraction: number) => void;
}

const HOURLY: PlanMode = { fleet: 'hourly', local: false };
/** peak provisioning: one fleet for every hour, so each region holds its busiest hour's fleet all day */
const PEAK: PlanMode = { fleet: 'static', local: false };

/** progress weight of one solve against one simulated hour */
const SOLVE_WEIGHT = 1;
const RUN_WEIGHT = 3;

export async function runPlan(loaded: LoadedPlan, opts: RunPlanOptions = {}): Promise<PlanReport> {
  const { plan } = loaded;
  const checking = opts.check !== false;
  const streams = streamsOf(loaded);
  const problem = buildProblem(loaded, streams, { mode: HOURLY });
  const gpuTypes = [...new Set(problem.offers.map((o) => o.gpu))].sort();

  const planHours = checkHours(plan, problem, plan.check.hours);
  const peakHours = checkHours(plan, problem, 'peak');
  const busiest = busiestHour(streams, plan.hours);
  const lost = problem.scenarios.filter((f) => f !== 'normal');
  const failures = plan.failure.survive === 'any-region' && plan.check.failures ? lost : [];
  const survivorRegions = plan.whatIfs.filter((w) => w.kind === 'region-lost').map((w) => `lost:${w.region}` as FailureScenario);

  // A progress budget known up front: every solve, and every simulated hour that might be run.
  const solves = 1 + gpuTypes.length + 1 + plan.whatIfs.length;
  const runs = checking ? planHours.length + failures.length + (gpuTypes.length + 1 + plan.whatIfs.length) * peakHours.length + survivorRegions.length : 0;
  const total = solves * SOLVE_WEIGHT + runs * RUN_WEIGHT;
  let done = 0;
  const step = (what: string, weight: number) => {
    done += weight;
    opts.onProgress?.(what, Math.min(1, done / total));
  };

  /** checks `solution` over hours × scenarios; progress counted per run */
  const check = (p: PlanProblem, s: PlanSolution, what: string, hours: readonly number[], scenarios: readonly FailureScenario[], l: LoadedPlan = loaded): CheckResult | null => {
    const weight = hours.length * scenarios.length * RUN_WEIGHT;
    if (!checking || hours.length === 0 || scenarios.length === 0) return null;
    if (s.status !== 'optimal') {
      step(what, weight);
      return null;
    }
    const base = done;
    const r = checkPlan(l, p, s, {
      hours, scenarios, windowS: plan.check.windowS, seed: plan.seed, target: plan.check.attainment,
      onProgress: (f) => opts.onProgress?.(what, Math.min(1, (base + f * weight) / total)),
    });
    done = base;
    step(what, weight);
    return r;
  };

  const outcome = (label: string, p: PlanProblem, s: PlanSolution, gpu: readonly string[] | null, c: CheckResult | null): PlanOutcome => ({
    label, mode: p.mode, gpuTypes: gpu, offers: p.offers, solution: s,
    utilisation: s.status === 'optimal' ? plannedUtilisation(p, s, plan.utilisation) : 0,
    unitCosts: s.status === 'optimal' ? unitCostsOf(p, s) : [],
    check: c,
  });

  // the plan
  const warnings = offerWarnings(loaded, problem);
  const solution = await solvePlan(problem);
  step('solve plan', SOLVE_WEIGHT);
  const normal = check(problem, solution, 'check plan', planHours, ['normal']);
  const failed = check(problem, solution, 'check plan, regions lost', failures.length > 0 ? [busiest] : [], failures);
  const planOutcome = outcome('plan', problem, solution, null, mergeChecks(normal, failed));

  // one GPU type each (Mélange's baseline)
  const singles: PlanOutcome[] = [];
  for (const g of gpuTypes) {
    const p = buildProblem(loaded, streams, { mode: HOURLY, gpuTypes: [g] });
    const s = await solvePlan(p);
    step(`solve single type ${g}`, SOLVE_WEIGHT);
    singles.push(outcome(`single type: ${g}`, p, s, [g], check(p, s, `check single type ${g}`, peakHours, ['normal'])));
  }
  singles.sort((a, b) => rank(a) - rank(b) || a.label.localeCompare(b.label));

  // peak provisioning
  const peakProblem = buildProblem(loaded, streams, { mode: PEAK });
  const peakSolution = await solvePlan(peakProblem);
  step('solve per-region peak', SOLVE_WEIGHT);
  const peak = outcome('per-region peak', peakProblem, peakSolution, null, check(peakProblem, peakSolution, 'check per-region peak', peakHours, ['normal']));

  // what-ifs
  const whatIfs: WhatIfRow[] = [];
  for (const w of plan.whatIfs) {
    const name = w.name ?? whatIfName(w);
    const changed: LoadedPlan = { plan: applyWhatIf(plan, w), baseDir: loaded.baseDir };
    // only a demand what-if changes the streams; the others change what is offered
    const ws = w.kind === 'demand' ? streamsOf(changed) : streams;
    const p = buildProblem(changed, ws, { mode: HOURLY });
    // what the changed world cannot use that the plan could (a new price, spot capacity)
    for (const line of offerWarnings(changed, p)) if (!warnings.includes(line)) warnings.push(`${name}: ${line}`);
    const s = await solvePlan(p);
    step(`solve what-if ${name}`, SOLVE_WEIGHT);
    const o = outcome(name, p, s, null, check(p, s, `check what-if ${name}`, peakHours, ['normal'], changed));
    let survivors: CheckResult | null = null;
    if (w.kind === 'region-lost') {
      const scenario = `lost:${w.region}` as FailureScenario;
      // the plan's own failure check already ran this hour with this region lost: read it, do not re-run it
      const ran = failed?.runs.filter((r) => r.scenario === scenario && r.hour === busiest) ?? [];
      survivors = ran.length > 0 ? summarise(ran, plan.check.attainment, 0, 0) : check(problem, solution, `check survivors of ${name}`, [busiest], [scenario]);
      if (ran.length > 0) step(`check survivors of ${name}`, RUN_WEIGHT);
    }
    whatIfs.push({ name, kind: w.kind, outcome: o, deltaVsPlan: ratio(s, solution), survivors });
  }

  const best = singles.find((o) => o.solution.status === 'optimal');
  const saving = (base: PlanSolution | undefined): number | null => {
    const r = base === undefined ? null : ratio(solution, base);
    return r === null ? null : -r;
  };
  return {
    name: plan.name, description: plan.description, seed: plan.seed, hours: plan.hours,
    regions: problem.regions, streams,
    plan: planOutcome, singleType: singles, peak, whatIfs, warnings,
    savings: { vsPeak: saving(peakSolution), vsBestSingleType: saving(best?.solution) },
  };
}

/** feasible plans first, cheapest first */
const rank = (o: PlanOutcome): number => (o.solution.status === 'optimal' ? o.solution.usd : Number.POSITIVE_INFINITY);

/** a's cost ÷ b's − 1; null unless both were solved */
function ratio(a: PlanSolution, b: PlanSolution): number | null {
  if (a.status !== 'optimal' || b.status !== 'optimal' || !(b.usd > 0)) return null;
  return a.usd / b.usd - 1;
}

/** the hour with the most requests a second over every stream (the earliest of ties) */
export function busiestHour(streams: readonly Stream[], hours: number): number {
  let best = 0;
  let most = -1;
  for (let h = 0; h < hours; h++) {
    const r = streams.reduce((t, s) => t + (s.ratesPerS[h] ?? 0), 0);
    if (r > most) {
      most = r;
      best = h;
    }
  }
  return best;
}

/** The normal hours' check and the failure scenarios' check as one result. */
function mergeChecks(normal: CheckResult | null, failed: CheckResult | null): CheckResult | null {
  if (failed === null) return normal;
  const runs = [...(normal?.runs ?? []), ...failed.runs];
  const target = (normal ?? failed).target;
  return summarise(runs, target, (normal?.simulatedS ?? 0) + failed.simulatedS, (normal?.wallMs ?? 0) + failed.wallMs);
}

/**
 * A CheckResult from its runs: attainment is met ÷ requests, over the normal scenario's runs and
 * over the failure scenarios' runs apart; ok when every stream meets the target in both.
 */
export function summarise(runs: readonly CheckRun[], target: number, simulatedS: number, wallMs: number): CheckResult {
  const tally = (rs: readonly CheckRun[]) => {
    const by = new Map<string, { requests: number; met: number }>();
    for (const r of rs) for (const s of r.streams) {
      const t = by.get(s.stream) ?? { requests: 0, met: 0 };
      t.requests += s.requests;
      t.met += s.met;
      by.set(s.stream, t);
    }
    let requests = 0;
    let met = 0;
    let worst: { stream: string; attainment: number } | null = null;
    for (const [stream, t] of by) {
      requests += t.requests;
      met += t.met;
      if (t.requests === 0) continue;
      const a = t.met / t.requests;
      if (worst === null || a < worst.attainment) worst = { stream, attainment: a };
    }
    return { attainment: requests > 0 ? met / requests : null, worst, ran: rs.length > 0 };
  };
  const n = tally(runs.filter((r) => r.scenario === 'normal'));
  const f = tally(runs.filter((r) => r.scenario !== 'normal'));
  const meets = (t: ReturnType<typeof tally>) => !t.ran || (t.worst === null ? true : t.worst.attainment >= target);
  return {
    runs,
    // a check of the failure scenarios alone has no normal runs: its attainment is theirs
    attainment: n.attainment ?? f.attainment ?? 1,
    worstStream: n.ran ? n.worst : f.worst,
    failureAttainment: f.ran ? f.attainment ?? 1 : null,
    target,
    ok: meets(n) && meets(f),
    simulatedS,
    wallMs,
  };
}
