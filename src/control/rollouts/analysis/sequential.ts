// The rollout's judge: a sequential, anytime-valid test of "the candidate is no worse than stable",
// on every call, matched within stratum and time.
//
// Why this test, and not the per-interval thresholds of Argo/Flagger or Kayenta's fixed-horizon
// Mann-Whitney:
// - Anytime-valid. Each metric's statistic is an e-process (a mixture of likelihood ratios, a
//   nonnegative supermartingale under the null), so by Ville's inequality the chance it EVER reaches
//   1/α is at most α, however often it is read. The driver may ask after every call and the
//   false-rollback rate stays bounded over the whole rollout; a broken build fails after a handful of
//   calls instead of after N failed minutes. α is split over the metrics (a weighted Bonferroni:
//   errors, the critical one, get half; see thresholdsFor).
// - Matched. A candidate call is compared only with stable calls of the same stratum (region, stream,
//   power-of-two bucket of the prompt tokens the replica computed, prefix-cache hit or miss) that ended
//   within `windowMs` of it. So a change of traffic share, load drifting over the day, or a new
//   replica's cold prefix cache is not counted against the version: a miss is compared with misses, a
//   busy minute with the same minute. Errors are matched on what was known before the call (region,
//   stream, prompt size): a failed call reports no usage, so its cache state is unknown.
// - Exact. Groups are formed from arrival order only (the most recent unmatched stable calls, each used
//   once), never from values; under the null the k + 1 calls of a group are exchangeable, so the
//   candidate's share of a group's failures and its rank among the group's values have known laws
//   (the candidate is one of j failures with probability j/(k+1); its rank is uniform on 0..k). No
//   normal approximation, no variance estimate, no minimum sample size for validity.
// - Tolerant. The null is "no worse than the tolerance": odds ratio ≤ 1 + tolerance for errors and
//   truncations; for values, the candidate's is divided by (1 + tolerance) before ranking, so a 2 %
//   slower build is not rolled back for being 2 % slower.
// - Watchful for a whole rollout. Under a tolerant null a good candidate drives the e-values towards
//   0; each mark (a new step: more traffic, more load) starts a fresh component of the mixture, so a
//   regression that appears late is judged on the step's data, not buried under the hours before it.
// No data is never a verdict: with no groups every e-value is 1, and `pass` needs `minCalls`
// candidate calls and 30 matched groups since the latest mark.

import type { Rng } from '../../../time/index.js';
import type { AnalysisSpec } from '../spec.js';
import type { Analysis, AnalysisSummary, CallSample, MetricEvidence, MetricName, Side, Verdict } from '../types.js';
import { METRICS } from '../types.js';
import { OddsTest, RankTest } from './evidence.js';
import { callKey, Matcher, requestKey, wellFormed } from './matcher.js';
import { share, times, evalue } from './format.js';

/** Groups needed since the mark before a pass: fewer say too little about errors. */
const MIN_GROUPS = 30;

/** A splitmix32 stream: the default tie-breaker when no Rng is handed in (fixed seed: reproducible). */
function seeded(seed: number): Rng {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

type ValueMetric = 'ttft' | 'itl' | 'output_tokens' | 'cost';

/** How a value is read; worse is larger, and for output tokens smaller too (a version that truncates). */
const VALUES: readonly { metric: ValueMetric; read: (s: CallSample) => number | null; twoSided: boolean }[] = [
  { metric: 'ttft', read: (s) => s.ttftMs, twoSided: false },
  { metric: 'itl', read: (s) => s.itlMs, twoSided: false },
  { metric: 'output_tokens', read: (s) => s.outputTokens, twoSided: true },
  { metric: 'cost', read: (s) => s.costUsd, twoSided: false },
];

function usable(v: number | null): v is number {
  return v !== null && Number.isFinite(v) && v >= 0;
}

class ValueEvidence {
  readonly test: RankTest;
  /** Σ over groups of the candidate's value and of its group's stable mean: the matched ratio of means */
  private candidateSum = 0;
  private stableSum = 0;
  private readonly scaleUp: number;
  private readonly scaleDown: number;

  constructor(readonly def: (typeof VALUES)[number], tolerance: number, maxK: number) {
    this.test = new RankTest(def.twoSided, maxK);
    this.scaleUp = 1 / (1 + tolerance);
    this.scaleDown = 1 + tolerance;
  }

  add(c: CallSample, stable: readonly CallSample[], k: number, rng: Rng): void {
    const x = this.def.read(c);
    if (!usable(x)) return;
    const up = x * this.scaleUp;
    const down = x * this.scaleDown;
    let n = 0, belowUp = 0, tiesUp = 0, belowDown = 0, tiesDown = 0, sum = 0;
    for (let i = 0; i < k; i++) {
      const y = this.def.read(stable[i]);
      if (!usable(y)) continue;
      n++;
      sum += y;
      if (y < up) belowUp++; else if (y === up) tiesUp++;
      if (y < down) belowDown++; else if (y === down) tiesDown++;
    }
    if (n === 0) return;
    // ties broken at random: the rank stays uniform under the null
    const rUp = belowUp + (tiesUp > 0 ? Math.floor(rng() * (tiesUp + 1)) : 0);
    const rDown = this.def.twoSided ? belowDown + (tiesDown > 0 ? Math.floor(rng() * (tiesDown + 1)) : 0) : 0;
    this.test.add(rUp, rDown, n);
    this.candidateSum += x;
    this.stableSum += sum / n;
  }

  ratio(): number | null {
    return this.stableSum > 0 ? this.candidateSum / this.stableSum : null;
  }
}

/**
 * Alpha split over the metrics (weighted Bonferroni: the shares sum to alpha). Errors are the
 * critical metric and the rarest signal, so they get half; the five others share the rest. At
 * alpha 0.01: errors fail at an e-value of 200, each other metric at 1,000.
 */
export function thresholdsFor(alpha: number): Record<MetricName, number> {
  const others = METRICS.length - 1;
  return Object.fromEntries(METRICS.map((m) => [m, m === 'errors' ? 2 / alpha : (2 * others) / alpha])) as Record<MetricName, number>;
}

class Sequential implements Analysis {
  private readonly errors: OddsTest;
  private readonly truncations: OddsTest;
  private readonly values: ValueEvidence[];
  private readonly byCall: Matcher;
  private readonly bySuccess: Matcher;
  /** per metric: the e-value at which it fails (its share of alpha, inverted), and its log */
  private readonly thresholds: Record<MetricName, number>;
  private readonly logThresholds: Record<MetricName, number>;
  private calls = { candidate: 0, stable: 0 };
  private failures = { candidate: 0, stable: 0 };
  private truncated = { candidate: 0, stable: 0 };
  private successes = { candidate: 0, stable: 0 };
  private markMs = -Infinity;
  private callsSinceMark = 0;
  private callGroupsAtMark = 0;
  private successGroupsAtMark = 0;
  private failed: Verdict | null = null;
  private marks = 0;
  private cached: Verdict | null = null;
  private cachedVersion = -1;
  /** samples dropped for a field that is not what a CallSample says (a bug in the caller) */
  private malformed = 0;

  constructor(private readonly spec: AnalysisSpec, private readonly rng: Rng) {
    this.thresholds = thresholdsFor(spec.alpha);
    this.logThresholds = Object.fromEntries(METRICS.map((m) => [m, Math.log(this.thresholds[m])])) as Record<MetricName, number>;
    this.errors = new OddsTest(1 + spec.tolerance.errors);
    this.truncations = new OddsTest(1 + spec.tolerance.truncations);
    this.values = VALUES.map((d) => new ValueEvidence(d, spec.tolerance[d.metric], spec.maxMatched));
    this.byCall = new Matcher(requestKey, spec.windowMs, spec.maxMatched, (c, s, k) => this.callGroup(c, s, k));
    this.bySuccess = new Matcher(callKey, spec.windowMs, spec.maxMatched, (c, s, k) => this.successGroup(c, s, k));
  }

  observe(side: Side, s: CallSample): void {
    if (!wellFormed(s)) { this.malformed++; return; }
    this.calls[side]++;
    if (s.failed) this.failures[side]++;
    else {
      this.successes[side]++;
      if (s.truncated) this.truncated[side]++;
    }
    if (side === 'candidate') {
      if (s.atMs >= this.markMs) this.callsSinceMark++;
      this.byCall.candidate(s);
      if (!s.failed) this.bySuccess.candidate(s);
    } else {
      this.byCall.stable(s);
      if (!s.failed) this.bySuccess.stable(s);
    }
  }

  shift(region: string, nowMs: number): void {
    this.byCall.shift(region, nowMs);
    this.bySuccess.shift(region, nowMs);
  }

  mark(nowMs: number): void {
    this.markMs = nowMs;
    this.marks++;
    this.errors.restart();
    this.truncations.restart();
    for (const v of this.values) v.test.restart();
    this.callsSinceMark = 0;
    this.callGroupsAtMark = this.byCall.groups;
    this.successGroupsAtMark = this.bySuccess.groups;
  }

  verdict(nowMs: number): Verdict {
    if (this.failed !== null) return this.failed;
    this.byCall.expire(nowMs);
    this.bySuccess.expire(nowMs);
    // read after every call on the hot path: nothing new, the same answer
    const version = this.calls.candidate + this.byCall.groups + this.bySuccess.groups + this.byCall.unmatched + this.marks;
    if (this.cached !== null && version === this.cachedVersion) return this.cached;
    this.cachedVersion = version;
    this.cached = this.judge();
    return this.cached;
  }

  private judge(): Verdict {
    const need = this.spec.minCalls;
    if (this.callsSinceMark < need) {
      const bad = this.malformed > 0 ? ` (${this.malformed} malformed samples dropped)` : '';
      return { kind: 'inconclusive', reason: `${this.callsSinceMark} of ${need} candidate calls since the step began${bad}` };
    }
    const callGroups = this.byCall.groups - this.callGroupsAtMark;
    if (callGroups < MIN_GROUPS) {
      return { kind: 'inconclusive', reason: `${callGroups} of ${MIN_GROUPS} candidate calls since the step began were matched with stable calls of the same region, stream mode and prompt size within ${this.spec.windowMs} ms (${this.byCall.unmatched} unmatched in all): stable needs traffic alongside` };
    }
    const successGroups = this.bySuccess.groups - this.successGroupsAtMark;
    if (successGroups < MIN_GROUPS) {
      return { kind: 'inconclusive', reason: `${successGroups} of ${MIN_GROUPS} successful candidate calls since the step began were matched with successful stable calls of the same stratum: latency and output are not yet measured` };
    }
    const top = this.largest();
    return { kind: 'pass', reason: `no regression: ${this.callsSinceMark} candidate calls and ${callGroups} matched groups since the step began; largest e-value ${evalue(top.e)} (${top.metric}) < ${evalue(this.thresholds[top.metric])}` };
  }

  summary(): AnalysisSummary {
    const metrics: MetricEvidence[] = METRICS.map((m) => this.evidence(m));
    return {
      method: 'sequential',
      candidateCalls: this.calls.candidate,
      stableCalls: this.calls.stable,
      candidateFailures: this.failures.candidate,
      stableFailures: this.failures.stable,
      metrics,
    };
  }

  private evidence(metric: MetricName): MetricEvidence {
    const e = (t: OddsTest | RankTest) => Math.exp(Math.min(t.logE(), 700));
    if (metric === 'errors' || metric === 'truncations') {
      const t = metric === 'errors' ? this.errors : this.truncations;
      return { metric, comparisons: t.comparisons, statistic: e(t), threshold: this.thresholds[metric], ratio: this.rateRatio(metric) };
    }
    const v = this.values.find((x) => x.def.metric === metric)!;
    return { metric, comparisons: v.test.comparisons, statistic: e(v.test), threshold: this.thresholds[metric], ratio: v.ratio() };
  }

  private rates(metric: 'errors' | 'truncations'): [number, number] {
    if (metric === 'errors') return [this.failures.candidate / Math.max(1, this.calls.candidate), this.failures.stable / Math.max(1, this.calls.stable)];
    return [this.truncated.candidate / Math.max(1, this.successes.candidate), this.truncated.stable / Math.max(1, this.successes.stable)];
  }

  private rateRatio(metric: 'errors' | 'truncations'): number | null {
    const [c, s] = this.rates(metric);
    return s > 0 ? c / s : null;
  }

  private largest(): { metric: MetricName; e: number } {
    let best: { metric: MetricName; e: number } = { metric: 'errors', e: 0 };
    for (const m of METRICS) {
      const ev = this.evidence(m);
      if (ev.statistic / ev.threshold > best.e / this.thresholds[best.metric]) best = { metric: m, e: ev.statistic };
    }
    return best;
  }

  private callGroup(c: CallSample, stable: readonly CallSample[], k: number): void {
    let j = c.failed ? 1 : 0;
    for (let i = 0; i < k; i++) if (stable[i].failed) j++;
    this.errors.add(c.failed, j, k + 1);
    if (this.failed === null && this.errors.reached(this.logThresholds.errors)) {
      const [cr, sr] = this.rates('errors');
      this.fail('errors', `errors: candidate ${share(cr)} vs stable ${share(sr)} of calls (e-value ${evalue(Math.exp(this.errors.logE()))} ≥ ${evalue(this.thresholds.errors)}; ${this.errors.comparisons} matched groups with a failure)`);
    }
  }

  private successGroup(c: CallSample, stable: readonly CallSample[], k: number): void {
    let j = c.truncated ? 1 : 0;
    for (let i = 0; i < k; i++) if (stable[i].truncated) j++;
    this.truncations.add(c.truncated, j, k + 1);
    if (this.failed === null && this.truncations.reached(this.logThresholds.truncations)) {
      const [cr, sr] = this.rates('truncations');
      this.fail('truncations', `truncations: candidate ${share(cr)} vs stable ${share(sr)} of successful calls stopped at their token limit (e-value ${evalue(Math.exp(this.truncations.logE()))} ≥ ${evalue(this.thresholds.truncations)})`);
    }
    for (const v of this.values) {
      v.add(c, stable, k, this.rng);
      if (this.failed === null && v.test.reached(this.logThresholds[v.def.metric])) {
        const r = v.ratio();
        this.fail(v.def.metric, `${v.def.metric}: candidate ${r === null ? '?' : times(r)} stable, matched within stratum and time over ${v.test.comparisons} groups (e-value ${evalue(Math.exp(v.test.logE()))} ≥ ${evalue(this.thresholds[v.def.metric])})`);
      }
    }
  }

  private fail(metric: MetricName, reason: string): void {
    this.failed = { kind: 'fail', metric, reason };
  }
}

/** The sequential test (method `sequential`); `rng` breaks ties in ranks (default: a fixed-seed stream). */
export function sequentialAnalysis(spec: AnalysisSpec, rng?: Rng): Analysis {
  return new Sequential(spec, rng ?? seeded(0x5eed));
}
