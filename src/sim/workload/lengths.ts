import { QUANTILES } from './empirical.js';
import type { RandomStream } from './rng.js';
import { WorkloadError, type LengthDist } from './types.js';

// A LengthDist compiled once into a sampler. Token counts are integers ≥ 1; think times are real
// seconds ≥ 0 — the same kinds serve both, told apart by `Use`.

export type Sampler = (rng: RandomStream) => number;

export interface Use {
  /** what the numbers are, for error messages ('prompt', 'output', 'thinkTimeS'…) */
  readonly what: string;
  /** round to whole tokens and keep ≥ 1; false: seconds, kept ≥ 0 */
  readonly tokens: boolean;
  /** the empirical column when the dist names none */
  readonly column: 'prompt' | 'output';
}

/** z for the 90th percentile of a standard normal */
const Z90 = 1.2815515655446004;
const DEFAULT_SIGMA = 0.5;

export function sampler(d: LengthDist, use: Use): Sampler {
  const bad = (msg: string): never => {
    throw new WorkloadError(`${use.what}: ${msg}`);
  };
  if (typeof d === 'number') d = { kind: 'fixed', value: d };
  const lo = use.tokens ? 1 : 0;
  const floor = Math.max(lo, 'min' in d && d.min !== undefined ? d.min : lo);
  const ceil = 'max' in d && d.max !== undefined ? d.max : Infinity;
  if (floor > ceil) bad(`min ${floor} is above max ${ceil}`);
  const clamp = use.tokens
    ? (x: number) => Math.min(ceil, Math.max(floor, Math.round(x)))
    : (x: number) => Math.min(ceil, Math.max(floor, x));
  switch (d.kind) {
    case 'fixed': {
      if (!(d.value >= 0) || !Number.isFinite(d.value)) bad(`fixed value must be a finite number ≥ 0, got ${d.value}`);
      const v = clamp(d.value);
      return () => v;
    }
    case 'uniform': {
      if (!(d.min <= d.max)) bad(`uniform needs min ≤ max, got ${d.min}…${d.max}`);
      if (use.tokens) {
        const a = Math.max(1, Math.ceil(d.min));
        const span = Math.floor(d.max) - a + 1;
        if (span < 1) bad(`uniform ${d.min}…${d.max} holds no whole token count ≥ 1`);
        return (r) => a + r.int(span);
      }
      const { min, max } = d;
      return (r) => Math.max(0, min + r.float() * (max - min));
    }
    case 'lognormal': {
      const { mu, sigma } = lognormalParams(d, bad);
      return (r) => clamp(r.lognormal(mu, sigma));
    }
    case 'empirical': {
      const table = QUANTILES[d.trace]?.[d.of ?? use.column];
      if (table === undefined) bad(`unknown empirical trace "${d.trace}"; known: ${Object.keys(QUANTILES).join(', ')}`);
      return (r) => clamp(quantile(table, r.float()));
    }
    default:
      return bad(`unknown length kind "${(d as { kind: string }).kind}"; known: fixed, uniform, lognormal, empirical`);
  }
}

function lognormalParams(d: Extract<LengthDist, { kind: 'lognormal' }>, bad: (m: string) => never): { mu: number; sigma: number } {
  if ((d.mean === undefined) === (d.p50 === undefined)) bad('lognormal needs exactly one of mean or p50');
  if (d.sigma !== undefined && d.p90 !== undefined) bad('lognormal takes sigma or p90, not both');
  const centre = (d.mean ?? d.p50)!;
  if (!(centre > 0)) bad(`lognormal ${d.mean !== undefined ? 'mean' : 'p50'} must be > 0`);
  let sigma = d.sigma ?? DEFAULT_SIGMA;
  if (d.p90 !== undefined) {
    if (d.mean !== undefined) bad('lognormal p90 goes with p50, not mean (give sigma with mean)');
    if (!(d.p90 > d.p50!)) bad(`lognormal p90 (${d.p90}) must be above p50 (${d.p50})`);
    sigma = Math.log(d.p90 / d.p50!) / Z90;
  }
  if (!(sigma >= 0)) bad('lognormal sigma must be ≥ 0');
  // median = e^mu; mean = e^(mu + sigma²/2)
  const mu = d.mean !== undefined ? Math.log(d.mean) - (sigma * sigma) / 2 : Math.log(d.p50!);
  return { mu, sigma };
}

/** The value at probability u of a table over QUANTILE_PROBS (0…0.99 by 0.01, 0.995, 0.999, 1). */
function quantile(t: readonly number[], u: number): number {
  let i: number;
  let f: number;
  if (u < 0.99) {
    const h = u * 100;
    i = Math.floor(h);
    f = h - i;
  } else if (u < 0.995) {
    i = 99;
    f = (u - 0.99) / 0.005;
  } else if (u < 0.999) {
    i = 100;
    f = (u - 0.995) / 0.004;
  } else {
    i = 101;
    f = (u - 0.999) / 0.001;
  }
  return t[i] + f * (t[i + 1] - t[i]);
}

/** A short human description, for workload descriptions. */
export function describeLength(d: LengthDist): string {
  if (typeof d === 'number') return String(d);
  switch (d.kind) {
    case 'fixed': return String(d.value);
    case 'uniform': return `uniform ${d.min}–${d.max}`;
    case 'lognormal':
      return `lognormal ${d.mean !== undefined ? `mean ${d.mean}` : `p50 ${d.p50}`}${d.p90 !== undefined ? ` p90 ${d.p90}` : ` σ ${d.sigma ?? DEFAULT_SIGMA}`}`;
    case 'empirical': return `${d.trace}${d.of !== undefined ? ` ${d.of}` : ''} lengths`;
  }
}
