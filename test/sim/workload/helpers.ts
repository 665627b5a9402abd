import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Arrival, Workload } from '../../../src/sim/workload/index.js';

/** the repository's copy of the public traces (traces/README.md says where they come from) */
export const TRACES = fileURLToPath(new URL('../../../traces/', import.meta.url));

/** A trace file's path; fails loudly (not a skip) when the shared traces are not beside the repo. */
export function traceFile(name: string): string {
  const p = TRACES + name;
  if (!existsSync(p)) throw new Error(`trace ${name} not found at ${p}: the repository's traces/ folder is incomplete`);
  return p;
}

/** Every arrival (at most `max`). */
export function drain(w: Workload, max = Infinity): Arrival[] {
  const out: Arrival[] = [];
  for (let a = w.next(); a !== null && out.length < max; a = out.length < max ? w.next() : null) out.push(a);
  return out;
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** coefficient of variation (population) */
export function cv(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i] - m) ** 2;
  return Math.sqrt(v / xs.length) / m;
}

/** the p-quantile by linear interpolation over the sorted values */
export function quantile(xs: ArrayLike<number>, p: number): number {
  return quantiles(xs, [p])[0];
}

export function quantiles(xs: ArrayLike<number>, ps: readonly number[]): number[] {
  const v = Float64Array.from(xs).sort();
  return ps.map((p) => at(v, p));
}

function at(v: Float64Array, p: number): number {
  const h = p * (v.length - 1);
  const f = Math.floor(h);
  const c = Math.ceil(h);
  return v[f] + (h - f) * (v[c] - v[f]);
}

export function gaps(arrivals: readonly Arrival[]): Float64Array {
  const g = new Float64Array(arrivals.length - 1);
  for (let i = 1; i < arrivals.length; i++) g[i - 1] = arrivals[i].atS - arrivals[i - 1].atS;
  return g;
}
