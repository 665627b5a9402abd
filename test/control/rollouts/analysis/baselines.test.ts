import { describe, expect, it } from 'vitest';
import type { Analysis } from '../../../../src/control/rollouts/index.js';
import { intervalThresholdAnalysis, mannWhitneyAnalysis } from '../../../../src/control/rollouts/analysis/index.js';
import { call, drive, type Effect } from './traffic.js';

const MIN = 60_000;

/** Ten calls per side in the minute starting at `minute`; the candidate's fail at `errorRate`. */
function minute(a: Analysis, m: number, errorRate: number, candidate = true): void {
  for (let i = 0; i < 10; i++) {
    const at = m * MIN + i * 1_000 + 1;
    a.observe('stable', call({ atMs: at }));
    if (candidate) a.observe('candidate', call({ atMs: at + 1, failed: i < errorRate * 10, ttftMs: i < errorRate * 10 ? null : 100 }));
  }
}

describe('interval-threshold baseline (Argo Rollouts / Flagger)', () => {
  it('fails at the 4th failing interval, not the 3rd (failureLimit 3), naming the metric', () => {
    const a = intervalThresholdAnalysis({});
    a.mark(0);
    for (let m = 0; m < 3; m++) minute(a, m, 0.2);
    expect(a.verdict(3 * MIN).kind).toBe('inconclusive');
    minute(a, 3, 0.2);
    const v = a.verdict(4 * MIN);
    expect(v).toMatchObject({ kind: 'fail', metric: 'errors' });
    expect(v.reason).toBe('errors: 4 failed measurements > failureLimit 3 (latest: error rate 20 % > 5 %)');
  });

  it('an interval with no candidate calls is not a failure, and not a success', () => {
    const a = intervalThresholdAnalysis({});
    a.mark(0);
    for (let m = 0; m < 10; m++) minute(a, m, 0, false);
    const v = a.verdict(10 * MIN);
    expect(v.kind).toBe('inconclusive');
    expect(v.reason).toBe('0 of 3 successful measurements since the step began, 0 failed; 10 intervals had no candidate calls');
  });

  it('passes after 3 good intervals since the mark, and fails on a p95 TTFT 1.5× stable\'s', () => {
    const good = intervalThresholdAnalysis({});
    good.mark(0);
    for (let m = 0; m < 3; m++) minute(good, m, 0);
    expect(good.verdict(3 * MIN).kind).toBe('pass');

    const slow = intervalThresholdAnalysis({ failureLimit: 0 });
    slow.mark(0);
    for (let i = 0; i < 20; i++) {
      slow.observe('stable', call({ atMs: i * 1_000, ttftMs: 100 }));
      slow.observe('candidate', call({ atMs: i * 1_000 + 1, ttftMs: 160 }));
    }
    expect(slow.verdict(MIN)).toMatchObject({ kind: 'fail', metric: 'ttft' });
  });

  it('measures per interval, so a broken build costs minutes, not calls', () => {
    const a = intervalThresholdAnalysis({});
    a.mark(0);
    let calls = 0, at = 0;
    drive({ seed: 1, effect: { errors: 0.5 } }, (side, s) => {
      a.observe(side, s);
      at = s.atMs;
      if (side === 'candidate') calls++;
      return a.verdict(at).kind !== 'fail';
    });
    expect(at).toBeGreaterThanOrEqual(4 * MIN);
    expect(calls).toBeGreaterThan(1_000);
  });
});

/** Runs synthetic traffic for `minutes` and returns the Mann-Whitney verdict at the end. */
function kayenta(effect: Effect | undefined, minutes: number, seed: number, candidateHit = 0.85) {
  const a = mannWhitneyAnalysis({});
  a.mark(0);
  let at = 0;
  drive({ seed, effect, rps: 20, share: 0.5, candidateHit }, (side, s) => {
    a.observe(side, s);
    at = s.atMs;
    return at < minutes * MIN;
  });
  return { verdict: a.verdict(minutes * MIN), analysis: a };
}

describe('mann-whitney baseline (Kayenta)', () => {
  it('is inconclusive before 5 intervals per side', () => {
    const a = mannWhitneyAnalysis({});
    a.mark(0);
    for (let m = 0; m < 4; m++) minute(a, m, 0);
    expect(a.verdict(5 * MIN).reason).toBe('4 candidate and 4 stable intervals since the step began; a judgement needs 5 of each');
  });

  it('flags a shifted metric: TTFT × 3 is High', () => {
    const { verdict, analysis } = kayenta({ ttftFactor: 3 }, 10, 1);
    const ttft = analysis.summary().metrics.find((m) => m.metric === 'ttft')!;
    expect(Math.abs(ttft.statistic)).toBeGreaterThan(ttft.threshold);
    expect(ttft.ratio).toBeGreaterThan(2);
    // one of four metrics High: score 75, marginal, not yet a fail
    expect(verdict).toMatchObject({ kind: 'inconclusive' });
    expect(verdict.reason).toMatch(/^score 75: marginal/);
  });

  it('does not flag equal versions with equally warm caches', () => {
    const { verdict, analysis } = kayenta(undefined, 10, 2);
    expect(verdict.kind).toBe('pass');
    for (const m of analysis.summary().metrics) expect(Math.abs(m.statistic)).toBeLessThan(m.threshold);
  });

  it('but flags an equal version whose new replicas have a cold prefix cache (aggregates are not matched)', () => {
    const { analysis } = kayenta(undefined, 10, 2, 0.15);
    const ttft = analysis.summary().metrics.find((m) => m.metric === 'ttft')!;
    expect(Math.abs(ttft.statistic)).toBeGreaterThan(ttft.threshold);
    expect(ttft.ratio).toBeGreaterThan(1.1);
  });

  it('fails outright when the critical metric (errors) is High', () => {
    const { verdict } = kayenta({ errors: 0.2 }, 10, 3);
    expect(verdict).toMatchObject({ kind: 'fail', metric: 'errors' });
    expect(verdict.reason).toMatch(/a critical metric$/);
  });
});
