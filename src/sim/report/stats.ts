import type { Quantiles } from './types.js';

/**
 * The q-quantile of ascending values by linear interpolation between closest ranks (numpy's
 * default, "type 7"); NaN for no values.
 */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export function quantiles(values: readonly number[]): Quantiles {
  const s = Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < s.length; i++) sum += s[i];
  return { p50: quantileSorted(s, 0.5), p90: quantileSorted(s, 0.9), p99: quantileSorted(s, 0.99), mean: s.length > 0 ? sum / s.length : NaN };
}

/** Jain's fairness index (Σx)² / (n·Σx²): 1 when all equal, 1/n when one has everything. */
export function jain(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  let s2 = 0;
  for (const x of xs) {
    s += x;
    s2 += x * x;
  }
  return s2 === 0 ? 1 : (s * s) / (xs.length * s2);
}

/** At most `points` [value, cumulative fraction] pairs of an empirical CDF, the extremes kept. */
export function cdfPoints(values: readonly number[], points = 200): [number, number][] {
  const s = Float64Array.from(values).sort();
  const n = s.length;
  if (n === 0) return [];
  const out: [number, number][] = [];
  const k = Math.min(points, n);
  for (let i = 0; i < k; i++) {
    const idx = k === 1 ? n - 1 : Math.round((i * (n - 1)) / (k - 1));
    out.push([s[idx], (idx + 1) / n]);
  }
  return out;
}

/**
 * Weighted max-min fair shares of `total` (water-filling): every claimant gets min(demand, λ·weight),
 * λ raised until the shares sum to `total` (or every demand is met). A claimant asking little gets
 * all it asks; the rest split what is left by weight.
 */
export function maxMinShares(demand: readonly number[], weight: readonly number[], total: number): number[] {
  const out = new Array<number>(demand.length).fill(0);
  const order = demand.map((_, i) => i).sort((a, b) => demand[a] / weight[a] - demand[b] / weight[b] || a - b);
  let left = total;
  let w = 0;
  for (const i of order) w += weight[i];
  for (const i of order) {
    const level = left / w;
    out[i] = Math.min(demand[i], level * weight[i]);
    left -= out[i];
    w -= weight[i];
  }
  return out;
}
