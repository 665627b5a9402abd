// Baseline: Argo Rollouts / Flagger. The candidate's calls are aggregated per interval; at each
// interval's end a measurement fails on a threshold (error rate, p95 TTFT against stable's in the
// same interval, mean output tokens against stable's). The rollout fails when failed measurements
// exceed `failureLimit` (Argo's semantics: with 3, the 4th fails it). A mark starts a new run, as each
// Argo analysis step starts a new AnalysisRun. For the evidence table, not for production.

import type { Analysis, AnalysisSummary, CallSample, MetricEvidence, MetricName, Side, Verdict } from '../types.js';
import { share, times } from './format.js';
import { type Interval, Intervals, quantile } from './intervals.js';

export interface IntervalThresholdOptions {
  /** default 60 s */
  readonly intervalMs?: number;
  /** default 0.05 */
  readonly maxErrorRate?: number;
  /** the candidate's p95 TTFT may be this many times stable's (same interval); default 1.5 */
  readonly ttftP95FactorMax?: number;
  /** the candidate's mean output tokens may be between these times stable's; default 1.5 and 0.67 */
  readonly outputFactorMax?: number;
  readonly outputFactorMin?: number;
  /** failed measurements tolerated; default 3 */
  readonly failureLimit?: number;
  /** successful measurements since the mark before a pass; default 3 */
  readonly minIntervals?: number;
}

interface Latest { value: number | null; ratio: number | null; comparisons: number }

class IntervalThreshold implements Analysis {
  private readonly o: Required<IntervalThresholdOptions>;
  private readonly intervals: Intervals;
  private failedCount = 0;
  private passedCount = 0;
  private emptyCount = 0;
  private lastFailure: { metric: MetricName; reason: string } | null = null;
  private failed: Verdict | null = null;
  private readonly latest: Record<'errors' | 'ttft' | 'output_tokens', Latest> = {
    errors: { value: null, ratio: null, comparisons: 0 },
    ttft: { value: null, ratio: null, comparisons: 0 },
    output_tokens: { value: null, ratio: null, comparisons: 0 },
  };

  constructor(o: IntervalThresholdOptions) {
    this.o = {
      intervalMs: o.intervalMs ?? 60_000,
      maxErrorRate: o.maxErrorRate ?? 0.05,
      ttftP95FactorMax: o.ttftP95FactorMax ?? 1.5,
      outputFactorMax: o.outputFactorMax ?? 1.5,
      outputFactorMin: o.outputFactorMin ?? 0.67,
      failureLimit: o.failureLimit ?? 3,
      minIntervals: o.minIntervals ?? 3,
    };
    if (!(this.o.intervalMs > 0)) throw new RangeError(`intervalMs must be a positive number of ms, not ${this.o.intervalMs}`);
    this.intervals = new Intervals(this.o.intervalMs, (i) => this.measure(i));
  }

  observe(side: Side, s: CallSample): void {
    this.intervals.observe(side, s);
  }

  /** per-interval aggregates, as the tools they stand for: a share change is not treated apart */
  shift(_region: string, _nowMs: number): void {}

  mark(nowMs: number): void {
    this.intervals.anchor(nowMs);
    if (this.failed !== null) return;
    this.failedCount = 0;
    this.passedCount = 0;
    this.emptyCount = 0;
  }

  verdict(nowMs: number): Verdict {
    this.intervals.advance(nowMs);
    if (this.failed !== null) return this.failed;
    if (this.passedCount >= this.o.minIntervals) {
      return { kind: 'pass', reason: `${this.passedCount} successful measurements since the step began, ${this.failedCount} failed (limit ${this.o.failureLimit})` };
    }
    const empty = this.emptyCount > 0 ? `; ${this.emptyCount} intervals had no candidate calls` : '';
    return { kind: 'inconclusive', reason: `${this.passedCount} of ${this.o.minIntervals} successful measurements since the step began, ${this.failedCount} failed${empty}` };
  }

  summary(): AnalysisSummary {
    const t = this.intervals.totals;
    const thresholds = { errors: this.o.maxErrorRate, ttft: this.o.ttftP95FactorMax, output_tokens: this.o.outputFactorMax };
    const metrics: MetricEvidence[] = (['errors', 'ttft', 'output_tokens'] as const).map((m) => ({
      metric: m, comparisons: this.latest[m].comparisons, statistic: this.latest[m].value ?? 0, threshold: thresholds[m], ratio: this.latest[m].ratio,
    }));
    return { method: 'interval-threshold', candidateCalls: t.candidate.calls, stableCalls: t.stable.calls, candidateFailures: t.candidate.failures, stableFailures: t.stable.failures, metrics };
  }

  private measure(i: Interval): void {
    const c = i.candidate, s = i.stable;
    if (c.calls === 0) { this.emptyCount++; return; } // no traffic: inconclusive, never a failure
    const problems: { metric: MetricName; reason: string }[] = [];
    const er = c.failures / c.calls;
    const sr = s.calls > 0 ? s.failures / s.calls : null;
    this.note('errors', er, sr !== null && sr > 0 ? er / sr : null);
    if (er > this.o.maxErrorRate) problems.push({ metric: 'errors', reason: `error rate ${share(er)} > ${share(this.o.maxErrorRate)}` });
    const cp = quantile(c.ttft, 0.95), sp = quantile(s.ttft, 0.95);
    if (cp !== null && sp !== null && sp > 0) {
      this.note('ttft', cp / sp, cp / sp);
      if (cp > this.o.ttftP95FactorMax * sp) problems.push({ metric: 'ttft', reason: `p95 TTFT ${times(cp / sp)} stable's > ${times(this.o.ttftP95FactorMax)}` });
    }
    if (c.outputCount > 0 && s.outputCount > 0 && s.outputSum > 0) {
      const r = (c.outputSum / c.outputCount) / (s.outputSum / s.outputCount);
      this.note('output_tokens', r, r);
      if (r > this.o.outputFactorMax || r < this.o.outputFactorMin) problems.push({ metric: 'output_tokens', reason: `mean output tokens ${times(r)} stable's, outside ${times(this.o.outputFactorMin)}–${times(this.o.outputFactorMax)}` });
    }
    if (problems.length === 0) { this.passedCount++; return; }
    this.failedCount++;
    this.lastFailure = problems[0];
    if (this.failed === null && this.failedCount > this.o.failureLimit) {
      const f = this.lastFailure;
      this.failed = { kind: 'fail', metric: f.metric, reason: `${f.metric}: ${this.failedCount} failed measurements > failureLimit ${this.o.failureLimit} (latest: ${f.reason})` };
    }
  }

  private note(m: 'errors' | 'ttft' | 'output_tokens', value: number, ratio: number | null): void {
    const l = this.latest[m];
    l.value = value;
    l.ratio = ratio;
    l.comparisons++;
  }
}

/** Argo Rollouts / Flagger style interval thresholds (method `interval-threshold`). */
export function intervalThresholdAnalysis(o: IntervalThresholdOptions = {}): Analysis {
  return new IntervalThreshold(o);
}
