import { describe, expect, it } from 'vitest';
import { drive } from './traffic.js';
import { runUntilFail } from './run.js';

// A/A: the candidate is stable under another name. Its replicas are new, so its prefix cache is
// cold (15 % hits against stable's 85 %), and load drifts over the run: an unmatched comparison would
// call it slower. The false-fail rate is the chance a good version is rolled back.

const NO_TOLERANCE = { errors: 0, ttft: 0, itl: 0, output_tokens: 0, truncations: 0, cost: 0 };

describe('sequential analysis, candidate the same as stable (A/A)', () => {
  it('the traffic is confounded: the cold candidate\'s raw mean TTFT is well above stable\'s', () => {
    const sum = { candidate: 0, stable: 0 }, n = { candidate: 0, stable: 0 };
    drive({ seed: 1 }, (side, s) => {
      if (s.ttftMs !== null) { sum[side] += s.ttftMs; n[side]++; }
      return n.candidate < 2_000;
    });
    expect(sum.candidate / n.candidate / (sum.stable / n.stable)).toBeGreaterThan(1.3);
  });

  it('fails in at most 1 % of 200 seeded runs (600 candidate + ~6,000 stable calls each), and the matched TTFT ratio stays near 1', () => {
    let fails = 0;
    const ratios: number[] = [];
    for (let seed = 1; seed <= 200; seed++) {
      const o = runUntilFail({ seed }, 600);
      if (o.verdict.kind === 'fail') fails++;
      ratios.push(o.analysis.summary().metrics.find((m) => m.metric === 'ttft')!.ratio!);
    }
    expect(fails).toBeLessThanOrEqual(2);
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    expect(mean).toBeGreaterThan(0.97);
    expect(mean).toBeLessThan(1.03);
  });

  it('is exact at the boundary: with no tolerance and alpha 0.2, read after every sample, fails in fewer than 20 % of 100 runs', () => {
    // Ville: P(ever ≥ 1/α) ≤ α however often it is read. Reading after every one of ~5,500 samples
    // per run is the worst case for a fixed-horizon test (it would fail nearly always).
    let fails = 0;
    for (let seed = 1001; seed <= 1100; seed++) {
      if (runUntilFail({ seed }, 500, { alpha: 0.2, tolerance: NO_TOLERANCE }, true).verdict.kind === 'fail') fails++;
    }
    expect(fails).toBeLessThan(20);
    // and not vacuously: some evidence does accumulate by chance
    expect(fails).toBeGreaterThan(0);
  });
});
