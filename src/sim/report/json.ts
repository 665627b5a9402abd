import type { SimReport } from './types.js';

/**
 * The report as JSON that is the same bytes for the same inputs: keys in the order the report
 * builds them, numbers to 6 significant digits (floating-point noise below that would otherwise
 * differ between machines' libm), NaN as null.
 */
export function reportJson(report: SimReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === 'number' ? round(v) : v), 1) + '\n';
}

function round(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}
