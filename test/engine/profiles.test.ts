import { describe, expect, it } from 'vitest';
import { PROFILES, getProfile, kvCacheBytes, kvCapacityTokens, kvBytesPerToken, resolveConfig, stepSeconds, type HardwareProfile } from '../../src/engine/index.js';
import { DEFAULT_GPU_HOUR_USD } from '../../src/control/economics/index.js';

// The datasheets the Ada profiles are derived from (memory bandwidth, TB/s; dense BF16 tensor TFLOPS):
// NVIDIA H100 Tensor Core GPU datasheet (SXM), L40S datasheet, L4 Tensor Core GPU datasheet.
const SHEET = {
  h100: { bw: 3.35, bf16: 989 },
  l40s: { bw: 0.864, bf16: 362.05 },
  l4: { bw: 0.3, bf16: 121 },
} as const;

const profile = (name: string): HardwareProfile => {
  const p = getProfile(name);
  if (p === undefined) throw new Error(`no profile ${name}`);
  return p;
};
const GiB = 1024 ** 3;
/** one sequence decoding alone over a 1,000-token context */
const decode1 = (p: HardwareProfile) => stepSeconds(p.step, { prefillTokens: 0, decodeSeqs: 1, kvTokens: 1000, scheduledTokens: 1 });
/** the marginal cost of a prompt token in a long, compute-bound prefill */
const prefillPerToken = (p: HardwareProfile) => {
  const at = (n: number) => stepSeconds(p.step, { prefillTokens: n, decodeSeqs: 0, kvTokens: n, scheduledTokens: n });
  return (at(4096) - at(2048)) / 2048;
};

describe('the Ada profiles for Llama 3.1 8B (L40S, L4)', () => {
  const h100 = profile('llama-3.1-8b-h100');
  const cases = [
    { name: 'llama-3.1-8b-l40s', sheet: SHEET.l40s, memoryGiB: 44.99 },
    { name: 'llama-3.1-8b-l4', sheet: SHEET.l4, memoryGiB: 22.49 },
  ] as const;

  for (const c of cases) {
    describe(c.name, () => {
      const p = profile(c.name);

      it('serves the same model in BF16 on one GPU of the memory nvidia-smi reports', () => {
        expect(p.model.name).toBe(h100.model.name);
        expect(p.model.weightBytesPerParam).toBe(2);
        expect(p.tp).toBe(1);
        expect(p.gpu.memoryGiB).toBe(c.memoryGiB);
        expect(p.gpu.hbmTBs).toBe(c.sheet.bw);
      });

      it('has a KV cache that is positive, below its memory, and holds at least one full-length request', () => {
        const bytes = kvCacheBytes(p);
        expect(bytes).toBeGreaterThan(0);
        expect(bytes).toBeLessThan(p.gpu.memoryGiB * GiB * p.tp);
        // what is left after the weights, within the 0.9 share vLLM takes
        expect(bytes + 8.03e9 * 2).toBeLessThan(p.gpu.memoryGiB * GiB * 0.9);
        expect(kvCapacityTokens(p)).toBeGreaterThanOrEqual(p.model.maxModelLen);
        expect(kvCapacityTokens(p)).toBe(Math.floor(bytes / (kvBytesPerToken(p) * 16)) * 16);
      });

      it('gets vLLM\'s small-GPU scheduler defaults (under 70 GiB)', () => {
        const cfg = resolveConfig(p);
        expect(cfg.maxNumSeqs).toBe(256);
        expect(cfg.maxNumBatchedTokens).toBe(2048);
      });

      it('decodes a lone sequence slower than the H100 by about the bandwidth ratio', () => {
        const bandwidth = SHEET.h100.bw / c.sheet.bw;
        // launch, scheduling and per-sequence work are the host's: the same as the H100's
        expect(p.step.fixedS).toBe(h100.step.fixedS);
        expect(p.step.perSeqS).toBe(h100.step.perSeqS);
        const host = (q: HardwareProfile) => q.step.fixedS + q.step.perSeqS;
        // the memory-bound part (weights and KV read) scales by the bandwidth ratio
        const memory = (decode1(p) - host(p)) / (decode1(h100) - host(h100));
        expect(memory).toBeGreaterThan(bandwidth * 0.98);
        expect(memory).toBeLessThan(bandwidth * 1.02);
        // and the whole step a little less, the host's share not scaling
        const whole = decode1(p) / decode1(h100);
        expect(whole).toBeGreaterThan(bandwidth * 0.75);
        expect(whole).toBeLessThan(bandwidth);
      });

      it('prefills a token slower than the H100 by about the dense BF16 throughput ratio', () => {
        const ratio = prefillPerToken(p) / prefillPerToken(h100);
        const compute = SHEET.h100.bf16 / c.sheet.bf16;
        expect(ratio).toBeGreaterThan(compute * 0.97);
        expect(ratio).toBeLessThan(compute * 1.03);
      });
    });
  }

  it('keeps the L40S\'s full context and cuts the L4\'s, where 16 GB of weights leave KV for under 32k tokens', () => {
    expect(profile('llama-3.1-8b-l40s').model.maxModelLen).toBe(h100.model.maxModelLen);
    const l4 = profile('llama-3.1-8b-l4');
    expect(kvCapacityTokens({ ...l4, model: h100.model })).toBeLessThan(32_768);
    expect(l4.model.maxModelLen).toBeLessThan(32_768);
    expect(l4.model.maxModelLen).toBeGreaterThanOrEqual(8_192);
  });

  it('orders the 8B GPUs by memory bandwidth in decode: H100, A100, L40S, L4', () => {
    const order = ['llama-3.1-8b-h100', 'llama-3.1-8b-a100', 'llama-3.1-8b-l40s', 'llama-3.1-8b-l4'].map((n) => decode1(profile(n)));
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });
});

describe('default GPU-hour prices', () => {
  it('price every shipped profile\'s GPU type', () => {
    for (const p of Object.values(PROFILES)) {
      expect(DEFAULT_GPU_HOUR_USD[p.gpu.name], p.name).toBeGreaterThan(0);
    }
  });

  it('keep H100 2.99 and A100 1.79, and price the Ada parts below the H100, the L4 below the L40S', () => {
    expect(DEFAULT_GPU_HOUR_USD['H100-SXM-80GB']).toBe(2.99);
    expect(DEFAULT_GPU_HOUR_USD['A100-SXM-80GB']).toBe(1.79);
    const l40s = DEFAULT_GPU_HOUR_USD[profile('llama-3.1-8b-l40s').gpu.name];
    const l4 = DEFAULT_GPU_HOUR_USD[profile('llama-3.1-8b-l4').gpu.name];
    expect(l4).toBeLessThan(l40s);
    expect(l40s).toBeLessThan(2.99);
  });
});
