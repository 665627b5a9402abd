import type { GpuSpec, HardwareProfile, MemoryPolicy, ModelSpec } from './profile.js';

// The shipped profiles. KV capacity is derived from memory (profile.ts), never typed in. Each
// profile's `step` block is the one place its timing lives, and says what it is calibrated against;
// `calibration/` re-runs those published experiments on the model and docs/engine-calibration.md
// tabulates model against measurement (a spec holds every covered point within 15 %).

const H100_SXM_80GB: GpuSpec = { name: 'H100-SXM-80GB', memoryGiB: 79.65, hbmTBs: 3.35, isA100: false };
const A100_SXM_80GB: GpuSpec = { name: 'A100-SXM-80GB', memoryGiB: 80, hbmTBs: 2.04, isA100: true };
// GDDR6 parts, 48 and 24 GB; memory as nvidia-smi reports it (46,068 and 23,034 MiB). Under 70 GiB,
// so vLLM gives them its small-GPU scheduler defaults (256 sequences, 2,048 batched tokens).
const L40S_48GB: GpuSpec = { name: 'L40S-48GB', memoryGiB: 44.99, hbmTBs: 0.864, isA100: false };
const L4_24GB: GpuSpec = { name: 'L4-24GB', memoryGiB: 22.49, hbmTBs: 0.3, isA100: false };

const LLAMA_31_8B: ModelSpec = {
  name: 'meta-llama/Llama-3.1-8B-Instruct', paramsB: 8.03, weightBytesPerParam: 2,
  layers: 32, kvHeads: 8, headDim: 128, maxModelLen: 131_072,
};
// On an L4 the KV left beside 16 GB of weights (~18.7k tokens) cannot hold one 131k-token, or
// even a 32k, request, and vLLM refuses to start; its users pass --max-model-len, the largest
// power of two that fits being 16,384.
const LLAMA_31_8B_16K: ModelSpec = { ...LLAMA_31_8B, maxModelLen: 16_384 };
const LLAMA_33_70B_FP8: ModelSpec = {
  // FP8 weights; embeddings and lm_head stay BF16, which the larger reserve below absorbs.
  name: 'RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic', paramsB: 70.6, weightBytesPerParam: 1,
  layers: 80, kvHeads: 8, headDim: 128, maxModelLen: 131_072,
};
const LLAMA_2_70B: ModelSpec = {
  name: 'meta-llama/Llama-2-70b-chat-hf', paramsB: 69, weightBytesPerParam: 2,
  layers: 80, kvHeads: 8, headDim: 128, maxModelLen: 4_096,
};

/** vLLM defaults: 0.9 utilisation, BF16 KV (`cache_dtype=auto`); FP8 KV where the setup uses it. */
const memory = (reservedGiBPerGpu: number, kvCacheDtypeBytes = 2): MemoryPolicy => ({ gpuMemoryUtilization: 0.9, reservedGiBPerGpu, kvCacheDtypeBytes });

export const PROFILES: Readonly<Record<string, HardwareProfile>> = Object.freeze({
  'llama-3.1-8b-h100': {
    name: 'llama-3.1-8b-h100', model: LLAMA_31_8B, gpu: H100_SXM_80GB, tp: 1, memory: memory(3),
    // Derived, not fitted: no published vLLM BF16 series for this setup is in calibration/ (NIM's
    // 8B table is a different precision and engine; docs/engine-calibration.md). The efficiencies
    // are the H100 ones fitted on Llama-2-70B below (weights read at ~63 % of HBM bandwidth in 2023
    // vLLM, better in V1: 5 ms for 16 GB; ~430 TFLOP/s of BF16 per GPU in prefill).
    step: { fixedS: 1.5e-3, weightsS: 5.0e-3, kvPerTokenS: 3.9e-8, computePerTokenS: 3.7e-5, perSeqS: 3.0e-5, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× H100 SXM 80GB; derived from the H100 fit of llama-2-70b-h100-tp2',
  },
  'llama-3.3-70b-fp8-h100-tp2': {
    name: 'llama-3.3-70b-fp8-h100-tp2', model: LLAMA_33_70B_FP8, gpu: H100_SXM_80GB, tp: 2, memory: memory(4, 1),
    // Fitted to NVIDIA NIM 1.8.0, 2 × H100, FP8, TP2, 5000 in / 500 out, concurrency 1–50
    // (calibration/published.ts). FP8 weights halve both the weight read and the per-token compute
    // of the BF16 fit; NIM's FP8 profiles keep the KV cache in FP8 too, which is what lets 50
    // users of 5.5k tokens fit (and 100 not: its published TTFT there is queueing).
    step: { fixedS: 3.0e-3, weightsS: 15.2e-3, kvPerTokenS: 2.45e-8, computePerTokenS: 7.8e-5, perSeqS: 3.0e-5, tpCommPerTokenS: 0 },
    note: 'Llama 3.3 70B, FP8 weights and KV, 2× H100 SXM 80GB (TP=2); fitted to NVIDIA NIM 1.8.0',
  },
  'llama-2-70b-h100-tp4': {
    name: 'llama-2-70b-h100-tp4', model: LLAMA_2_70B, gpu: H100_SXM_80GB, tp: 4, memory: memory(4),
    // Fitted to Splitwise's perf_model.csv, DGX-H100 rows at tensor_parallel 4: prompt time at
    // batch 1 for 512–8192 tokens (0.107 ms a token), token time at batch 1–64 (a 29 ms floor,
    // +0.34 ms a sequence).
    step: { fixedS: 1.0e-3, weightsS: 28.0e-3, kvPerTokenS: 2.4e-8, computePerTokenS: 1.07e-4, perSeqS: 3.36e-4, tpCommPerTokenS: 0 },
    note: 'Llama 2 70B, BF16, 4× H100 SXM 80GB (TP=4); fitted to Splitwise perf_model.csv (vLLM)',
  },
  'llama-2-70b-h100-tp2': {
    name: 'llama-2-70b-h100-tp2', model: LLAMA_2_70B, gpu: H100_SXM_80GB, tp: 2, memory: memory(4),
    // Fitted to Splitwise's perf_model.csv, DGX-H100 rows (vLLM, tensor_parallel 2): prompt time
    // at batch 1 for 512–8192 tokens (compute-bound: 0.16 ms a token), token time at batch 1–32
    // (a 36.6 ms floor, +0.46 ms a sequence: 2023 vLLM's per-request scheduling and sampling).
    step: { fixedS: 4.0e-3, weightsS: 32.6e-3, kvPerTokenS: 4.9e-8, computePerTokenS: 1.6e-4, perSeqS: 4.6e-4, tpCommPerTokenS: 0 },
    note: 'Llama 2 70B, BF16, 2× H100 SXM 80GB (TP=2); fitted to Splitwise perf_model.csv (vLLM)',
  },
  'llama-2-70b-a100-tp2': {
    name: 'llama-2-70b-a100-tp2', model: LLAMA_2_70B, gpu: A100_SXM_80GB, tp: 2, memory: memory(4),
    // Fitted to Splitwise's perf_model.csv, DGX-A100 rows (vLLM, tensor_parallel 2).
    step: { fixedS: 5.0e-3, weightsS: 53.5e-3, kvPerTokenS: 8.0e-8, computePerTokenS: 3.6e-4, perSeqS: 3.6e-4, tpCommPerTokenS: 0 },
    note: 'Llama 2 70B, BF16, 2× A100 SXM 80GB (TP=2); fitted to Splitwise perf_model.csv (vLLM)',
  },
  'llama-3.1-8b-a100': {
    name: 'llama-3.1-8b-a100', model: LLAMA_31_8B, gpu: A100_SXM_80GB, tp: 1, memory: memory(3),
    // Derived from the A100 fit above as the 8B H100 profile is from the H100 one.
    step: { fixedS: 2.0e-3, weightsS: 8.0e-3, kvPerTokenS: 6.4e-8, computePerTokenS: 8.3e-5, perSeqS: 4.0e-5, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× A100 SXM 80GB; derived from the A100 fit of llama-2-70b-a100-tp2',
  },
  // The two Ada profiles are derived from the 8B H100 one by the datasheets' ratios, there being no
  // published vLLM series for them in calibration/: the weight and KV reads scale by memory
  // bandwidth (H100 SXM 3.35 TB/s; L40S 864 GB/s, ×3.88; L4 300 GB/s, ×11.2), prefill compute by
  // dense BF16 tensor throughput (H100 SXM 989 TFLOPS; L40S 362 dense of 733 with sparsity, ×2.73;
  // L4 121 dense of 242 with sparsity, ×8.17). Launch, scheduling and per-sequence work are the
  // host's and stay the H100's. Same efficiencies as the H100 assumes a GDDR part streams as well as
  // HBM and a non-Hopper part reaches the same share of its peak; the A100 fit reached a larger
  // share (prefill 2.25× the H100's, not 3.2×), so these prefills are if anything pessimistic.
  'llama-3.1-8b-l40s': {
    name: 'llama-3.1-8b-l40s', model: LLAMA_31_8B, gpu: L40S_48GB, tp: 1, memory: memory(3),
    step: { fixedS: 1.5e-3, weightsS: 19.4e-3, kvPerTokenS: 1.51e-7, computePerTokenS: 1.01e-4, perSeqS: 3.0e-5, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× L40S 48GB; derived from llama-3.1-8b-h100 by datasheet bandwidth and BF16 ratios',
  },
  'llama-3.1-8b-l4': {
    name: 'llama-3.1-8b-l4', model: LLAMA_31_8B_16K, gpu: L4_24GB, tp: 1, memory: memory(3),
    step: { fixedS: 1.5e-3, weightsS: 55.8e-3, kvPerTokenS: 4.36e-7, computePerTokenS: 3.02e-4, perSeqS: 3.0e-5, tpCommPerTokenS: 0 },
    note: 'Llama 3.1 8B, BF16, 1× L4 24GB, max_model_len 16384; derived from llama-3.1-8b-h100 by datasheet bandwidth and BF16 ratios',
  },
});

export function getProfile(name: string): HardwareProfile | undefined {
  return Object.hasOwn(PROFILES, name) ? PROFILES[name] : undefined;
}

export function profileNames(): string[] {
  return Object.keys(PROFILES);
}
