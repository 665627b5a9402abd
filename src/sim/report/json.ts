import type { SimReport } from './types.js';

export interface JsonOptions {
  /** keep each policy's wall-clock seconds (they differ run to run, so the bytes do too) */
  readonly includeWall?: boolean;
}

/**
 * The report as JSON that is the same bytes for the same inputs: keys in the order the report
 * builds them (always the same), numbers to 6 significant digits (floating-point noise below that
 * could differ between machines' libm), NaN and infinities as null, wall time left out.
 */
export function reportJson(report: SimReport, opts: JsonOptions = {}): string {
  const wall = opts.includeWall === true;
  return JSON.stringify(report, (k, v: unknown) => (k === 'wallS' && !wall ? undefined : typeof v === 'number' ? round(v) : v), 1) + '\n';
}

function round(x: number): number | null {
  if (!Number.isFinite(x)) return null;
  if (x === 0 || Number.isInteger(x)) return x;
  return Number(x.toPrecision(6));
}
