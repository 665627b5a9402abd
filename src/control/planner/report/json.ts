import type { PlanReport } from '../types.js';

// The whole report as JSON that is the same bytes for the same plan: keys in the order the report
// builds them, numbers to 6 significant digits (floating-point noise below that could differ between
// machines), NaN and infinities as null, and no wall times (the solver's and the simulator's wall
// milliseconds differ run to run; the CLI prints them on stderr instead).

/** keys whose values are wall-clock measurements */
const WALL = new Set(['solveMs', 'wallMs']);

export function planJson(r: PlanReport): string {
  return JSON.stringify(r, (k, v: unknown) => (WALL.has(k) ? undefined : typeof v === 'number' ? round(v) : v), 1) + '\n';
}

function round(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}
