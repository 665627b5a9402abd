// Drives an analysis through synthetic traffic and says when (if ever) it failed.

import type { z } from 'zod';
import { analysisSchema, type Analysis, type Verdict } from '../../../../src/control/rollouts/index.js';
import { sequentialAnalysis } from '../../../../src/control/rollouts/analysis/index.js';
import { drive, type Traffic } from './traffic.js';

export type AnalysisSpecInput = z.input<typeof analysisSchema>;

export interface Outcome {
  /** candidate calls observed when it stopped */
  readonly calls: number;
  readonly verdict: Verdict;
  readonly analysis: Analysis;
  /** every sample observed (both sides) */
  readonly samples: number;
}

/**
 * Runs until the first fail, or `maxCalls` candidate calls; reads the verdict after every candidate
 * call, or after every sample (`everySample`).
 */
export function runUntilFail(t: Traffic, maxCalls: number, spec: AnalysisSpecInput = {}, everySample = false): Outcome {
  const a = sequentialAnalysis(analysisSchema.parse(spec));
  let calls = 0, samples = 0;
  let verdict: Verdict = { kind: 'inconclusive', reason: 'no data' };
  drive(t, (side, s) => {
    a.observe(side, s);
    samples++;
    if (side === 'candidate') calls++;
    if (side === 'candidate' || everySample) {
      verdict = a.verdict(s.atMs);
      if (verdict.kind === 'fail') return false;
    }
    return calls < maxCalls;
  });
  return { calls, verdict, analysis: a, samples };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
