import { describe, expect, it } from 'vitest';
import { analysisSchema, METRICS, type Analysis, type CallSample } from '../../../../src/control/rollouts/index.js';
import { sequentialAnalysis, stratumOf } from '../../../../src/control/rollouts/analysis/index.js';
import { call, drive, type Traffic } from './traffic.js';

const spec = (over = {}) => analysisSchema.parse(over);

/** Feeds traffic until `calls` more candidate calls; returns the last sample's time. */
function feed(a: Analysis, t: Traffic, calls: number): number {
  let n = 0, at = 0;
  drive(t, (side, s) => {
    a.observe(side, s);
    at = s.atMs;
    if (side === 'candidate') n++;
    return n < calls;
  });
  return at;
}

describe('stratumOf', () => {
  it('separates cache hits from misses, streams from unary calls, and regions', () => {
    const miss = call({ promptTokens: 1000, cachedTokens: 0 });
    expect(stratumOf(miss)).toBe('us-east/stream/2^9/miss');
    expect(stratumOf(call({ promptTokens: 1000, cachedTokens: 600 }))).toBe('us-east/stream/2^8/hit');
    expect(stratumOf(call({ stream: false }))).toBe('us-east/unary/2^9/miss');
    expect(stratumOf(call({ region: 'eu-west' }))).toBe('eu-west/stream/2^9/miss');
  });

  it('buckets the prompt tokens computed in powers of two', () => {
    expect(stratumOf(call({ promptTokens: 512 }))).toBe(stratumOf(call({ promptTokens: 1023 })));
    expect(stratumOf(call({ promptTokens: 1023 }))).not.toBe(stratumOf(call({ promptTokens: 1024 })));
    expect(stratumOf(call({ promptTokens: 100, cachedTokens: 100 }))).toBe('us-east/stream/0/hit');
  });
});

describe('sequential analysis: matching', () => {
  it('compares a cache miss only with misses: slow cold calls against fast warm ones are no evidence', () => {
    const a = sequentialAnalysis(spec());
    for (let i = 0; i < 2_000; i++) {
      a.observe('stable', call({ atMs: i * 10, cachedTokens: 900, ttftMs: 50 }));
      if (i % 5 === 0) a.observe('candidate', call({ atMs: i * 10 + 1, cachedTokens: 0, ttftMs: 500 }));
    }
    const ttft = a.summary().metrics.find((m) => m.metric === 'ttft')!;
    expect(ttft.comparisons).toBe(0);
    expect(a.verdict(20_000).kind).toBe('inconclusive');
  });

  it('matches only stable calls that ended within the window, each once, most recent first', () => {
    const a = sequentialAnalysis(spec({ windowMs: 60_000, maxMatched: 2 }));
    a.observe('stable', call({ atMs: 0 }));
    a.observe('candidate', call({ atMs: 61_000 })); // the stable call is too old
    expect(a.summary().metrics.find((m) => m.metric === 'ttft')!.comparisons).toBe(0);
    for (let i = 0; i < 3; i++) a.observe('stable', call({ atMs: 62_000 + i, ttftMs: 100 + i }));
    // the waiting candidate call took one stable call; two remain for the next
    a.observe('candidate', call({ atMs: 62_010 }));
    a.observe('candidate', call({ atMs: 62_011 })); // nothing left: waits
    expect(a.summary().metrics.find((m) => m.metric === 'ttft')!.comparisons).toBe(2);
  });

  it('a candidate call waits for a stable one, and is dropped when its window passes', () => {
    const a = sequentialAnalysis(spec({ windowMs: 1_000, minCalls: 1 }));
    a.observe('candidate', call({ atMs: 0 }));
    expect(a.verdict(5_000)).toMatchObject({ kind: 'inconclusive' });
    a.observe('stable', call({ atMs: 5_000 }));
    expect(a.summary().metrics.find((m) => m.metric === 'ttft')!.comparisons).toBe(0);
  });
});

describe('sequential analysis: no data is never a verdict', () => {
  it('a candidate with no traffic is inconclusive, saying what is missing', () => {
    const a = sequentialAnalysis(spec());
    a.mark(0);
    feed(a, { seed: 1, share: 0 }, 0);
    expect(a.verdict(0)).toEqual({ kind: 'inconclusive', reason: '0 of 200 candidate calls since the step began' });
  });

  it('a candidate with no stable calls to match is inconclusive however many calls it serves', () => {
    const a = sequentialAnalysis(spec());
    a.mark(0);
    const at = feed(a, { seed: 2, share: 1 }, 5_000);
    const v = a.verdict(at);
    expect(v.kind).toBe('inconclusive');
    expect(v.reason).toMatch(/^0 of 30 candidate calls since the step began were matched/);
  });

  it('samples with no measurements (no TTFT, no ITL) still judge errors, and pass nothing on their own', () => {
    const a = sequentialAnalysis(spec({ minCalls: 10 }));
    for (let i = 0; i < 100; i++) {
      a.observe('stable', call({ atMs: i * 100, ttftMs: null, itlMs: null }));
      a.observe('candidate', call({ atMs: i * 100 + 1, ttftMs: null, itlMs: null }));
    }
    const m = a.summary().metrics;
    expect(m.find((x) => x.metric === 'ttft')!.comparisons).toBe(0);
    expect(m.find((x) => x.metric === 'ttft')!.ratio).toBeNull();
    expect(a.verdict(10_000).kind).toBe('pass');
  });

  it('a candidate whose every call fails is failed by the error test; its latency tests say they have no data', () => {
    const a = sequentialAnalysis(spec());
    let n = 0;
    drive({ seed: 3 }, (side, s) => {
      a.observe(side, side === 'candidate' ? { ...s, failed: true, ttftMs: null, itlMs: null, outputTokens: 0, cachedTokens: 0 } : s);
      if (side === 'candidate') n++;
      return a.verdict(s.atMs).kind !== 'fail' && n < 1_000;
    });
    const v = a.verdict(0);
    expect(v).toMatchObject({ kind: 'fail', metric: 'errors' });
    expect(n).toBeLessThan(30);
    const s = a.summary();
    expect(s.candidateFailures).toBe(s.candidateCalls);
    for (const m of s.metrics.filter((x) => x.metric !== 'errors')) {
      expect(m.comparisons).toBe(0);
      expect(m.statistic).toBe(1);
    }
  });

  it('passes only once minCalls candidate calls have come since the latest mark', () => {
    const a = sequentialAnalysis(spec({ minCalls: 300 }));
    const t: Traffic = { seed: 4 };
    let at = feed(a, t, 299);
    expect(a.verdict(at)).toMatchObject({ kind: 'inconclusive', reason: '299 of 300 candidate calls since the step began' });
    at = feed(a, { ...t, seed: 5, startMs: at }, 1);
    expect(a.verdict(at)).toMatchObject({ kind: 'pass' });
    expect(a.verdict(at).reason).toMatch(/^no regression: 300 candidate calls and \d+ matched groups since the step began; largest e-value [\d.]+ \(\w+\) < (200|1,?000)$/);
    a.mark(at);
    expect(a.verdict(at)).toMatchObject({ kind: 'inconclusive', reason: '0 of 300 candidate calls since the step began' });
    at = feed(a, { ...t, seed: 6, startMs: at }, 300);
    expect(a.verdict(at).kind).toBe('pass');
  });

  it('drops malformed samples and says so', () => {
    const a = sequentialAnalysis(spec());
    a.observe('candidate', { ...call(), atMs: Number.NaN });
    a.observe('candidate', { ...call(), region: undefined } as unknown as CallSample);
    expect(a.summary().candidateCalls).toBe(0);
    expect(a.verdict(0).reason).toBe('0 of 200 candidate calls since the step began (2 malformed samples dropped)');
  });
});

describe('sequential analysis: over a whole rollout', () => {
  it('catches a regression that starts late, after a long good stretch, once a new step is marked', () => {
    // 20,000 good candidate calls drive a tolerant e-process towards 0; the mark starts a fresh component
    const a = sequentialAnalysis(spec());
    let at = feed(a, { seed: 8 }, 20_000);
    expect(a.verdict(at).kind).toBe('pass');
    a.mark(at);
    let n = 0;
    drive({ seed: 9, startMs: at, effect: { ttftFactor: 1.5 } }, (side, s) => {
      a.observe(side, s);
      at = s.atMs;
      if (side === 'candidate') n++;
      return a.verdict(at).kind !== 'fail' && n < 5_000;
    });
    expect(a.verdict(at)).toMatchObject({ kind: 'fail', metric: 'ttft' });
    expect(n).toBeLessThan(600);
  });

  it('stays failed once failed, whatever comes after', () => {
    const a = sequentialAnalysis(spec());
    const at = feed(a, { seed: 10, effect: { errors: 0.5 } }, 200);
    const v = a.verdict(at);
    expect(v.kind).toBe('fail');
    a.mark(at);
    feed(a, { seed: 11, startMs: at }, 1_000);
    expect(a.verdict(at + 1e6)).toEqual(v);
  });

  it('summarises both sides and one piece of evidence per metric', () => {
    const a = sequentialAnalysis(spec());
    feed(a, { seed: 12 }, 1_000);
    const s = a.summary();
    expect(s.method).toBe('sequential');
    expect(s.candidateCalls).toBe(1_000);
    expect(s.stableCalls).toBeGreaterThan(8_000);
    expect(s.stableFailures).toBeGreaterThan(0);
    expect(s.metrics.map((m) => m.metric)).toEqual([...METRICS]);
    for (const m of s.metrics) {
      // alpha 0.01: half to errors (e-value 200), the rest split over the five others (1,000 each)
      expect(m.threshold).toBe(m.metric === 'errors' ? 200 : 1_000);
      expect(m.statistic).toBeLessThan(m.threshold);
    }
    const errors = s.metrics.find((m) => m.metric === 'errors')!;
    expect(errors.comparisons).toBeGreaterThan(30);
    expect(s.metrics.find((m) => m.metric === 'ttft')!.ratio).toBeGreaterThan(0.9);
  });
});
