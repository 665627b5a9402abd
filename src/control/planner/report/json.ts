import type { PlanOutcome, PlanReport, Route } from '../types.js';

// The whole report as JSON that is the same bytes for the same plan: keys in the order the report
// builds them, numbers to 6 significant digits (floating-point noise below that could differ between
// machines), NaN and infinities as null, and no wall times (the solver's and the simulator's wall
// milliseconds differ run to run; the CLI prints them on stderr instead).
//
// Routes are what makes a report large (one per scenario, hour, stream, size bucket and offer): the
// plan's are kept summed over buckets (what goes where), the baselines' and what-ifs' are left out
// (their replicas and checks are what they are compared by).

/** keys whose values are wall-clock measurements */
const WALL = new Set(['solveMs', 'wallMs']);

export function planJson(r: PlanReport): string {
  const slim: PlanReport = {
    ...r,
    plan: withRoutes(r.plan, byStream(r.plan.solution.routes)),
    singleType: r.singleType.map((o) => withRoutes(o, [])),
    peak: withRoutes(r.peak, []),
    whatIfs: r.whatIfs.map((w) => ({ ...w, outcome: withRoutes(w.outcome, []) })),
  };
  return JSON.stringify(slim, (k, v: unknown) => (WALL.has(k) ? undefined : typeof v === 'number' ? round(v) : v)) + '\n';
}

function withRoutes(o: PlanOutcome, routes: readonly Route[]): PlanOutcome {
  return { ...o, solution: { ...o.solution, routes } };
}

/** routes summed over buckets: one per scenario, hour, stream and offer (bucket −1) */
function byStream(routes: readonly Route[]): Route[] {
  const sums = new Map<string, Route>();
  for (const r of routes) {
    const key = `${r.scenario}\u0000${r.hour}\u0000${r.stream}\u0000${r.offer}`;
    const had = sums.get(key);
    sums.set(key, had === undefined ? { ...r, bucket: -1 } : { ...had, ratePerS: had.ratePerS + r.ratePerS });
  }
  return [...sums.values()];
}

function round(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}
