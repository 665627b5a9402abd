import { performance } from 'node:perf_hooks';
import { resolve } from 'node:path';
import { parseScenario, runScenario, type RunRecords, type Scenario } from '../../sim/index.js';
import { poolReplicaId } from '../../sim/scenario.js';
import { deriveSeed, readTrace, seededRandom } from '../../sim/workload/index.js';
import type { TraceTable } from '../../sim/workload/replay.js';
import { bucketIdOf } from './demand.js';
import { latencyOf } from './problem.js';
import { PlanError, type LoadedPlan, type PlanSpec } from './spec.js';
import type { CheckResult, CheckRun, FailureScenario, Offer, PlanProblem, PlanSolution, Stream, TokenCount } from './types.js';
import { wallClock, type Clock } from '../../time/index.js';

// A plan is only as good as the fleet it buys serving the traffic it was sized for. Each checked
// hour (in each failure scenario) becomes a simulator scenario: that hour's fleet, one pool per
// offer, the plan's regions and latencies, one tenant per demand stream sending at that hour's rate,
// routed by the gateway's default profile (not the solver's routes: the live gateway follows none).
// Attainment is judged here, per stream against its own tier, from the run's request records.

export interface CheckOptions {
  /** hours of the horizon to run (checkHours picks them) */
  readonly hours: readonly number[];
  /** each hour is run once per scenario */
  readonly scenarios: readonly FailureScenario[];
  /** seconds of arrivals per run */
  readonly windowS: number;
  readonly seed: number;
  /** the attainment every stream needs, 0–1 */
  readonly target: number;
  /** 0–1, after each run */
  readonly onProgress?: (fraction: number) => void;
  /** what times the check (default the wall's; never in the deterministic report) */
  readonly clock?: Clock;
}

/**
 * The fleet starts empty and its caches cold: arrivals in the first tenth of a window warm it and
 * are not counted (a lost region's crash is also detected within it).
 */
const WARMUP_SHARE = 0.1;
/** successive hours start this share of a trace apart (mod 1): the golden ratio's part spreads the starts and never repeats one */
const GOLDEN = 0.6180339887498949;
/** fewer trace rows than this in a window: scale by the stretch's mean rate, not by the run's */
const MIN_TRACE_RUN = 20;
/** virtual seconds a run may drain after its arrivals end; what is still open then failed */
const MIN_DRAIN_S = 300;
/**
 * requests one run may send: the simulator does ~7 000 a CPU-second here, so this is a run of a
 * few minutes; beyond it a plan at 10⁵ req/s (which the schema admits) would run for days
 */
export const MAX_CHECK_REQUESTS = 1_000_000;

/** Run the plan's fleet in the simulator, hour by hour and scenario by scenario. */
export function checkPlan(loaded: LoadedPlan, problem: PlanProblem, solution: PlanSolution, opts: CheckOptions): CheckResult {
  const clock = opts.clock ?? wallClock;
  const t0 = clock.monoMs();
  if (solution.status !== 'optimal') {
    // nothing was bought: there is no fleet to check
    return { runs: [], attainment: 0, worstStream: null, failureAttainment: null, target: opts.target, ok: false, simulatedS: 0, wallMs: 0 };
  }
  for (const hour of opts.hours) {
    const n = problem.streams.reduce((a, s) => a + (s.ratesPerS[hour] ?? 0), 0) * opts.windowS;
    if (n > MAX_CHECK_REQUESTS) {
      throw new PlanError(`check.windowS: hour ${hour} sends ${Math.round(n).toLocaleString('en-US')} requests in a ${opts.windowS} s window, more than the ${MAX_CHECK_REQUESTS.toLocaleString('en-US')} one simulator run may; shorten check.windowS or plan without the check (--no-check)`);
    }
  }
  const traces = new Map<string, TraceTable>();
  const pairs = opts.hours.flatMap((hour) => opts.scenarios.map((scenario) => ({ hour, scenario })));
  const runs: CheckRun[] = [];
  let simulatedS = 0;
  pairs.forEach(({ hour, scenario }, k) => {
    const r = checkOne(loaded, problem, solution, hour, scenario, opts, traces);
    runs.push(r.run);
    simulatedS += r.simulatedS;
    opts.onProgress?.((k + 1) / pairs.length);
  });
  return { ...summarise(runs, opts.target), simulatedS, wallMs: clock.monoMs() - t0 };
}

/**
 * The hours to check. `all`: every hour; `peak`: each region's busiest hour (by the rate of the
 * streams that originate there) and the horizon's quietest, without repeats, in order; a list as given.
 */
export function checkHours(plan: PlanSpec, problem: PlanProblem, which: 'all' | 'peak' | readonly number[]): number[] {
  const hours = Math.min(plan.hours, problem.hours);
  if (which === 'all') return Array.from({ length: hours }, (_, h) => h);
  if (which !== 'peak') return [...which];
  const total = (streams: readonly Stream[], h: number) => streams.reduce((a, s) => a + (s.ratesPerS[h] ?? 0), 0);
  const argBy = (f: (h: number) => number, better: (a: number, b: number) => boolean) => {
    let best = 0;
    for (let h = 1; h < hours; h++) if (better(f(h), f(best))) best = h;
    return best;
  };
  const out = new Set<number>();
  for (const region of problem.regions) {
    const mine = problem.streams.filter((s) => s.origin === region);
    if (mine.length > 0) out.add(argBy((h) => total(mine, h), (a, b) => a > b));
  }
  out.add(argBy((h) => total(problem.streams, h), (a, b) => a < b));
  return [...out].sort((a, b) => a - b);
}

// ── one run ─────────────────────────────────────────────────────────────────────

/** One (hour, scenario) of a plan as the simulator's input. */
export interface CheckScenario {
  /** parsed by the sim's own schema */
  readonly scenario: Scenario;
  /** the run's seed (the hour's: hours do not share draws; an hour's scenarios do) */
  readonly seed: number;
  /** spot preemptions among its faults */
  readonly preemptions: number;
}

interface Built {
  readonly sim: CheckScenario | null;
  /** the streams sent, with their tiers; the offers with replicas and the pool each became */
  readonly streams: readonly { readonly s: Stream; readonly tier: Tier }[];
  readonly offers: readonly { readonly o: Offer; readonly i: number; readonly n: number; readonly pool: Pool }[];
}

type Tier = { readonly ttftMs: number; readonly itlMs: number };
type Pool = { readonly region: string; readonly model: string; readonly name: string };

/**
 * The simulator scenario that checks one hour of a solved plan in one failure scenario; null when
 * the hour has nothing to send or no replica to send it to.
 */
export function checkScenarioOf(loaded: LoadedPlan, problem: PlanProblem, solution: PlanSolution, hour: number, scenario: FailureScenario, opts: { readonly windowS: number; readonly seed: number }): CheckScenario | null {
  return build(loaded, problem, solution, hour, scenario, opts, new Map()).sim;
}

function build(loaded: LoadedPlan, problem: PlanProblem, solution: PlanSolution, hour: number, scenario: FailureScenario, opts: { readonly windowS: number; readonly seed: number }, traces: Map<string, TraceTable>): Built {
  const plan = loaded.plan;
  const lost = scenario === 'normal' ? null : scenario.slice('lost:'.length);
  const hourSeed = deriveSeed(opts.seed, hour + 1);
  // demand pinned by residency to the lost region cannot move: the solver lists it as unprotected,
  // and it is not sent here (it would count as missed for want of any allowed replica)
  const sent = problem.streams.map((s, i) => ({ s, i })).filter(({ s }) => (s.ratesPerS[hour] ?? 0) > 0 && s.allowed.some((r) => r !== lost));
  const streams = sent.map(({ s }) => ({ s, tier: tierOf(plan, s) }));
  const row = solution.replicas[hour] ?? [];
  const offers = problem.offers.map((o, i) => ({ o, i, n: row[i] ?? 0 })).filter((x) => x.n > 0)
    // every offer is its own pool, named so two offers of one model in a region get distinct ids
    .map((x) => ({ ...x, pool: { region: x.o.region, model: x.o.model, name: poolName(x.o.profile, x.o.spot) } }));
  if (streams.length === 0 || offers.length === 0) return { sim: null, streams, offers };
  const fleet = offers.map(({ o, n, pool }) => {
    const hw = plan.hardware.find((h) => h.profile === o.profile && h.model === o.model);
    return { ...pool, profile: o.profile, replicas: n, costPerGpuHour: o.usdPerGpuHour, engine: { ...(hw?.engine ?? {}) } };
  });
  // a lost region is a crash of all its replicas at t = 0, not a fleet without them: the gateway
  // then learns of the outage as it does live (refused connections, the next health probe) and
  // retries elsewhere, and its clients keep their home region and cross the network from it
  const faults: Record<string, unknown>[] = lost === null ? [] : [{ kind: 'crash', region: lost, atS: 0 }];
  let preemptions = 0;
  for (const { o, i, n, pool } of offers) {
    // a lost region's replicas are down for good: a preemption's end would restart one
    if (!o.spot || o.preemptionsPerHour <= 0 || o.region === lost) continue;
    for (let j = 0; j < n; j++) {
      for (const atS of preemptionTimes(deriveSeed(deriveSeed(hourSeed, 0x5907 + i), j + 1), o.preemptionsPerHour, o.replaceS, opts.windowS)) {
        faults.push({ kind: 'crash', replica: poolReplicaId(pool, j), atS, forS: o.replaceS });
        preemptions++;
      }
    }
  }
  const raw = {
    name: `${plan.name}-hour-${hour}${lost === null ? '' : `-lost-${lost}`}`,
    description: `hour ${hour} of ${plan.name}${lost === null ? '' : `, ${lost} lost`}`,
    seed: hourSeed,
    durationS: opts.windowS,
    drainLimitS: Math.max(MIN_DRAIN_S, opts.windowS),
    regions: regionsOf(plan),
    intraRegionLatencyMs: 0.5,
    fleet,
    tenants: Object.fromEntries(streams.map(({ s }) => [s.id, { region: s.origin, allowedRegions: [...s.allowed] }])),
    workload: {
      kind: 'mix',
      parts: sent.flatMap(({ s, i }) => partsOf(loaded, s, hour, opts.windowS, deriveSeed(hourSeed, i + 1), traces)),
    },
    faults,
    // the sim's goodput uses one SLO: the loosest tier's (attainment per tier is judged here)
    slo: { ttftMs: Math.max(...streams.map((x) => x.tier.ttftMs)), tpotMs: Math.max(...streams.map((x) => x.tier.itlMs)) },
  };
  const sim = { scenario: parseScenario(raw, `the check of hour ${hour} (${scenario})`), seed: hourSeed, preemptions };
  return { sim, streams, offers };
}

interface OneRun {
  readonly run: CheckRun;
  readonly simulatedS: number;
}

function checkOne(loaded: LoadedPlan, problem: PlanProblem, solution: PlanSolution, hour: number, scenario: FailureScenario, opts: CheckOptions, traces: Map<string, TraceTable>): OneRun {
  const b = build(loaded, problem, solution, hour, scenario, opts, traces);
  const from = opts.windowS * WARMUP_SHARE;
  if (b.sim === null) {
    // nothing sent, or nowhere to send it (every request would miss: counted at the hour's rate)
    const rows = b.streams.map(({ s }) => ({ stream: s.id, requests: Math.round(s.ratesPerS[hour] * (opts.windowS - from)), met: 0 }));
    return { run: { hour, scenario, streams: rows, utilisation: [], tokens: [], preemptions: 0 }, simulatedS: 0 };
  }
  const { runs } = runScenario({ scenario: b.sim.scenario, baseDir: loaded.baseDir }, { seed: b.sim.seed });
  const rec = runs[0];
  return {
    run: {
      hour, scenario,
      streams: b.streams.map(({ s, tier }) => attainmentOf(rec, s.id, tier, from)),
      utilisation: b.offers.map(({ o, i, n, pool }) => utilisationOf(rec, loaded.plan, problem, i, n, pool, from, opts.windowS)),
      tokens: tokensOf(rec),
      preemptions: b.sim.preemptions,
    },
    simulatedS: opts.windowS,
  };
}

/** `llama-3.1-8b-h100`, `llama-3.1-8b-h100-spot`: unique per region, as offers are */
function poolName(profile: string, spot: boolean): string {
  return spot ? `${profile}-spot` : profile;
}

function tierOf(plan: PlanSpec, s: Stream): Tier {
  const t = plan.tiers[s.tier];
  if (t === undefined) throw new RangeError(`stream ${s.id}: the plan has no tier "${s.tier}"`);
  return t;
}

/**
 * The plan's regions with every pair's latency stated by the planner's rule (problem.ts: either
 * side's, the larger if both; an unstated pair the largest stated): the sim would put its own 75 ms
 * on an unstated pair, and the plan was sized with the planner's figure.
 */
function regionsOf(plan: PlanSpec): { name: string; latencyMs: Record<string, number> }[] {
  const latency = latencyOf(plan);
  return plan.regions.map((r, i) => ({ name: r.name, latencyMs: Object.fromEntries(plan.regions.slice(i + 1).map((o) => [o.name, latency(r.name, o.name)])) }));
}

/** Preemption times of one spot replica over the window: a Poisson process of its up time (a preempted replica is not preempted again until it is back). */
function preemptionTimes(seed: number, perHour: number, replaceS: number, windowS: number): number[] {
  const random = seededRandom(seed);
  const rate = perHour / 3600;
  const out: number[] = [];
  let t = 0;
  for (;;) {
    t += -Math.log(1 - random()) / rate;
    if (t >= windowS) return out;
    out.push(t);
    t += replaceS;
  }
}

// ── the workload ────────────────────────────────────────────────────────────────

/**
 * One stream's arrivals for the hour. Lengths: Poisson at the hour's rate. A trace: a run of its
 * rows (within the stretch the demand names), as many as the hour's rate sends in the window,
 * replayed rate-scaled so they fill the window exactly: the window gets the hour's rate and keeps
 * the trace's own bursts (scaling by the trace's mean rate instead would hand a short window the
 * local rate of whatever stretch it lands on, off by a third on the Azure traces). The run starts
 * at a row that moves with the hour, so hours do not replay the same seconds; when the window needs
 * more rows than the stretch has, several runs from different starts share them (the mix keeps
 * their prompts apart).
 */
function partsOf(loaded: LoadedPlan, s: Stream, hour: number, windowS: number, seed: number, traces: Map<string, TraceTable>): Record<string, unknown>[] {
  const d = loaded.plan.demand.find((x) => x.name === s.id);
  if (d === undefined) throw new RangeError(`stream ${s.id}: no demand entry of that name in the plan`);
  const rate = s.ratesPerS[hour];
  const who = { tenant: s.id, model: s.model, name: s.id };
  const r = d.requests;
  if (r.kind === 'lengths') return [{ kind: 'poisson', ...who, seed, ratePerS: rate, prompt: r.prompt, output: r.output, durationS: windowS }];
  const file = resolve(loaded.baseDir, r.file);
  let table = traces.get(`${r.kind}:${file}`);
  if (table === undefined) traces.set(`${r.kind}:${file}`, (table = readTrace(r.kind, file)));
  const t = table.timeS;
  const from = r.startS ?? 0;
  const first = lowerBound(t, from);
  const last = (r.durationS === undefined ? table.rows : lowerBound(t, from + r.durationS + 1e-9)) - 1;
  const spanS = t[last] - t[first];
  if (!(last > first) || !(spanS > 0)) throw new RangeError(`demand ${s.id}: its trace ${r.file} has fewer than two requests from ${from} s${r.durationS === undefined ? '' : ` over ${r.durationS} s`}; it cannot set a rate`);
  const rows = last - first + 1;
  const n = Math.round(rate * windowS);
  const part = (j: number, startS: number, rateScale: number) => ({ kind: r.kind, ...who, seed: deriveSeed(seed, j + 1), file: r.file, startS, rateScale, durationS: windowS });
  if (n < MIN_TRACE_RUN) {
    // too few rows for a run to set the rate: the stretch's mean rate does
    const rateScale = rate / ((rows - 1) / spanS);
    return [part(0, t[first] + frac(hour * GOLDEN) * Math.max(0, spanS - windowS * rateScale), rateScale)];
  }
  // runs of at most nine tenths of the stretch, so starts have room to move
  const k = Math.ceil(n / Math.max(1, Math.floor(rows * 0.9)));
  const per = Math.ceil(n / k);
  return Array.from({ length: k }, (_, j) => {
    const i0 = first + Math.floor(frac((hour * k + j) * GOLDEN) * (rows - per));
    const runS = t[i0 + per - 1] - t[i0];
    // a run of rows all at one instant cannot be stretched: the stretch's mean rate sets it
    const rateScale = runS > 0 ? runS / (windowS * (per - 1) / per) : rate / ((rows - 1) / spanS) / k;
    return part(j, t[i0], rateScale);
  });
}

function frac(x: number): number {
  return x - Math.floor(x);
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// ── what the run says ───────────────────────────────────────────────────────────

/**
 * A stream's requests after the warm-up, and those ok within its tier: TTFT as the client sees it
 * (network included) and mean ITL over its tokens after the first. Rejected, failed or shed: missed.
 */
function attainmentOf(rec: RunRecords, stream: string, tier: Tier, fromS: number): CheckRun['streams'][number] {
  const ttftS = tier.ttftMs / 1000;
  const itlS = tier.itlMs / 1000;
  let requests = 0;
  let met = 0;
  for (const q of rec.requests) {
    if (q.tenant !== stream || q.arrivalS < fromS) continue;
    requests++;
    if (q.outcome !== 'ok' || q.firstTokenS - q.arrivalS > ttftS) continue;
    if (q.outputLen > 1 && (q.finishS - q.firstTokenS) / (q.outputLen - 1) > itlS) continue;
    met++;
  }
  return { stream, requests, met };
}

/**
 * How full an offer's replicas ran against the planner's own capacity model: the requests they
 * served after the warm-up, each weighed as 1 ÷ one replica's full SLO capacity for its stream and
 * request-size class (problem.capacity ÷ the plan's utilisation ceiling), per replica-second.
 * 1 is the rate at which the engine model puts the p99s exactly at the SLO; the plan aims at its
 * ceiling (0.85 by default); above 1 the replicas carry more than the model says they can.
 * (Busy time ÷ up time, the obvious figure, reads ~1 under any steady load: a batching engine is
 * busy whenever one sequence runs, so it says nothing of headroom.) Requests that did not finish
 * are left out (their output length is unknown); a lost region's replicas serve nothing: 0.
 */
function utilisationOf(rec: RunRecords, plan: PlanSpec, problem: PlanProblem, o: number, replicas: number, pool: Pool, fromS: number, windowS: number): CheckRun['utilisation'][number] {
  const ids = new Set(Array.from({ length: replicas }, (_, j) => poolReplicaId(pool, j)));
  const streams = new Map(problem.streams.map((s, i) => [s.id, i]));
  /** per stream: bucket id → one replica's full capacity; and the share-weighted fallback for a shape its buckets never saw */
  const caps = new Map<number, { byId: Map<string, number>; mix: number }>();
  const capsOf = (s: number) => {
    let c = caps.get(s);
    if (c === undefined) {
      const byId = new Map<string, number>();
      let share = 0;
      let work = 0;
      problem.streams[s].buckets.forEach((b, bi) => {
        const cap = (problem.capacity[s]?.[bi]?.[o] ?? 0) / plan.utilisation;
        if (!(cap > 0)) return;
        byId.set(b.id, cap);
        share += b.share;
        work += b.share / cap;
      });
      caps.set(s, (c = { byId, mix: work > 0 ? share / work : 0 }));
    }
    return c;
  };
  let load = 0;
  for (const q of rec.requests) {
    if (q.replica === null || !ids.has(q.replica) || q.outcome !== 'ok' || q.arrivalS < fromS || q.arrivalS > windowS) continue;
    const s = streams.get(q.tenant);
    if (s === undefined) continue;
    const c = capsOf(s);
    const cap = c.byId.get(bucketIdOf(q.promptLen, Math.max(1, q.outputLen), plan.buckets.prompt, plan.buckets.output)) ?? c.mix;
    if (cap > 0) load += 1 / cap;
  }
  const replicaS = replicas * (windowS - fromS);
  return { offer: problem.offers[o].id, replicas, busy: replicaS > 0 ? load / replicaS : 0 };
}

/** From the engines' counters: prompt tokens (cached ones included, as vLLM counts them), the prefix cache's hits, tokens generated. */
function tokensOf(rec: RunRecords): TokenCount[] {
  const by = new Map<string, { model: string; region: string; inputTokens: number; cachedInputTokens: number; outputTokens: number }>();
  for (const r of rec.replicas) {
    const key = `${r.model}\n${r.region}`;
    let t = by.get(key);
    if (t === undefined) by.set(key, (t = { model: r.model, region: r.region, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0 }));
    t.inputTokens += r.promptTokens;
    t.cachedInputTokens += Math.min(r.prefixHits, r.promptTokens);
    t.outputTokens += r.generationTokens;
  }
  return [...by.values()].sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
}

/**
 * Attainment over the normal scenario's runs, its worst stream, and over the failure scenarios'.
 * Runs of failure scenarios alone (a region-lost what-if's survivors) are judged on those. The plan
 * is ok when every stream meets the target in every scenario run.
 */
function summarise(runs: readonly CheckRun[], target: number): Omit<CheckResult, 'simulatedS' | 'wallMs'> {
  const normal = runs.filter((r) => r.scenario === 'normal');
  const failure = runs.filter((r) => r.scenario !== 'normal');
  const share = (rs: readonly CheckRun[]) => {
    let requests = 0;
    let met = 0;
    for (const r of rs) for (const s of r.streams) {
      requests += s.requests;
      met += s.met;
    }
    return requests > 0 ? met / requests : null;
  };
  const worstOf = (rs: readonly CheckRun[]) => {
    const per = new Map<string, { requests: number; met: number }>();
    for (const r of rs) for (const s of r.streams) {
      const p = per.get(s.stream) ?? { requests: 0, met: 0 };
      per.set(s.stream, { requests: p.requests + s.requests, met: p.met + s.met });
    }
    let worst: { stream: string; attainment: number } | null = null;
    for (const [stream, p] of per) {
      if (p.requests === 0) continue;
      const a = p.met / p.requests;
      if (worst === null || a < worst.attainment) worst = { stream, attainment: a };
    }
    return worst;
  };
  const judged = normal.length > 0 ? normal : failure;
  const attainment = share(judged) ?? 1;
  const worstStream = worstOf(judged);
  const failureAttainment = failure.length > 0 ? share(failure) ?? 1 : null;
  const failureWorst = worstOf(failure);
  const ok = attainment >= target && (worstStream === null || worstStream.attainment >= target)
    && (failureAttainment === null || failureAttainment >= target) && (failureWorst === null || failureWorst.attainment >= target);
  return { runs, attainment, worstStream, failureAttainment, target, ok };
}
