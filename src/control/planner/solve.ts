import highsModule, { type Highs } from 'highs';
import { wallClock, type Clock } from '../../time/index.js';
import type { FailureScenario, PlanProblem, PlanSolution, Route } from './types.js';

// The planner's exact solver: a mixed-integer programme handed to HiGHS as CPLEX LP text.
//
//   n[h][o] ∈ ℤ≥0   replicas of offer o in hour h (mode static: one n[o] held every hour)
//   x[f,h,s,b,o] ≥ 0 the share of stream s's bucket b routed to offer o in scenario f and hour h,
//                    only where the offer can serve it (capacity > 0, its region allowed, not the
//                    region lost in f, and in mode local the stream's origin)
//   demand    Σ_o x = 1                                          every (f, h, s, b) with demand
//   capacity  Σ_{s,b} x · demand/capacity ≤ availability · n      every (f, h, o)
//   blocking  Σ_{s,b} x · demand · blocking ≤ blockingShare · availability · n   every (f, h, o)
//   one type  n ≤ M · y,  Σ_gpu y ≤ 1,  y ∈ {0, 1}                 every (h, model, region) unless mixTypesInRegion
//   budget    Σ gpus · n ≤ budget                                 every (h, region budget)
//   minimise  Σ n · gpus · usdPerGpuHour  +  ε · cross-region routed req/s
//
// Blocking (head-of-line): the gateway spreads a region's requests over its replicas blind to their
// size, and a replica prefills one prompt's chunks ahead of a newer one's. A request of bucket b
// arriving at rate λ_b on a replica holds it in a prefill with more than B seconds left for
// (S_b − B)⁺ seconds (S_b its prefill, B the wait a tight request can bear). Poisson arrivals see
// time averages (PASTA), so a share Σ_b λ_b·(S_b − B)⁺ of tight arrivals find such a prefill and
// miss their TTFT, whatever the capacity row says (it is linear in load and cannot see one class
// stall another). blocking[s][b][o] is (S_b − B)⁺ weighed over the least patient stream's classes
// (problem.ts). With the offer's demand balanced over its n replicas, λ_b = x·demand/n, and that
// share ≤ blockingShare is the row above: linear in x and n.
// One type: with every size sent to every replica of a region, a plan that buys H100s for long
// prompts and A100s for chat sees long prompts on the A100s; so a region holds one GPU type per model
// and hour (y picks it; spot and on-demand of it mix). M is the most replicas the offer could need,
// every request that may reach it routed to it in the worst scenario: never binding otherwise.
//
// Routing shares rather than rates keep the rows well scaled whatever the rates (1e-3…1e4 req/s):
// demand rows are all 1 and a capacity coefficient is the replicas the bucket would need alone.
// Replicas in one hour never constrain another's, so mode hourly solves one small MILP per hour,
// and the sum of the hours' optima is the optimum of the whole. Mode static adds hours to one MILP
// only as its fleet fails to carry them (solveStatic), which is exact too.

export interface SolveOptions {
  /** wall seconds the solver may take over every hour together (default 60) */
  readonly timeLimitS?: number;
  /** what times the solve and its limit (default the wall's) */
  readonly clock?: Clock;
  /**
   * where the normal scenario (every region up) may route a stream. `home` (default): in its origin
   * region wherever an offer there can serve the request size, as the gateway's local-first routing
   * does (it spills to another region only once the local replicas are saturated, i.e. past the SLO,
   * so a plan that counts on sending part of a region's traffic away in normal hours overloads the
   * origin in the simulator and live). `free`: anywhere its residency allows, for a router that
   * follows the plan's routes. Failure scenarios route freely either way.
   */
  readonly normalRouting?: 'home' | 'free';
}

/** when the solver must stop: a time on `clock`'s monotonic ms */
interface Deadline {
  readonly clock: Clock;
  readonly atMs: number;
}

/** USD per req/s routed away from its origin: breaks ties towards local routing, far below any GPU price */
const CROSS_REGION_USD = 1e-6;
/**
 * the most the tie-break may add to one model's objective, USD: with a fixed ε per req/s, a plan
 * of 10⁴ req/s in 20 scenarios could weigh whole dollars against the GPU cost and buy a dearer
 * fleet to keep traffic local; scaled down so it only ever decides between fleets within 0.1 cent
 */
const MAX_TIE_BREAK_USD = 1e-3;
/** routing variables one model may hold (a static fleet's block holds several hours): beyond it, memory, not time, runs out */
const MAX_MODEL_ROUTES = 1_000_000;
/** demand below this (req/s) is none */
const NO_DEMAND = 1e-12;
/** routes below this (req/s) are solver noise */
const MIN_ROUTE = 1e-9;
/** infeasible demand named in a message before "and N more" */
const MAX_NAMED = 5;

// highs ships CommonJS types beside an ES module build: under NodeNext the default import types as
// the CommonJS exports object, while the ES build's default export is the loader itself.
type Loader = typeof highsModule.default;
const loadHighs: Loader = (highsModule as unknown as { default?: Loader }).default ?? (highsModule as unknown as Loader);

let highs: Promise<Highs> | null = null;
/** the wasm is compiled once per process; each solve() makes its own native instance */
function solver(): Promise<Highs> {
  // a failed load is not kept: the next solve tries again
  highs ??= loadHighs().catch((err: unknown) => {
    highs = null;
    throw err;
  });
  return highs;
}

/** a routing variable's place in the model */
interface XVar {
  readonly name: string;
  readonly f: number;
  readonly h: number;
  readonly s: number;
  readonly b: number;
  readonly o: number;
  /** req/s of the bucket: the route's rate is share × this */
  readonly demand: number;
}

interface Model {
  readonly text: string;
  readonly xs: readonly XVar[];
  /** per offer, the name of its replica variable in hour h (null: no variable, so none bought) */
  nName(h: number, o: number): string | null;
  readonly slacks: readonly { readonly name: string; readonly h: number; readonly budget: number }[];
}

/** where the one-type rule applies: one model in one region */
const siteOf = (of: PlanProblem['offers'][number]) => `${of.model}\n${of.region}`;

/** Where each (scenario, stream, bucket) may go, hour-independent: offer indices. */
interface Reach {
  /** eligible[f][s][b]: offers that can carry it; eligible[f][s] null when the stream is left out of f (unprotected) */
  readonly eligible: readonly (readonly (readonly (readonly number[])[] | null)[])[];
  readonly lost: readonly (string | null)[];
  /** the regions each stream may be served in, mode local applied */
  readonly allowed: readonly (readonly string[])[];
}

function lostRegion(f: FailureScenario): string | null {
  return f === 'normal' ? null : f.slice('lost:'.length);
}

function reachOf(p: PlanProblem, normalRouting: 'home' | 'free'): Reach {
  const regions = new Set(p.regions);
  const allowed = p.streams.map((st) => st.allowed.filter((r) => regions.has(r) && (!p.mode.local || r === st.origin)));
  const lost = p.scenarios.map(lostRegion);
  const eligible = p.scenarios.map((_, f) =>
    p.streams.map((st, s): number[][] | null => {
      const here = allowed[s];
      if (lost[f] !== null && here.length > 0 && here.every((r) => r === lost[f])) return null;
      return st.buckets.map((_b, b) => {
        const out: number[] = [];
        p.offers.forEach((of, o) => {
          // with no blocking allowance (attainment 1) a class that blocks tight requests cannot go there at all
          const blocks = !(p.blockingShare > 0) && (p.blocking[s]?.[b]?.[o] ?? 0) > 0;
          if ((p.capacity[s]?.[b]?.[o] ?? 0) > 0 && !blocks && here.includes(of.region) && of.region !== lost[f]) out.push(o);
        });
        // local-first: with every region up, a size the origin can serve is served there
        const home = out.filter((o) => p.offers[o].region === st.origin);
        return normalRouting === 'home' && lost[f] === null && home.length > 0 ? home : out;
      });
    }),
  );
  return { eligible, lost, allowed };
}

function demandOf(p: PlanProblem, h: number, s: number, b: number): number {
  const d = (p.streams[s].ratesPerS[h] ?? 0) * p.streams[s].buckets[b].share;
  return Number.isFinite(d) && d > NO_DEMAND ? d : 0;
}

/** Demand nothing can carry, found before the solver is asked: one line per (stream, bucket). */
function unservable(p: PlanProblem, reach: Reach): string[] {
  const lines: string[] = [];
  p.streams.forEach((st, s) => {
    const firstHour = st.ratesPerS.findIndex((r) => r > NO_DEMAND);
    if (firstHour < 0) return;
    if (reach.allowed[s].length === 0) {
      const why = p.mode.local ? `it is planned in its origin ${st.origin} only and its residency (${st.allowed.join(', ') || 'none'}) excludes it` : `none of its allowed regions (${st.allowed.join(', ') || 'none'}) is one of the plan's regions`;
      lines.push(`stream "${st.id}" has demand from hour ${firstHour} but no region to be served in: ${why}`);
      return;
    }
    /** a bucket is named once, in the first scenario that cannot carry it (normal comes first) */
    const named = new Set<number>();
    p.scenarios.forEach((f, fi) => {
      st.buckets.forEach((bk, b) => {
        const el = reach.eligible[fi][s];
        if (el === null || el[b].length > 0 || named.has(b)) return;
        named.add(b);
        const hour = st.ratesPerS.findIndex((_, h) => demandOf(p, h, s, b) > 0);
        if (hour < 0) return;
        const where = reach.allowed[s].filter((r) => r !== reach.lost[fi]);
        const ofModel = p.offers.some((of) => of.model === st.model && where.includes(of.region));
        const lostNote = reach.lost[fi] === null ? '' : `with ${reach.lost[fi]} lost, `;
        const why = ofModel
          ? `no offer of ${st.model} in ${where.join(', ')} serves requests of this size within tier "${st.tier}"'s SLO (add a profile with the context and speed for it, relax the tier, or widen the stream's residency)`
          : `nothing in ${where.join(', ')} offers ${st.model} (offer a profile for it there, or widen the stream's residency)`;
        lines.push(`stream "${st.id}" bucket "${bk.id}" (hour ${hour}, scenario ${f}): ${lostNote}${why}`);
      });
    });
  });
  return lines;
}

const num = (v: number): string => {
  if (!Number.isFinite(v)) throw new Error(`a coefficient of the model is not finite (${v}); check the problem's rates, capacities and prices`);
  return String(v);
};

/** what a model is built for */
type Build =
  /** the fleet and its routing, priced */
  | { readonly kind: 'plan' }
  /** budgets may be exceeded at 1 per GPU and nothing else is priced: the least excess names the budget at fault */
  | { readonly kind: 'elastic' }
  /** the routing of a given fleet (replicas per offer), an LP: infeasible when the fleet cannot carry the hour */
  | { readonly kind: 'route'; readonly fleet: readonly number[] };

/** The LP text over `hours` (one hour in mode hourly; the hours a static fleet must carry). */
function buildModel(p: PlanProblem, reach: Reach, hours: readonly number[], build: Build): Model | null {
  const shared = p.mode.fleet === 'static';
  const fleet = build.kind === 'route' ? build.fleet : null;
  const nOf = (h: number, o: number) => (shared ? `n_${o}` : `n_${h}_${o}`);
  const used = new Set<string>();
  const xs: XVar[] = [];
  const obj: string[] = [];
  /** the tie-break's terms: routed away from the origin, weighed once their total is known */
  const cross: XVar[] = [];
  const rows: string[] = [];
  let row = 0;
  /** per replica variable: the most replicas its offer could need (the one-type rule's M) */
  const most = new Map<string, number>();

  for (const h of hours) {
    for (let f = 0; f < p.scenarios.length; f++) {
      /** per offer, the capacity row's terms, and the blocking row's */
      const load = new Map<number, string[]>();
      const block = new Map<number, string[]>();
      /** per offer, replicas it needs if it carries everything that may reach it: capacity, blocking */
      const need = new Map<number, [number, number]>();
      for (let s = 0; s < p.streams.length; s++) {
        const st = p.streams[s];
        const bySb = reach.eligible[f][s];
        if (bySb === null) continue;
        for (let b = 0; b < st.buckets.length; b++) {
          const d = demandOf(p, h, s, b);
          if (d === 0) continue;
          const terms: string[] = [];
          for (const o of bySb[b]) {
            if (fleet !== null && !(fleet[o] > 0)) continue;
            const name = `x_${f}_${h}_${s}_${b}_${o}`;
            const x = { name, f, h, s, b, o, demand: d };
            xs.push(x);
            if (xs.length > MAX_MODEL_ROUTES) throw new Stop('error', `the model for ${hoursLabel(hours)} needs more than ${MAX_MODEL_ROUTES.toLocaleString('en-US')} routing variables; plan fewer streams, buckets or offers, or fewer hours`);
            terms.push(name);
            if (build.kind !== 'elastic' && p.offers[o].region !== st.origin) cross.push(x);
            const l = load.get(o) ?? [];
            l.push(`+ ${num(d / p.capacity[s][b][o])} ${name}`);
            load.set(o, l);
            // scaled by 1/ε like the capacity row: a coefficient is the replicas the bucket alone would need
            const bl = p.blocking[s]?.[b]?.[o] ?? 0;
            const bc = bl > 0 ? (d * bl) / p.blockingShare : 0;
            if (bc > 0) {
              const t = block.get(o) ?? [];
              t.push(`+ ${num(bc)} ${name}`);
              block.set(o, t);
            }
            const nd = need.get(o) ?? [0, 0];
            need.set(o, [nd[0] + d / p.capacity[s][b][o], nd[1] + bc]);
          }
          if (terms.length === 0) return null; // only when routing a fleet that holds nothing able to carry it
          rows.push(` r${row++}: ${terms.join(' + ')} = 1`);
        }
      }
      for (const rowsOf of [load, block]) {
        for (const [o, terms] of rowsOf) {
          if (fleet !== null) {
            rows.push(` r${row++}: ${terms.join(' ')} <= ${num(p.offers[o].availability * fleet[o])}`);
            continue;
          }
          const n = nOf(h, o);
          used.add(n);
          rows.push(` r${row++}: ${terms.join(' ')} - ${num(p.offers[o].availability)} ${n} <= 0`);
        }
      }
      for (const [o, [c, bc]] of need) {
        const a = p.offers[o].availability;
        const m = a > 0 ? Math.ceil(Math.max(c, bc) / a - 1e-9) : 0;
        const n = nOf(h, o);
        most.set(n, Math.max(most.get(n) ?? 0, m));
      }
    }
  }

  // one GPU type per (model, region, hour): y per type where a site could buy more than one
  const picks: string[] = [];
  if (!p.mixTypesInRegion && fleet === null) {
    for (const h of shared ? [hours[0]] : hours) {
      const sites = new Map<string, Map<string, number[]>>();
      p.offers.forEach((of, o) => {
        if (!used.has(nOf(h, o))) return;
        const types = sites.get(siteOf(of)) ?? new Map<string, number[]>();
        types.set(of.gpu, [...(types.get(of.gpu) ?? []), o]);
        sites.set(siteOf(of), types);
      });
      let k = 0;
      for (const types of sites.values()) {
        if (types.size < 2) continue;
        const ys: string[] = [];
        for (const offersOfType of types.values()) {
          const y = `y_${shared ? '' : `${h}_`}${k++}`;
          ys.push(y);
          picks.push(y);
          for (const o of offersOfType) {
            const n = nOf(h, o);
            rows.push(` r${row++}: ${n} - ${num(most.get(n) ?? 0)} ${y} <= 0`);
          }
        }
        rows.push(` r${row++}: ${ys.join(' + ')} <= 1`);
      }
    }
  }

  const crossTotal = cross.reduce((a, x) => a + x.demand, 0);
  const eps = crossTotal > 0 ? Math.min(CROSS_REGION_USD, MAX_TIE_BREAK_USD / crossTotal) : 0;
  for (const x of cross) obj.push(`+ ${num(eps * x.demand)} ${x.name}`);

  const slacks: { name: string; h: number; budget: number }[] = [];
  const budgetHours = fleet !== null ? [] : shared ? [hours[0]] : hours;
  for (const h of budgetHours) {
    p.budgets.forEach((bu, k) => {
      const terms: string[] = [];
      p.offers.forEach((of, o) => {
        const n = nOf(h, o);
        if (of.region === bu.region && used.has(n) && (bu.gpuTypes === null || bu.gpuTypes.includes(of.gpu))) terms.push(`+ ${num(of.gpus)} ${n}`);
      });
      if (terms.length === 0) return;
      if (build.kind === 'elastic') {
        const name = `u_${h}_${k}`;
        slacks.push({ name, h, budget: k });
        terms.push(`- ${name}`);
        obj.push(`+ 1 ${name}`);
      }
      rows.push(` r${row++}: ${terms.join(' ')} <= ${num(bu.gpus)}`);
    });
  }

  const ints = [...used];
  if (build.kind === 'plan') {
    const perHour = shared ? p.hours : 1;
    for (const n of ints) {
      const of = p.offers[Number(n.slice(n.lastIndexOf('_') + 1))];
      obj.push(`+ ${num(of.gpus * of.usdPerGpuHour * perHour)} ${n}`);
    }
  }
  if (obj.length === 0) obj.push(`+ 0 ${ints[0] ?? xs[0]?.name}`);
  // the elastic model relaxes the replicas: its least excess is a lower bound on the integer one,
  // found in milliseconds, where the integer model (slack priced alone, many optima) can run for minutes
  const general = ints.length > 0 && build.kind !== 'elastic' ? ['General', ` ${ints.join(' ')}`] : [];
  // the type picks stay binary in the elastic model (a relaxed pick mixes types and finds no
  // excess where there is one); with replicas continuous it is a small MILP, still a lower bound
  const binary = picks.length > 0 ? ['Binary', ` ${picks.join(' ')}`] : [];
  const text = ['Minimize', ` obj: ${obj.join(' ')}`, 'Subject To', ...rows, ...general, ...binary, 'End', ''].join('\n');
  return { text, xs, nName: (h, o) => (used.has(nOf(h, o)) ? nOf(h, o) : null), slacks };
}

type Outcome =
  | { readonly kind: 'optimal'; readonly values: Readonly<Record<string, { readonly Primal: number }>> }
  | { readonly kind: 'infeasible'; readonly message: string }
  | { readonly kind: 'error'; readonly message: string };

/**
 * HiGHS options: no relative gap (exact), and no primal heuristics. The models have a handful of
 * integers and an LP bound within a few per cent, so branching finds the optimum quickly; the
 * heuristics' sub-MIPs only cost time (2–3× the whole solve on the example plans). They change how
 * fast an incumbent is found, never which optimum is proved.
 */
const OPTIONS = {
  mip_rel_gap: 0, output_flag: false, log_to_console: false, random_seed: 0,
  mip_heuristic_effort: 0, mip_heuristic_run_rins: false, mip_heuristic_run_rens: false,
  mip_heuristic_run_root_reduced_cost: false, mip_heuristic_run_zi_round: false, mip_heuristic_run_shifting: false,
} as const;

function run(h: Highs, text: string, deadline: Deadline): Outcome {
  const timeLimit = Math.max(0.1, (deadline.atMs - deadline.clock.monoMs()) / 1000);
  // the mip_heuristic_run_* switches are native HiGHS options the legacy options type does not list
  const r = h.solve(text, { ...OPTIONS, time_limit: timeLimit } as Parameters<Highs['solve']>[1]);
  if (r.Status === 'Optimal') return { kind: 'optimal', values: r.Columns as Record<string, { Primal: number }> };
  if (r.Status === 'Infeasible') return { kind: 'infeasible', message: 'infeasible' };
  if (r.Status === 'Time limit reached') return { kind: 'error', message: `the solver reached its time limit (the ${timeLimit.toFixed(1)} s left of the solve's whole limit, timeLimitS) before proving a plan optimal; give it more time, or plan fewer hours, streams, buckets or offers` };
  return { kind: 'error', message: `the solver stopped with status "${r.Status}"` };
}

const hoursLabel = (hours: readonly number[]) => (hours.length === 1 ? `hour ${hours[0]}` : `hours ${hours.join(', ')}`);

/** Why a block of hours is infeasible: the least GPU-budget excess that would carry its demand. */
function explain(h: Highs, p: PlanProblem, reach: Reach, hours: readonly number[], deadline: Deadline): string {
  const m = buildModel(p, reach, hours, { kind: 'elastic' })!;
  const r = run(h, m.text, deadline);
  if (r.kind === 'infeasible') {
    const rule = p.mixTypesInRegion ? '' : ' by one GPU type per model and region (set mixTypesInRegion: true only for a gateway that routes each request size to its own GPU type)';
    return `${hoursLabel(hours)}: the demand cannot be carried even without GPU budgets${rule}`;
  }
  if (r.kind === 'error') return `${hoursLabel(hours)}: no fleet within the GPU budgets carries the demand, and the solver stopped before naming the budget at fault (${r.message})`;
  const short = new Map<number, { gpus: number; hour: number }>();
  for (const u of m.slacks) {
    const v = Math.ceil((r.values[u.name]?.Primal ?? 0) - 1e-6);
    const prev = short.get(u.budget);
    if (v > 0 && (prev === undefined || v > prev.gpus)) short.set(u.budget, { gpus: v, hour: u.h });
  }
  if (short.size === 0) return `${hoursLabel(hours)}: the solver found no plan, yet one exists within every budget (a numerical difficulty; please report it with the plan)`;
  const parts = [...short].map(([k, s]) => {
    const bu = p.budgets[k];
    const types = bu.gpuTypes === null ? 'GPUs' : `${bu.gpuTypes.join('/')} GPUs`;
    const when = p.mode.fleet === 'static' ? `for a fleet held through ${hoursLabel(hours)}` : `at hour ${s.hour}`;
    return `${bu.region}'s budget of ${bu.gpus} ${types} is at least ${s.gpus} short ${when}`;
  });
  return `over the GPU budget: ${parts.join('; ')} (raise the budget, allow other GPU types there, or widen residency)`;
}

function empty(p: PlanProblem, status: 'infeasible' | 'error', message: string, unprotected: PlanSolution['unprotected'], t0: number, clock: Clock): PlanSolution {
  return {
    status, message, replicas: Array.from({ length: p.hours }, () => p.offers.map(() => 0)),
    usd: 0, gpuHours: 0, routes: [], unprotected, solveMs: clock.monoMs() - t0,
  };
}

function namedList(lines: readonly string[]): string {
  const shown = lines.slice(0, MAX_NAMED).join('; ');
  return lines.length > MAX_NAMED ? `${shown}; and ${lines.length - MAX_NAMED} more` : shown;
}

function routesOf(p: PlanProblem, m: Model, values: Readonly<Record<string, { readonly Primal: number }>>, into: Route[]): void {
  for (const x of m.xs) {
    const rate = (values[x.name]?.Primal ?? 0) * x.demand;
    if (rate > MIN_ROUTE) into.push({ scenario: p.scenarios[x.f], hour: x.h, stream: x.s, bucket: x.b, offer: x.o, ratePerS: rate });
  }
}

/** an hour's demand as a key: hours with equal demand (a daily shape repeated) have equal plans */
const demandKey = (p: PlanProblem, h: number) => p.streams.map((st) => st.ratesPerS[h] ?? 0).join(',');

class Stop extends Error {
  constructor(readonly status: 'infeasible' | 'error', message: string) {
    super(message);
  }
}

/**
 * Mode hourly: one exact MILP per distinct hour. `reaches` are tried in order (local-first routing,
 * then free): an hour whose origin cannot hold its own traffic within its GPU budget spills, as the
 * gateway spills a saturated region.
 */
function solveHourly(h: Highs, p: PlanProblem, reaches: readonly Reach[], deadline: Deadline, replicas: number[][], routes: Route[]): void {
  const infeasible: string[] = [];
  const solved = new Map<string, { hour: number; routes: Route[] }>();
  for (let hr = 0; hr < p.hours; hr++) {
    const key = demandKey(p, hr);
    const same = solved.get(key);
    if (same !== undefined) {
      replicas[hr] = [...replicas[same.hour]];
      for (const r of same.routes) routes.push({ ...r, hour: hr });
      continue;
    }
    const mine: Route[] = [];
    solved.set(key, { hour: hr, routes: mine });
    let m = buildModel(p, reaches[0], [hr], { kind: 'plan' })!;
    if (m.xs.length === 0) continue; // no demand this hour: nothing to buy
    let r = run(h, m.text, deadline);
    for (let k = 1; k < reaches.length && r.kind === 'infeasible'; k++) {
      m = buildModel(p, reaches[k], [hr], { kind: 'plan' })!;
      r = run(h, m.text, deadline);
    }
    if (r.kind === 'error') throw new Stop('error', `hour ${hr}: ${r.message}`);
    if (r.kind === 'infeasible') {
      infeasible.push(explain(h, p, reaches[reaches.length - 1], [hr], deadline));
      continue;
    }
    p.offers.forEach((_of, o) => {
      const n = m.nName(hr, o);
      replicas[hr][o] = n === null ? 0 : Math.max(0, Math.round(r.values[n]?.Primal ?? 0));
    });
    routesOf(p, m, r.values, mine);
    routes.push(...mine);
  }
  if (infeasible.length > 0) throw new Stop('infeasible', namedList(infeasible));
}

/** hours added to a static plan's model per round, the busiest of those its fleet cannot carry */
const HOURS_PER_ROUND = 3;

/**
 * Mode static by row generation: the fleet is planned for a few hours (each stream's busiest and the
 * busiest overall), every other hour is routed on that fleet (an LP), and hours it cannot carry join
 * the model until none is left. The last fleet is the cheapest for its hours and carries every hour,
 * so it is the cheapest for the whole horizon: exact, and far smaller than every hour at once.
 */
function solveStatic(h: Highs, p: PlanProblem, reach: Reach, deadline: Deadline, replicas: number[][], routes: Route[]): void {
  const busy = (hr: number) => p.streams.reduce((a, st) => a + (st.ratesPerS[hr] ?? 0), 0);
  const hours = Array.from({ length: p.hours }, (_, i) => i).filter((hr) => busy(hr) > NO_DEMAND);
  if (hours.length === 0) return;
  const distinct = new Map<string, number>();
  for (const hr of hours) if (!distinct.has(demandKey(p, hr))) distinct.set(demandKey(p, hr), hr);
  const candidates = [...distinct.values()];
  const byLoad = [...candidates].sort((a, b) => busy(b) - busy(a) || a - b);
  const active = new Set<number>([byLoad[0]]);
  p.streams.forEach((st) => {
    let best = -1;
    for (const hr of candidates) if (best < 0 || (st.ratesPerS[hr] ?? 0) > (st.ratesPerS[best] ?? 0)) best = hr;
    if (best >= 0 && (st.ratesPerS[best] ?? 0) > NO_DEMAND) active.add(best);
  });

  for (;;) {
    const block = [...active].sort((a, b) => a - b);
    const m = buildModel(p, reach, block, { kind: 'plan' })!;
    const r = run(h, m.text, deadline);
    if (r.kind === 'error') throw new Stop('error', `the fleet: ${r.message}`);
    if (r.kind === 'infeasible') throw new Stop('infeasible', explain(h, p, reach, block, deadline));
    const fleet = p.offers.map((_of, o) => {
      const n = m.nName(block[0], o);
      return n === null ? 0 : Math.max(0, Math.round(r.values[n]?.Primal ?? 0));
    });
    const byHour = new Map<number, Route[]>();
    const missed: number[] = [];
    for (const hr of candidates) {
      const lp = buildModel(p, reach, [hr], { kind: 'route', fleet });
      const out = lp === null ? ({ kind: 'infeasible', message: '' } as const) : run(h, lp.text, deadline);
      if (out.kind === 'error') throw new Stop('error', `routing hour ${hr} on the fleet: ${out.message}`);
      if (out.kind === 'infeasible') {
        if (active.has(hr)) throw new Stop('error', `the fleet planned for hour ${hr} cannot be routed in it (a numerical difficulty; please report it with the plan)`);
        missed.push(hr);
        continue;
      }
      const mine: Route[] = [];
      routesOf(p, lp!, out.values, mine);
      byHour.set(hr, mine);
    }
    if (missed.length > 0) {
      missed.sort((a, b) => busy(b) - busy(a) || a - b).slice(0, HOURS_PER_ROUND).forEach((hr) => active.add(hr));
      continue;
    }
    const key = new Map(candidates.map((hr) => [demandKey(p, hr), hr]));
    for (let hr = 0; hr < p.hours; hr++) {
      replicas[hr] = [...fleet];
      const from = key.get(demandKey(p, hr));
      for (const route of (from === undefined ? [] : byHour.get(from)) ?? []) routes.push({ ...route, hour: hr });
    }
    return;
  }
}

/** A static fleet under the first routing rule it is feasible under (solveHourly's `reaches`). */
function staticFirstFeasible(h: Highs, p: PlanProblem, reaches: readonly Reach[], deadline: Deadline, replicas: number[][], routes: Route[]): void {
  for (let k = 0; ; k++) {
    try {
      solveStatic(h, p, reaches[k], deadline, replicas, routes);
      return;
    } catch (err) {
      if (!(err instanceof Stop) || err.status !== 'infeasible' || k === reaches.length - 1) throw err;
      routes.length = 0;
    }
  }
}

/** The cheapest fleet that carries every stream's demand in every scenario, exactly (a MILP). */
export async function solvePlan(p: PlanProblem, opts: SolveOptions = {}): Promise<PlanSolution> {
  const clock = opts.clock ?? wallClock;
  const t0 = clock.monoMs();
  const deadline: Deadline = { clock, atMs: t0 + (opts.timeLimitS ?? 60) * 1000 };
  // local-first where the origin can hold its traffic, else free (reach is the freest, for checks and messages)
  const reach = reachOf(p, 'free');
  const reaches = (opts.normalRouting ?? 'home') === 'home' ? [reachOf(p, 'home'), reach] : [reach];
  const unprotected: { scenario: FailureScenario; stream: string }[] = [];
  p.scenarios.forEach((f, fi) => p.streams.forEach((st, s) => {
    if (reach.eligible[fi][s] === null && st.ratesPerS.some((r) => r > NO_DEMAND)) unprotected.push({ scenario: f, stream: st.id });
  }));

  const cannot = unservable(p, reach);
  if (cannot.length > 0) return empty(p, 'infeasible', `no offer can serve: ${namedList(cannot)}`, unprotected, t0, clock);

  let h: Highs;
  try {
    h = await solver();
  } catch (err) {
    return empty(p, 'error', `cannot load the HiGHS solver: ${(err as Error).message}`, unprotected, t0, clock);
  }

  const replicas = Array.from({ length: p.hours }, () => p.offers.map(() => 0));
  const routes: Route[] = [];
  try {
    if (p.mode.fleet === 'static') staticFirstFeasible(h, p, reaches, deadline, replicas, routes);
    else solveHourly(h, p, reaches, deadline, replicas, routes);
  } catch (err) {
    if (err instanceof Stop) return empty(p, err.status, err.message, unprotected, t0, clock);
    return empty(p, 'error', `the solver failed: ${(err as Error).message}`, unprotected, t0, clock);
  }
  routes.sort((a, b) => p.scenarios.indexOf(a.scenario) - p.scenarios.indexOf(b.scenario) || a.hour - b.hour || a.stream - b.stream || a.bucket - b.bucket || a.offer - b.offer);

  let usd = 0;
  let gpuHours = 0;
  replicas.forEach((row) => row.forEach((n, o) => {
    gpuHours += n * p.offers[o].gpus;
    usd += n * p.offers[o].gpus * p.offers[o].usdPerGpuHour;
  }));
  return { status: 'optimal', message: null, replicas, usd, gpuHours, routes, unprotected, solveMs: clock.monoMs() - t0 };
}
