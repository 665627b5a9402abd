import { describe, expect, it } from 'vitest';
import { median, runUntilFail, type Outcome } from './run.js';
import type { Effect } from './traffic.js';

// Regressions the sequential test must catch, each over seeded runs of the same synthetic traffic as
// the A/A specs (cold candidate cache, drifting load): how many candidate calls it takes.

function runs(effect: Effect, seeds: number, maxCalls: number, spec = {}): Outcome[] {
  const out: Outcome[] = [];
  for (let seed = 1; seed <= seeds; seed++) out.push(runUntilFail({ seed: 7_000 + seed, effect }, maxCalls, spec));
  return out;
}

const failedOn = (o: Outcome) => (o.verdict.kind === 'fail' ? o.verdict.metric : null);

describe('sequential analysis detects', () => {
  it('a broken build (50 % errors against 1 %) before 100 candidate calls in every one of 50 seeds, naming errors', () => {
    const out = runs({ errors: 0.5 }, 50, 100);
    for (const o of out) {
      expect(failedOn(o)).toBe('errors');
      expect(o.verdict.reason).toMatch(/^errors: candidate \d+ % vs stable [\d.]+ % of calls \(e-value [\d.e]+ ≥ 200/);
    }
    expect(median(out.map((o) => o.calls))).toBeLessThan(40);
  });

  it('errors 1 % → 2 % before 5,000 candidate calls in at least 80 % of seeds, with no tolerance on errors', () => {
    const out = runs({ errors: 0.02 }, 30, 5_000, { tolerance: { errors: 0 } });
    const caught = out.filter((o) => failedOn(o) === 'errors');
    expect(caught.length).toBeGreaterThanOrEqual(24);
  });

  it('TTFT × 1.5 (lognormal σ 0.5) on ttft before 5,000 candidate calls, in every one of 20 seeds', () => {
    const out = runs({ ttftFactor: 1.5 }, 20, 5_000);
    for (const o of out) expect(failedOn(o)).toBe('ttft');
    expect(median(out.map((o) => o.calls))).toBeLessThan(500);
  });

  it('outputs twice as long, with output_tokens evidence past the threshold', () => {
    for (const o of runs({ outputFactor: 2 }, 10, 5_000)) {
      expect(o.verdict.kind).toBe('fail');
      // longer outputs also cost more and hit the token limit more often: any of the three may cross first
      expect(['output_tokens', 'cost', 'truncations']).toContain(failedOn(o));
      const ev = o.analysis.summary().metrics.find((m) => m.metric === 'output_tokens')!;
      expect(ev.statistic).toBeGreaterThan(ev.threshold / 50);
      expect(ev.ratio).toBeGreaterThan(1.3);
    }
  });

  it('outputs half as long (two-sided: a version that stops early), on output_tokens', () => {
    const out = runs({ outputFactor: 0.5 }, 10, 5_000);
    for (const o of out) {
      expect(failedOn(o)).toBe('output_tokens');
      expect(o.verdict.reason).toMatch(/^output_tokens: candidate 0\.\d+× stable/);
    }
  });

  it('does not fail a candidate 3 % slower than stable (within the 5 % tolerance)', () => {
    for (const o of runs({ ttftFactor: 1.03 }, 10, 3_000)) expect(o.verdict.kind).not.toBe('fail');
  });
});
