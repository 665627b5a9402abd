import type { GpuSpec, HardwareProfile, MemoryPolicy, ModelSpec } from './profile.js';

// The shipped profiles. KV capacity is derived from memory (profile.ts), never typed in.
//
// PROVISIONAL COEFFICIENTS. Each profile's `step` block is the one place its timing lives. The
// figures are first-principles estimates, not fits: decode overhead ≈ weight bytes / (HBM bandwidth
// × ~0.8) + ~1.5 ms launch and scheduling; prefill ≈ 2 × params FLOP per token at ~45 % MFU;
// KV read ≈ KV bytes per token / (bandwidth × ~0.7). They land where vLLM is reported to be
// (8B on one H100: decode step ≈ 7–10 ms at small batch, prefill ≈ 15k tok/s). Calibration against
// published measurements, with citations, is the next issue.

const H100_SXM_80GB: GpuSpec = { name: 'H100-SXM-80GB', memoryGiB: 79.65, hbmTBs: 3.35, isA100: false };
const A100_SXM_80GB: GpuSpec = { name: 'A100-SXM-80GB', memoryGiB: 80, hbmTBs: 2.04, isA100: true };

const LLAMA_31_8B: ModelSpec = {
  name: 'meta-llama/Llama-3.1-8B-Instruct', paramsB: 8.03, weightBytesPerParam: 2,
  layers: 32, kvHeads: 8, headDim: 128, maxModelLen: 131_072,
};
const LLAMA_33_70B_FP8: ModelSpec = {
  // FP8 weights; embeddings and lm_head stay BF16, which the larger reserve below absorbs.
  name: 'RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic', paramsB: 70.6, weightBytesPerParam: 1,
  layers: 80, kvHeads: 8, headDim: 128, maxModelLen: 131_072,
};
const LLAMA_2_70B: ModelSpec = {
  name: 'meta-llama/Llama-2-70b-chat-hf', paramsB: 69, weightBytesPerParam: 2,
  layers: 80, kvHeads: 8, headDim: 128, maxModelLen: 4_096,
};

/** vLLM defaults: 0.9 utilisation, BF16 KV (`cache_dtype=auto`). */
const memory = (reservedGiBPerGpu: number): MemoryPolicy => ({ gpuMemoryUtilization: 0.9, reservedGiBPerGpu, kvCacheDtypeBytes: 2 });

export const PROFILES: Readonly<Record<string, HardwareProfile>> = Object.freeze({
  'llama-3.1-8b-h100': {
    name: 'llama-3.1-8b-h100', model: LLAMA_31_8B, gpu: H100_SXM_80GB, tp: 1, memory: memory(3),
    // provisional: 16 GB / 3.35 TB/s ≈ 4.8 ms weights → ~7 ms step; 16 GFLOP/token → ~15k tok/s prefill
    step: { overheadS: 7.0e-3, prefillPerTokenS: 6.7e-5, decodePerSeqS: 4.0e-5, kvPerTokenS: 5.5e-8, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× H100 SXM 80GB; provisional first-principles coefficients',
  },
  'llama-3.3-70b-fp8-h100-tp2': {
    name: 'llama-3.3-70b-fp8-h100-tp2', model: LLAMA_33_70B_FP8, gpu: H100_SXM_80GB, tp: 2, memory: memory(4),
    // provisional: 70.6 GB / (2 × 3.35 TB/s) ≈ 10.5 ms weights + all-reduce latency → ~17 ms step
    step: { overheadS: 1.7e-2, prefillPerTokenS: 1.5e-4, decodePerSeqS: 6.0e-5, kvPerTokenS: 7.0e-8, tpCommPerTokenS: 5.0e-6 },
    note: 'Llama 3.3 70B, FP8 weights, 2× H100 SXM 80GB (TP=2); provisional first-principles coefficients',
  },
  'llama-2-70b-h100-tp4': {
    name: 'llama-2-70b-h100-tp4', model: LLAMA_2_70B, gpu: H100_SXM_80GB, tp: 4, memory: memory(4),
    // provisional: 138 GB / (4 × 3.35 TB/s) ≈ 10.3 ms weights + all-reduce latency → ~15 ms step
    step: { overheadS: 1.5e-2, prefillPerTokenS: 8.5e-5, decodePerSeqS: 5.0e-5, kvPerTokenS: 3.5e-8, tpCommPerTokenS: 8.0e-6 },
    note: 'Llama 2 70B, BF16, 4× H100 SXM 80GB (TP=4); provisional first-principles coefficients',
  },
  'llama-3.1-8b-a100': {
    name: 'llama-3.1-8b-a100', model: LLAMA_31_8B, gpu: A100_SXM_80GB, tp: 1, memory: memory(3),
    // provisional: 16 GB / 2.04 TB/s ≈ 7.9 ms weights → ~11 ms step; ~9k tok/s prefill
    step: { overheadS: 1.1e-2, prefillPerTokenS: 1.1e-4, decodePerSeqS: 6.0e-5, kvPerTokenS: 9.5e-8, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× A100 SXM 80GB; provisional first-principles coefficients',
  },
});

export function getProfile(name: string): HardwareProfile | undefined {
  return Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
}

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}
