import { describe, expect, it } from 'vitest';
import { replicaCapacity, replicaLatency } from '../../../src/control/autoscaler/capacity.js';
import { resolveConfig } from '../../../src/engine/config.js';
import { PROFILES } from '../../../src/engine/profiles.js';
import { parseScenario, runScenario } from '../../../src/sim/index.js';
import { meetsSlo } from '../../../src/sim/report/summarize.js';

// Per-replica capacity at the SLO is the engine model's answer, so it must move the way the engine
// does: looser objectives and shorter requests carry more, a bigger model carries less, and the
// batch it assumes is one the engine could actually hold.

const h100_8b = PROFILES['llama-3.1-8b-h100'];
const h100_70b = PROFILES['llama-3.3-70b-fp8-h100-tp2'];
const shape = { promptTokens: 1000, outputTokens: 200 };
const slo = { ttftMs: 2000, itlMs: 40 };

describe('replicaCapacity', () => {
  it('carries more as the inter-token objective loosens', () => {
    const rates = [20, 25, 30, 40].map((itlMs) => replicaCapacity(h100_8b, {}, shape, { ttftMs: 2000, itlMs }).requestsPerS);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeGreaterThan(rates[i - 1]);
  });

  it('carries more as the time-to-first-token objective loosens, when that is what binds', () => {
    // long prompts on the 70B TP4 profile: prefill queueing, not the decode batch, is the limit
    const p = PROFILES['llama-2-70b-h100-tp4'];
    const long = { promptTokens: 3500, outputTokens: 500 };
    const caps = [1500, 2000, 2500].map((ttftMs) => replicaCapacity(p, {}, long, { ttftMs, itlMs: 500 }));
    for (let i = 1; i < caps.length; i++) expect(caps[i].requestsPerS).toBeGreaterThan(caps[i - 1].requestsPerS);
    expect(caps[0].ttftMs).toBeLessThanOrEqual(1500 + 1e-6);
  });

  it('carries fewer requests as prompts grow', () => {
    const rates = [250, 500, 1000, 2000, 4000, 8000].map((promptTokens) => replicaCapacity(h100_8b, {}, { promptTokens, outputTokens: 200 }, slo).requestsPerS);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1]);
  });

  it('carries fewer requests as outputs grow', () => {
    // (from 100 tokens: a very short answer is no cheaper, since each prefill in its few steps
    // weighs on its per-token latency the more)
    const rates = [100, 200, 400, 800].map((outputTokens) => replicaCapacity(h100_8b, {}, { promptTokens: 1000, outputTokens }, slo).requestsPerS);
    for (let i = 1; i < rates.length; i++) expect(rates[i]).toBeLessThan(rates[i - 1]);
  });

  it('puts a 70B replica below an 8B one on the same requests', () => {
    expect(replicaCapacity(h100_70b, {}, shape, slo).requestsPerS).toBeLessThan(replicaCapacity(h100_8b, {}, shape, slo).requestsPerS);
  });

  it('never assumes a batch above max_num_seqs or beyond the KV cache, engine overrides included', () => {
    const cases = [
      { profile: h100_8b, engine: {}, shape: { promptTokens: 200, outputTokens: 50 } },
      { profile: h100_8b, engine: { maxNumSeqs: 64 }, shape: { promptTokens: 200, outputTokens: 50 } },
      { profile: h100_8b, engine: { numGpuBlocks: 2000 }, shape: { promptTokens: 3000, outputTokens: 500 } },
      { profile: h100_70b, engine: {}, shape: { promptTokens: 8000, outputTokens: 1000 } },
    ];
    for (const c of cases) {
      const cfg = resolveConfig(c.profile, c.engine);
      const cap = replicaCapacity(c.profile, c.engine, c.shape, { ttftMs: 10_000, itlMs: 1_000 });
      expect(cap.batch).toBeLessThanOrEqual(cfg.maxNumSeqs);
      expect(cap.batch * (c.shape.promptTokens + c.shape.outputTokens)).toBeLessThanOrEqual(cfg.numGpuBlocks * cfg.blockSize);
      expect(cap.batch).toBeGreaterThanOrEqual(1);
      expect(cap.inflight).toBeGreaterThanOrEqual(cap.batch);
    }
    // a loose objective on a small max_num_seqs: the batch is the engine's limit, not more
    expect(replicaCapacity(h100_8b, { maxNumSeqs: 64 }, { promptTokens: 200, outputTokens: 50 }, { ttftMs: 10_000, itlMs: 1_000 }).batch).toBeCloseTo(64, 0);
  });

  it('is the highest rate whose modelled p99s are within the objectives', () => {
    for (const itlMs of [25, 40, 80]) {
      for (const sh of [shape, { promptTokens: 3000, outputTokens: 100 }]) {
        const o = { ttftMs: 2000, itlMs };
        const cap = replicaCapacity(h100_8b, {}, sh, o);
        expect(cap.itlMs).toBeLessThanOrEqual(itlMs + 1e-6);
        expect(cap.ttftMs).toBeLessThanOrEqual(2000 + 1e-6);
        // its figures are the latency model's at that rate, and a little more load misses one objective
        expect(replicaLatency(h100_8b, {}, sh, cap.requestsPerS).itlMs).toBeCloseTo(cap.itlMs, 6);
        const more = replicaLatency(h100_8b, {}, sh, cap.requestsPerS * 1.02);
        expect(more.itlMs > itlMs || more.ttftMs > 2000).toBe(true);
      }
    }
  });

  it('models latency rising with the load, and saturation as no answer', () => {
    const rates = [0.5, 2, 5, 10, 15].map((r) => replicaLatency(h100_8b, {}, shape, r));
    for (let i = 1; i < rates.length; i++) {
      expect(rates[i].itlMs).toBeGreaterThan(rates[i - 1].itlMs);
      expect(rates[i].ttftMs).toBeGreaterThan(rates[i - 1].ttftMs);
      expect(rates[i].decoding).toBeGreaterThan(rates[i - 1].decoding);
    }
    // past the rate at which prefill alone fills every second
    expect(replicaLatency(h100_8b, {}, shape, 1e6).itlMs).toBe(Infinity);
  });

  it('keeps its own TTFT estimate within the objective at the rate it returns', () => {
    for (const ttftMs of [600, 1200, 2400]) {
      const cap = replicaCapacity(h100_8b, {}, { promptTokens: 4000, outputTokens: 300 }, { ttftMs, itlMs: 50 });
      expect(cap.ttftMs).toBeLessThanOrEqual(ttftMs + 1e-6);
    }
  });

  it('gives a finite, positive answer with no traffic seen (zero or NaN means) and with unmeetable objectives', () => {
    const odd = [
      { promptTokens: 0, outputTokens: 0 },
      { promptTokens: Number.NaN, outputTokens: Number.NaN },
      { promptTokens: -5, outputTokens: Infinity },
    ];
    for (const sh of odd) {
      for (const o of [slo, { ttftMs: 0, itlMs: 0 }, { ttftMs: 1, itlMs: 1 }]) {
        const cap = replicaCapacity(h100_70b, {}, sh, o);
        for (const v of [cap.requestsPerS, cap.batch, cap.inflight, cap.stepMs, cap.ttftMs, cap.itlMs]) {
          expect(Number.isFinite(v)).toBe(true);
          expect(v).toBeGreaterThan(0);
        }
      }
    }
    // no traffic yet is planned as the default shape
    expect(replicaCapacity(h100_8b, {}, { promptTokens: 0, outputTokens: Number.NaN }, slo)).toEqual(replicaCapacity(h100_8b, {}, { promptTokens: 1000, outputTokens: 200 }, slo));
  });
});

// The model against the engine it models: one replica of the simulator (the same engine model the
// gateway's fleet runs as), Poisson arrivals of one request shape at the modelled capacity and at
// 1.3× it. At the capacity the SLO is attained (≥ 99 % of requests within both objectives); at
// 1.3× it clearly is not: the model is within the engine's truth by less than 30 %, on two profiles.
describe('replicaCapacity against the simulated engine', () => {
  const attainment = (profile: string, sh: { promptTokens: number; outputTokens: number }, o: { ttftMs: number; itlMs: number }, ratePerS: number): number => {
    const durationS = Math.max(300, Math.ceil(2500 / ratePerS));
    const scenario = parseScenario({
      name: 'capacity', seed: 11, durationS, regions: [{ name: 'r' }],
      fleet: [{ region: 'r', model: 'm', profile, replicas: 1 }],
      workload: { kind: 'poisson', ratePerS, prompt: sh.promptTokens, output: sh.outputTokens },
      policies: ['least-outstanding'],
      slo: { ttftMs: o.ttftMs, tpotMs: o.itlMs },
    });
    const { runs } = runScenario({ scenario, baseDir: '.' }, { clock: { nowMs: () => 0, monoMs: () => 0 } });
    // the first minute fills the replica from empty
    const reqs = runs[0].requests.filter((r) => r.arrivalS >= 60);
    const slo = { ttftS: o.ttftMs / 1000, tpotS: o.itlMs / 1000 };
    return reqs.filter((r) => meetsSlo(r, slo)).length / reqs.length;
  };

  it.each([
    ['llama-3.3-70b-fp8-h100-tp2', { promptTokens: 1150, outputTokens: 210 }, { ttftMs: 2000, itlMs: 100 }],
    ['llama-3.1-8b-h100', { promptTokens: 1000, outputTokens: 200 }, { ttftMs: 2000, itlMs: 40 }],
  ])('%s: attained at the modelled capacity, missed at 1.3× it', (name, sh, o) => {
    const cap = replicaCapacity(PROFILES[name], {}, sh, o).requestsPerS;
    expect(attainment(name, sh, o, cap)).toBeGreaterThanOrEqual(0.99);
    expect(attainment(name, sh, o, cap * 1.3)).toBeLessThan(0.9);
  });
});
