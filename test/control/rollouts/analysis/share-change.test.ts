import { describe, expect, it } from 'vitest';
import { analysisSchema, type CallSample, type Side } from '../../../../src/control/rollouts/index.js';
import { sequentialAnalysis } from '../../../../src/control/rollouts/analysis/index.js';
import { rng } from './traffic.js';

// A/A traffic whose calls take time: the version is drawn when a call is sent, the sample is
// reported when it ends. Right after a share rises, the candidate's ended calls are the short ones
// (its long ones are still running) while stable's include the long ones sent before: not the same
// mix. Calls sent before a share change must not be compared, or an identical build is "too short".

interface Ended { end: number; s: CallSample; side: Side }

function traffic(seed: number, shares: readonly number[], stepMs: number): Ended[] {
  const r = rng(seed);
  const norm = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const out: Ended[] = [];
  for (let t = 0; t < shares.length * stepMs;) {
    t += (-Math.log(1 - r()) / 100) * 1000;
    const share = shares[Math.min(shares.length - 1, Math.floor(t / stepMs))];
    const side: Side = r() < share ? 'candidate' : 'stable';
    const failed = r() < 0.01;
    const tokens = Math.max(1, Math.min(2048, Math.round(Math.exp(Math.log(220) + 0.8 * norm()))));
    const ttft = 80 * Math.exp(0.5 * norm());
    const itl = 20 * Math.exp(0.2 * norm());
    const end = t + (failed ? 30 : ttft + itl * tokens);
    out.push({ end, side, s: {
      atMs: end, sentAtMs: t, region: 'r', stream: true, failed, ttftMs: failed ? null : ttft, itlMs: failed ? null : itl,
      promptTokens: 500, cachedTokens: 0, outputTokens: failed ? 0 : tokens, truncated: !failed && tokens === 2048, costUsd: failed ? 0 : tokens * 4e-6,
    } });
  }
  return out.sort((a, b) => a.end - b.end);
}

/** Plays one run as the driver would: at each share change a gate begins; `told` says whether the analysis hears of the change. */
function falselyFails(seed: number, told: boolean): boolean {
  const stepMs = 60_000;
  const a = sequentialAnalysis(analysisSchema.parse({}));
  let step = 0;
  for (const e of traffic(seed, [0, 0.25, 0.5], stepMs)) {
    while (e.end >= (step + 1) * stepMs) {
      step++;
      if (told) a.shift('r', step * stepMs);
      a.mark(step * stepMs);
    }
    a.observe(e.side, e.s);
    if (a.verdict(e.end).kind === 'fail') return true;
  }
  return false;
}

describe('a change of the candidate\'s share', () => {
  const seeds = Array.from({ length: 20 }, (_, i) => i + 1);

  it('biases the comparison when calls sent before it are compared (the failure this rule prevents)', () => {
    expect(seeds.filter((s) => falselyFails(s, false)).length).toBeGreaterThanOrEqual(5);
  });

  it('does not roll back an identical build once calls sent before it are left out', () => {
    expect(seeds.filter((s) => falselyFails(s, true)).length).toBeLessThanOrEqual(1);
  });
});
