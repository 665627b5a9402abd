// analysis/ — judges of a candidate against stable, all pure (samples in, the time they are told,
// a verdict out). `sequentialAnalysis` is the product: an anytime-valid sequential test on every
// call, matched within stratum and time (sequential.ts says why). The two baselines reproduce what
// Argo Rollouts / Flagger and Kayenta do, for the simulator's evidence table.
import type { CallSample } from '../types.js';
import { callKey } from './matcher.js';

export { sequentialAnalysis } from './sequential.js';
export { intervalThresholdAnalysis } from './threshold.js';
export type { IntervalThresholdOptions } from './threshold.js';
export { mannWhitneyAnalysis } from './mann-whitney.js';
export type { MannWhitneyOptions } from './mann-whitney.js';

/**
 * The stratum a successful call is matched in: region, stream, the power-of-two bucket of the prompt
 * tokens the replica computed (prompt − cached), and whether its prefix cache hit, as
 * `region/stream|unary/2^b/hit|miss` (bucket 0: nothing computed). Errors are matched more coarsely
 * (region, stream, prompt size), since a failed call's cache state is unknown.
 */
export function stratumOf(s: CallSample): string {
  const k = callKey(s);
  return `${s.region}/${k & 128 ? 'stream' : 'unary'}/${k & 63 ? `2^${(k & 63) - 1}` : '0'}/${k & 64 ? 'hit' : 'miss'}`;
}
