import { describe, expect, it } from 'vitest';
import { cdfPoints, jain, quantiles, quantileSorted, summarize, tpot } from '../../../src/sim/report/index.js';
import { bigRun, rejected, replica, req, run, slo } from './fixtures.js';

describe('quantiles: linear interpolation between closest ranks (rank (n − 1)·q)', () => {
  it.each([
    [[4, 1, 3, 2, 5], { p50: 3, p90: 4.6, p99: 4.96, mean: 3 }, 'ranks 2, 3.6, 3.96 of 0..4'],
    [[10, 20], { p50: 15, p90: 19, p99: 19.9, mean: 15 }, 'between the only two'],
    [[7], { p50: 7, p90: 7, p99: 7, mean: 7 }, 'one value is every quantile'],
  ])('%j → %j (%s)', (values, expected) => {
    const q = quantiles(values);
    for (const k of ['p50', 'p90', 'p99', 'mean'] as const) expect(q[k]).toBeCloseTo(expected[k], 12);
  });

  it('gives the extremes at 0 and 1 and NaN for no values', () => {
    expect(quantileSorted([1, 2, 3], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3], 1)).toBe(3);
    expect(quantiles([]).p50).toBeNaN();
    expect(quantiles([]).mean).toBeNaN();
  });
});

describe("Jain's fairness index", () => {
  it('is 1 when every tenant fares alike and 1/n when one has it all', () => {
    expect(jain([0.9, 0.9, 0.9])).toBe(1);
    expect(jain([1, 0, 0, 0])).toBe(0.25);
    expect(jain([1, 0])).toBe(0.5);
  });
});

describe('CDF points', () => {
  it('keep at most 200 points, the extremes included, fractions rising to 1', () => {
    const values = Array.from({ length: 1000 }, (_, i) => (i * 37) % 1000);
    const pts = cdfPoints(values);
    expect(pts).toHaveLength(200);
    expect(pts[0]).toEqual([0, 0.001]);
    expect(pts[199]).toEqual([999, 1]);
    for (let i = 1; i < pts.length; i++) expect(pts[i][1]).toBeGreaterThan(pts[i - 1][1]);
  });

  it('keep every point of a small sample', () => {
    expect(cdfPoints([3, 1, 2])).toEqual([[1, 1 / 3], [2, 2 / 3], [3, 1]]);
  });
});

describe('inter-token latency', () => {
  it("is each request's TPOT: (finish − first token) / (output tokens − 1)", () => {
    expect(tpot(req({ firstTokenS: 1, finishS: 2, outputLen: 11 }))).toBeCloseTo(0.1);
  });

  it('skips one-token answers, which have no gap between tokens', () => {
    const p = summarize(run([req({ firstTokenS: 1, finishS: 2, outputLen: 11 }), req({ outputLen: 1 })]), slo);
    expect(p.itl.p50).toBeCloseTo(0.1);
    expect(p.itl.p99).toBeCloseTo(0.1);
    expect(p.cdf.itl).toHaveLength(1);
  });
});

describe('goodput under the SLO', () => {
  it('counts a request only inside every bound', () => {
    const p = summarize(run([
      req(), // TTFT 0.2 s, TPOT 0.05 s: exactly on the TPOT bound, in
      req({ firstTokenS: 0.5001, finishS: 1.0001 }), // TTFT just over 0.5 s
      req({ finishS: 0.2 + 10 * 0.0501 }), // TPOT just over 50 ms
      req({ outcome: 'failed', firstTokenS: NaN, finishS: NaN }),
    ]), slo);
    expect(p.goodput.fraction).toBe(0.25);
    expect(p.goodput.reqPerS).toBeCloseTo(0.1); // 1 request over 10 s
  });

  it('holds end to end to its bound only when the SLO sets one', () => {
    const slow = [req({ finishS: 0.7 })]; // 0.7 s end to end
    expect(summarize(run(slow), slo).goodput.fraction).toBe(1);
    expect(summarize(run(slow), { ...slo, e2eS: 0.69 }).goodput.fraction).toBe(0);
  });
});

describe('counts and throughput', () => {
  it('counts outcomes and retries, and rates ok work over the arrival window', () => {
    const p = summarize(run([req({ retries: 2 }), req(), rejected(), req({ outcome: 'failed', retries: 1, firstTokenS: NaN, finishS: NaN })]), slo);
    expect(p.counts).toEqual({ arrived: 4, ok: 2, rejected: 1, failed: 1, retries: 3 });
    expect(p.throughput).toEqual({ reqPerS: 0.2, inputTokPerS: 20, outputTokPerS: 2.2 });
    expect(p.ttft.p50).toBeCloseTo(0.2);
    expect(p.e2e.p50).toBeCloseTo(0.7);
  });
});

describe('cost, cache and replicas', () => {
  it('prices GPU-hours and tokens', () => {
    // 2 GPUs × 1 h × $3 = $6, over 3 ok requests of 100 + 11 tokens
    const p = summarize(run([req(), req(), req()]), slo);
    expect(p.gpuHours).toBe(2);
    expect(p.costUsd).toBe(6);
    expect(p.costPerMTokens).toBeCloseTo((6 / 333) * 1e6);
    expect(p.costPerMOutputTokens).toBeCloseTo((6 / 33) * 1e6);
  });

  it('sums GPU-hours and cost over replicas of different sizes and prices', () => {
    const p = summarize(run([req()], { replicas: [replica(), replica({ id: 'r1', gpus: 8, costPerGpuHour: 2, upS: 1800 })] }), slo);
    expect(p.gpuHours).toBe(2 + 4); // 2 GPUs × 1 h + 8 GPUs × 0.5 h
    expect(p.costUsd).toBe(6 + 8);
  });

  it('takes the hit rate over all prefix queries, not the mean of replica rates', () => {
    const p = summarize(run([req()], { replicas: [replica(), replica({ id: 'r1', prefixQueries: 3000, prefixHits: 3000, preemptions: 5 })] }), slo);
    expect(p.prefixCacheHitRate).toBe(3250 / 4000);
    expect(p.preemptions).toBe(7);
    expect(p.replicas.map((r) => r.prefixHitRate)).toEqual([0.25, 1]);
  });

  it('reports each replica: busy fraction, mean running from the samples, hits, preemptions', () => {
    const p = summarize(run([req()]), slo);
    expect(p.replicas[0]).toMatchObject({ id: 'r0', busyFraction: 0.5, meanRunning: 4, prefixHitRate: 0.25, preemptions: 2 });
  });
});

describe('tenants', () => {
  it('reports each tenant, and a starved tenant drags the fairness index down', () => {
    const p = summarize(run([req({ tenant: 'a' }), req({ tenant: 'a' }), req({ tenant: 'b', firstTokenS: 3, finishS: 4 })]), slo);
    expect(p.tenants.map((t) => [t.tenant, t.requests, t.ok, t.goodputFraction])).toEqual([['a', 2, 2, 1], ['b', 1, 1, 0]]);
    expect(p.jainGoodput).toBe(0.5);
    expect(p.jainCompletion).toBe(1); // both completed everything, one too late
    expect(p.tenants[0].outputShare).toBeCloseTo(2 / 3);
    expect(p.tenants[1].ttft.p50).toBeCloseTo(3);
  });

  it('rates completion fairness apart from the SLO', () => {
    const p = summarize(run([req({ tenant: 'a' }), rejected({ tenant: 'b' })]), slo);
    expect(p.jainCompletion).toBe(0.5);
    expect(p.tenants[1]).toMatchObject({ ok: 0, outputTokens: 0, outputShare: 0 });
  });
});

describe('series over time', () => {
  it('buckets completions and output tokens by finish time, per second', () => {
    const p = summarize(run([req({ finishS: 0.5 }), req({ finishS: 0.9 }), req({ finishS: 3.2 })], { durationS: 5 }), slo);
    expect(p.series.stepS).toBe(1);
    expect(p.series.completionsPerS).toEqual([2, 0, 0, 1, 0]);
    expect(p.series.outputTokPerS).toEqual([22, 0, 0, 11, 0]);
  });

  it('runs on through the drain, where a backlog finishes', () => {
    const p = summarize(run([req({ arrivalS: 9, firstTokenS: 12, finishS: 14.5 })], { durationS: 10 }), slo);
    expect(p.series.t.at(-1)).toBe(14);
    expect(p.series.completionsPerS.at(-1)).toBe(1);
  });

  it('averages queue depth over the samples in a bucket', () => {
    const samples = [0, 1, 2, 3].map((t) => ({ atS: t, queued: t, running: 1, kvUsage: 0, perReplicaRunning: [1] }));
    const p = summarize(run([req()], { durationS: 4, sampleS: 2, samples }), slo);
    expect(p.series.queued).toEqual([0.5, 2.5]);
  });

  it('stays at 300 buckets or fewer however long the run', () => {
    const p = summarize(bigRun('x', 2000, 86_400), slo);
    expect(p.series.t.length).toBeLessThanOrEqual(300);
    expect(p.series.t.length).toBeGreaterThan(250);
  });
});
