import { describe, expect, it } from 'vitest';
import {
  PROFILES, createReplicaModel, getProfile, kvBytesPerToken, kvCapacityTokens, numGpuBlocks, profileNames, stepSeconds, type HardwareProfile,
} from '../../src/engine/index.js';

describe('hardware profiles', () => {
  it('ships the named profiles, one of them on A100', () => {
    expect(profileNames()).toEqual(expect.arrayContaining([
      'llama-3.1-8b-h100', 'llama-3.3-70b-fp8-h100-tp2', 'llama-2-70b-h100-tp4', 'llama-2-70b-h100-tp2', 'llama-2-70b-a100-tp2', 'llama-3.1-8b-a100',
    ]));
    expect(getProfile('no-such-profile')).toBeUndefined();
    expect(getProfile('toString')).toBeUndefined();
  });

  it('derives KV bytes per token from the model shape: layers × kv_heads × head_dim × 2 × dtype', () => {
    expect(kvBytesPerToken(getProfile('llama-3.1-8b-h100')!)).toBe(32 * 8 * 128 * 2 * 2); // 128 KiB
    expect(kvBytesPerToken(getProfile('llama-2-70b-h100-tp2')!)).toBe(80 * 8 * 128 * 2 * 2); // 320 KiB
    expect(kvBytesPerToken(getProfile('llama-3.3-70b-fp8-h100-tp2')!)).toBe(80 * 8 * 128 * 2 * 1); // FP8 KV: 160 KiB
  });

  it('derives KV capacity from memory: (GPU memory × utilisation − reserve) × tp − weights', () => {
    const p = getProfile('llama-3.1-8b-h100')!;
    const GiB = 1024 ** 3;
    const expected = Math.floor(((79.65 * 0.9 - 3) * GiB - 8.03e9 * 2) / (131_072 * 16)) * 16;
    expect(kvCapacityTokens(p)).toBe(expected);
    // vLLM reports roughly 400–470k tokens for 8B BF16 on one H100 at 0.9
    expect(expected).toBeGreaterThan(400_000);
    expect(expected).toBeLessThan(470_000);
    expect(createReplicaModel(p).config.numGpuBlocks).toBe(numGpuBlocks(p));
  });

  it('gives more memory more KV, and a profile whose weights do not fit none', () => {
    const p = getProfile('llama-3.1-8b-h100')!;
    const more: HardwareProfile = { ...p, memory: { ...p.memory, gpuMemoryUtilization: 0.95 } };
    expect(kvCapacityTokens(more)).toBeGreaterThan(kvCapacityTokens(p));
    const tooBig: HardwareProfile = { ...p, model: { ...p.model, paramsB: 60 } };
    expect(kvCapacityTokens(tooBig)).toBe(0);
    expect(() => createReplicaModel(tooBig)).toThrow(/numGpuBlocks/);
  });

  it('gives every shipped profile room for at least one full-length request', () => {
    for (const p of Object.values(PROFILES)) {
      expect(kvCapacityTokens(p), p.name).toBeGreaterThanOrEqual(p.model.maxModelLen);
    }
  });

  it('makes bigger models and older GPUs slower per decode step', () => {
    const decode = (name: string) => stepSeconds(getProfile(name)!.step, { prefillTokens: 0, decodeSeqs: 1, kvTokens: 1000, scheduledTokens: 1 });
    expect(decode('llama-3.3-70b-fp8-h100-tp2')).toBeGreaterThan(decode('llama-3.1-8b-h100'));
    expect(decode('llama-3.1-8b-a100')).toBeGreaterThan(decode('llama-3.1-8b-h100'));
    expect(decode('llama-2-70b-a100-tp2')).toBeGreaterThan(decode('llama-2-70b-h100-tp2'));
    expect(decode('llama-2-70b-h100-tp2')).toBeGreaterThan(decode('llama-2-70b-h100-tp4'));
  });

  it('prices a step by its bound: memory for a small batch, compute for a long prefill', () => {
    const c = getProfile('llama-2-70b-h100-tp2')!.step;
    const decode = stepSeconds(c, { prefillTokens: 0, decodeSeqs: 1, kvTokens: 600, scheduledTokens: 1 });
    const prefill = (n: number) => stepSeconds(c, { prefillTokens: n, decodeSeqs: 0, kvTokens: n, scheduledTokens: n });
    // 64 prompt tokens ride along the weight read: barely dearer than one decode step
    expect(prefill(64) - decode).toBeLessThan(0.001);
    // past the ridge, twice the tokens cost about twice the time
    expect(prefill(8192) / prefill(4096)).toBeGreaterThan(1.95);
  });
});
