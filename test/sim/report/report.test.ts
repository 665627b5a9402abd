import { describe, expect, it } from 'vitest';
import {
  buildReport, createProgress, jain, quantiles, renderHtml, renderText, reportJson, summarize,
  type ReplicaRecord, type RequestRecord, type RunRecords, type ScenarioInfo, type Slo,
} from '../../../src/sim/report/index.js';

const slo: Slo = { ttftS: 0.5, tpotS: 0.05 };

function req(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 0, tenant: 'a', model: 'm', arrivalS: 0, replica: 'r0', region: 'us', outcome: 'ok', promptLen: 100, outputLen: 11,
    cachedTokens: 0, firstTokenS: 0.2, finishS: 0.7, preemptions: 0, retries: 0, ...over,
  };
}

function replica(over: Partial<ReplicaRecord> = {}): ReplicaRecord {
  return {
    id: 'r0', region: 'us', model: 'm', profile: 'p', gpus: 2, costPerGpuHour: 3, upS: 3600, busyS: 1800, requests: 1,
    promptTokens: 0, generationTokens: 0, prefixQueries: 1000, prefixHits: 250, preemptions: 2, ...over,
  };
}

function run(requests: RequestRecord[], over: Partial<RunRecords> = {}): RunRecords {
  return {
    policy: 'p', durationS: 10, wallS: 0.1, requests: requests.map((r, id) => ({ ...r, id })), replicas: [replica()],
    samples: [{ atS: 0, queued: 2, running: 4, kvUsage: 0.5, perReplicaRunning: [4] }], sampleS: 1, ...over,
  };
}

const info: ScenarioInfo = { name: 's', seed: 1, description: 'd', workload: 'w', fleet: 'f', faults: [], slo };

describe('the figures', () => {
  it('interpolates quantiles linearly between ranks', () => {
    const q = quantiles([4, 1, 3, 2, 5]);
    expect(q).toEqual({ p50: 3, p90: 4.6, p99: 4.96, mean: 3 });
    expect(quantiles([]).p50).toBeNaN();
  });

  it("computes Jain's index: 1 for equals, 1/n when one tenant has it all", () => {
    expect(jain([0.9, 0.9, 0.9])).toBe(1);
    expect(jain([1, 0, 0, 0])).toBe(0.25);
  });

  it('takes inter-token latency as each request\'s TPOT, and skips one-token answers', () => {
    const p = summarize(run([req({ firstTokenS: 1, finishS: 2, outputLen: 11 }), req({ outputLen: 1 })]), slo);
    expect(p.itl.p50).toBeCloseTo(0.1);
    expect(p.itl.p99).toBeCloseTo(0.1);
  });

  it('counts a request as goodput only inside every bound of the SLO', () => {
    const p = summarize(run([
      req(), // TTFT 0.2, TPOT 0.05: in
      req({ firstTokenS: 0.5001, finishS: 1.0 }), // TTFT just over
      req({ finishS: 0.2 + 10 * 0.0501 }), // TPOT just over
      req({ outcome: 'failed', firstTokenS: NaN, finishS: NaN }),
    ]), slo);
    expect(p.goodput.fraction).toBe(0.25);
    expect(p.goodput.reqPerS).toBeCloseTo(0.1);
    expect(p.counts).toMatchObject({ arrived: 4, ok: 3, failed: 1, rejected: 0 });
  });

  it('prices GPU-hours and tokens', () => {
    // 2 GPUs × 1 h × $3 = $6, over 3 ok requests of 100 + 11 tokens
    const p = summarize(run([req(), req(), req()]), slo);
    expect(p.gpuHours).toBe(2);
    expect(p.costUsd).toBe(6);
    expect(p.costPerMTokens).toBeCloseTo((6 / 333) * 1e6);
    expect(p.costPerMOutputTokens).toBeCloseTo((6 / 33) * 1e6);
    expect(p.prefixCacheHitRate).toBe(0.25);
    expect(p.replicas[0]).toMatchObject({ busyFraction: 0.5, meanRunning: 4, prefixHitRate: 0.25, preemptions: 2 });
  });

  it('reports each tenant, and a starved tenant drags the fairness index down', () => {
    const p = summarize(run([req({ tenant: 'a' }), req({ tenant: 'a' }), req({ tenant: 'b', firstTokenS: 3, finishS: 4 })]), slo);
    expect(p.tenants.map((t) => [t.tenant, t.goodputFraction])).toEqual([['a', 1], ['b', 0]]);
    expect(p.jainGoodput).toBe(0.5);
    expect(p.tenants[0].outputShare).toBeCloseTo(2 / 3);
  });
});

describe('the renderings', () => {
  const two = () => buildReport(info, [run([req(), req({ tenant: 'b' })], { policy: 'least-outstanding' }), run([req()], { policy: 'round-robin' })], slo);

  it('JSON is the same bytes for the same records, and differs when a record does', () => {
    expect(reportJson(two())).toBe(reportJson(two()));
    const other = buildReport(info, [run([req({ finishS: 0.71 })])], slo);
    expect(reportJson(other)).not.toBe(reportJson(buildReport(info, [run([req()])], slo)));
    expect(reportJson(two())).not.toMatch(/wallS/);
  });

  it('the text report puts the policies side by side, one column each', () => {
    const t = renderText(two());
    const header = t.split('\n').find((l) => l.includes('least-outstanding'))!;
    expect(header).toMatch(/least-outstanding\s+round-robin/);
    expect(t).toMatch(/TTFT p50 \/ p90 \/ p99 \(ms\)/);
  });

  it('the page has a plot per figure, one column per policy, and escapes what users named', () => {
    const r = buildReport({ ...info, name: 'x' }, [run([req({ tenant: '<script>alert(1)</script>' })], { policy: 'a&b' })], slo);
    const html = renderHtml(r);
    expect(html.match(/<svg /g)).toHaveLength(8);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;');
    expect(html).toContain('a&amp;b');
    expect(renderHtml(two()).match(/<th>(least-outstanding|round-robin)<\/th>/g)).toHaveLength(2);
  });

  it('the progress bar draws only on a terminal, at most ten times a second', () => {
    const writes: string[] = [];
    const tty = createProgress({ isTTY: true, write: (s: string) => writes.push(s) }, 'sim');
    tty.update(0.5, 'lo', 0);
    tty.update(0.6, 'lo', 50);
    tty.update(0.7, 'lo', 150);
    tty.done();
    expect(writes).toHaveLength(3);
    expect(writes[0]).toMatch(/^\rsim \[#{15}\.{15}\]  50% lo/);
    const pipe: string[] = [];
    createProgress({ isTTY: false, write: (s: string) => pipe.push(s) }, 'sim').update(0.5, '', 0);
    expect(pipe).toHaveLength(0);
  });
});
