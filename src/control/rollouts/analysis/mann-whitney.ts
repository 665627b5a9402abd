// Baseline: Kayenta's NetflixACAJudge. Per-interval aggregates per side (error rate, mean TTFT, mean
// ITL, mean output tokens); every `judgeEveryMs` it judges all intervals since the latest mark with a
// two-sided Mann-Whitney U test per metric. A metric is High when the difference is significant and
// the candidate's median exceeds stable's by more than `allowedIncrease` (output tokens: High or Low).
// Score = share of passing metrics × 100. For the evidence table, not for production.

import type { Analysis, AnalysisSummary, CallSample, MetricEvidence, MetricName, Side, Verdict } from '../types.js';
import { times } from './format.js';
import { type Interval, Intervals, median } from './intervals.js';

export interface MannWhitneyOptions {
  /** default 60 s */
  readonly intervalMs?: number;
  /** default 5 min */
  readonly judgeEveryMs?: number;
  /** intervals per side needed for a judgement; default 5 */
  readonly minIntervals?: number;
  /** default 0.98 */
  readonly confidence?: number;
  /** default 1.1 (a +10 % median fails when significant) */
  readonly allowedIncrease?: number;
  /** below this score fails; default 75 */
  readonly marginal?: number;
  /** at or above this score passes; default 95 */
  readonly pass?: number;
}

type Judged = 'errors' | 'ttft' | 'itl' | 'output_tokens';
const JUDGED: readonly Judged[] = ['errors', 'ttft', 'itl', 'output_tokens'];

/** Inverse of the standard normal CDF (Acklam's rational approximation; ample for a threshold). */
function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) { const q = Math.sqrt(-2 * Math.log(p)); return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1); }
  if (p > 1 - lo) return -normalQuantile(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

/** Mann-Whitney U's z for `x` against `y` (normal approximation, tie-corrected, continuity-corrected); 0 when undefined. */
export function mannWhitneyZ(x: readonly number[], y: readonly number[]): number {
  const n1 = x.length, n2 = y.length, n = n1 + n2;
  if (n1 === 0 || n2 === 0) return 0;
  const all = x.map((v) => ({ v, c: true })).concat(y.map((v) => ({ v, c: false }))).sort((p, q) => p.v - q.v);
  let r1 = 0, ties = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && all[j + 1].v === all[i].v) j++;
    const rank = (i + j) / 2 + 1;
    for (let m = i; m <= j; m++) if (all[m].c) r1 += rank;
    const t = j - i + 1;
    ties += t * t * t - t;
    i = j + 1;
  }
  const u = r1 - (n1 * (n1 + 1)) / 2;
  const mean = (n1 * n2) / 2;
  const variance = ((n1 * n2) / 12) * (n + 1 - ties / (n * (n - 1)));
  if (!(variance > 0)) return 0;
  const diff = u - mean;
  return (Math.sign(diff) * Math.max(0, Math.abs(diff) - 0.5)) / Math.sqrt(variance);
}

class MannWhitney implements Analysis {
  private readonly o: Required<MannWhitneyOptions>;
  private readonly intervals: Intervals;
  private readonly zCrit: number;
  /** per metric, per side: one aggregate per interval since the mark */
  private series = this.fresh();
  private nextJudgeMs: number | null = null;
  private latest: Verdict = { kind: 'inconclusive', reason: 'no judgement yet' };
  private failed: Verdict | null = null;
  private evidence: MetricEvidence[] = [];

  constructor(o: MannWhitneyOptions) {
    this.o = {
      intervalMs: o.intervalMs ?? 60_000,
      judgeEveryMs: o.judgeEveryMs ?? 300_000,
      minIntervals: o.minIntervals ?? 5,
      confidence: o.confidence ?? 0.98,
      allowedIncrease: o.allowedIncrease ?? 1.1,
      marginal: o.marginal ?? 75,
      pass: o.pass ?? 95,
    };
    if (!(this.o.intervalMs > 0) || !(this.o.judgeEveryMs > 0)) throw new RangeError('intervalMs and judgeEveryMs must be positive numbers of ms');
    if (!(this.o.confidence > 0 && this.o.confidence < 1)) throw new RangeError(`confidence must be between 0 and 1, not ${this.o.confidence}`);
    this.zCrit = normalQuantile(1 - (1 - this.o.confidence) / 2);
    this.intervals = new Intervals(this.o.intervalMs, (i) => this.collect(i));
  }

  observe(side: Side, s: CallSample): void {
    if (this.nextJudgeMs === null && Number.isFinite(s.atMs)) this.nextJudgeMs = s.atMs + this.o.judgeEveryMs;
    this.judgeUpTo(s.atMs);
    this.intervals.observe(side, s);
  }

  /** per-interval aggregates, as the tools they stand for: a share change is not treated apart */
  shift(_region: string, _nowMs: number): void {}

  mark(nowMs: number): void {
    this.intervals.anchor(nowMs);
    this.series = this.fresh();
    this.nextJudgeMs = nowMs + this.o.judgeEveryMs;
    if (this.failed === null) this.latest = { kind: 'inconclusive', reason: 'no judgement since the step began' };
  }

  verdict(nowMs: number): Verdict {
    this.judgeUpTo(nowMs);
    return this.failed ?? this.latest;
  }

  summary(): AnalysisSummary {
    const t = this.intervals.totals;
    return { method: 'mann-whitney', candidateCalls: t.candidate.calls, stableCalls: t.stable.calls, candidateFailures: t.candidate.failures, stableFailures: t.stable.failures, metrics: this.evidence };
  }

  private fresh(): Record<Judged, { candidate: number[]; stable: number[] }> {
    return { errors: { candidate: [], stable: [] }, ttft: { candidate: [], stable: [] }, itl: { candidate: [], stable: [] }, output_tokens: { candidate: [], stable: [] } };
  }

  private collect(i: Interval): void {
    for (const side of ['candidate', 'stable'] as const) {
      const a = i[side];
      if (a.calls === 0) continue;
      this.series.errors[side].push(a.failures / a.calls);
      if (a.ttft.length > 0) this.series.ttft[side].push(a.ttft.reduce((p, q) => p + q, 0) / a.ttft.length);
      if (a.itlCount > 0) this.series.itl[side].push(a.itlSum / a.itlCount);
      if (a.outputCount > 0) this.series.output_tokens[side].push(a.outputSum / a.outputCount);
    }
  }

  private judgeUpTo(nowMs: number): void {
    while (this.nextJudgeMs !== null && nowMs >= this.nextJudgeMs && this.failed === null) {
      this.intervals.advance(this.nextJudgeMs);
      this.judge();
      this.nextJudgeMs += this.o.judgeEveryMs;
    }
  }

  private judge(): void {
    const e = this.series.errors;
    if (e.candidate.length < this.o.minIntervals || e.stable.length < this.o.minIntervals) {
      this.latest = { kind: 'inconclusive', reason: `${e.candidate.length} candidate and ${e.stable.length} stable intervals since the step began; a judgement needs ${this.o.minIntervals} of each` };
      return;
    }
    const evidence: MetricEvidence[] = [];
    let judged = 0, passing = 0;
    let critical: string | null = null;
    let worst: { metric: MetricName; reason: string } | null = null;
    for (const m of JUDGED) {
      const { candidate: c, stable: s } = this.series[m];
      if (c.length < this.o.minIntervals || s.length < this.o.minIntervals) continue;
      judged++;
      const z = mannWhitneyZ(c, s);
      const mc = median(c)!, ms = median(s)!;
      const ratio = ms > 0 ? mc / ms : null;
      const significant = Math.abs(z) > this.zCrit;
      const high = significant && (ms > 0 ? mc > this.o.allowedIncrease * ms : mc > ms);
      const low = m === 'output_tokens' && significant && mc * this.o.allowedIncrease < ms;
      evidence.push({ metric: m, comparisons: c.length, statistic: z, threshold: this.zCrit, ratio });
      if (!high && !low) { passing++; continue; }
      const reason = `${m}: candidate median ${ratio === null ? 'above' : times(ratio)} stable's over ${c.length} intervals (${high ? 'High' : 'Low'}, |z| ${Math.abs(z).toFixed(2)} > ${this.zCrit.toFixed(2)})`;
      if (m === 'errors') critical = reason;
      worst ??= { metric: m, reason };
    }
    this.evidence = evidence;
    const score = judged === 0 ? 0 : (100 * passing) / judged;
    if (critical !== null) { this.failed = { kind: 'fail', metric: 'errors', reason: `${critical}; a critical metric` }; return; }
    if (score < this.o.marginal) { this.failed = { kind: 'fail', metric: worst?.metric ?? 'errors', reason: `score ${Math.round(score)} < ${this.o.marginal}: ${worst?.reason ?? 'no metric could be judged'}` }; return; }
    if (score >= this.o.pass) { this.latest = { kind: 'pass', reason: `score ${Math.round(score)} ≥ ${this.o.pass} over ${judged} metrics` }; return; }
    this.latest = { kind: 'inconclusive', reason: `score ${Math.round(score)}: marginal (${this.o.marginal}–${this.o.pass}); ${worst?.reason ?? ''}` };
  }
}

/** Kayenta style Mann-Whitney judge (method `mann-whitney`). */
export function mannWhitneyAnalysis(o: MannWhitneyOptions = {}): Analysis {
  return new MannWhitney(o);
}
