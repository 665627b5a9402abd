// Published measurements the profiles are calibrated against, copied as data with their sources.
// Times are milliseconds, as published.

/** Splitwise simulator, `data/perf_model.csv` (Mutinifni/splitwise-sim @ 378088013a54): vLLM serving
 *  Llama-2-70B (BF16) on DGX-H100 and DGX-A100, rows for `tensor_parallel` = 2 and (H100) 4.
 *  Prompt time at batch 1 (a single prefill; the mean of the five runs per point), and token time
 *  (mean decode step) at batch 1–64 with 512-token prompts and 128 generated tokens. */
export const SPLITWISE = {
  source: 'Splitwise simulator data/perf_model.csv (github.com/Mutinifni/splitwise-sim @ 378088013a54), vLLM, Llama-2-70B BF16',
  h100tp4: {
    promptMs: { 512: 59.58, 1024: 106.31, 2048: 200.93, 4096: 466.40, 8192: 943.28 } as Record<number, number>,
    tokenMs: { 1: 29.61, 2: 29.99, 4: 29.98, 8: 31.41, 16: 32.84, 32: 36.92, 64: 51.99 } as Record<number, number>,
  },
  h100: {
    promptMs: { 512: 83.86, 1024: 157.80, 2048: 308.22, 4096: 642.01, 8192: 1339.16 } as Record<number, number>,
    tokenMs: { 1: 37.00, 2: 37.38, 4: 39.95, 8: 40.38, 16: 41.97, 32: 52.26, 64: 42.28 } as Record<number, number>,
  },
  a100: {
    promptMs: { 512: 196.65, 1024: 377.28, 2048: 687.26, 4096: 1481.43, 8192: 2990.31 } as Record<number, number>,
    tokenMs: { 1: 54.84, 2: 59.94, 4: 60.53, 8: 61.65, 16: 65.60, 32: 72.21, 64: 67.27 } as Record<number, number>,
  },
} as const;

/** NVIDIA NIM LLM benchmarking, Performance (docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance),
 *  Llama-3.3-70B-Instruct, NIM 1.8.0, 2 × H100 80GB, FP8, TP2, 5000 input / 500 output tokens:
 *  mean TTFT and ITL at each concurrency (closed loop: each user sends its next request when the
 *  last one ends). */
export const NIM_LLAMA_33_70B_FP8_TP2 = {
  source: 'NVIDIA NIM LLM benchmarking 1.0.0, Performance: Llama-3.3-70b-instruct, NIM 1.8.0, 2 × H100 80G, fp8 TP2, 5000 in / 500 out',
  inputTokens: 5000,
  outputTokens: 500,
  points: [
    { concurrency: 1, ttftMs: 406.77, itlMs: 18.58 },
    { concurrency: 5, ttftMs: 546.7, itlMs: 21.83 },
    { concurrency: 25, ttftMs: 688.69, itlMs: 38.75 },
    { concurrency: 50, ttftMs: 834.51, itlMs: 59.73 },
    { concurrency: 100, ttftMs: 7996.25, itlMs: 92.91 },
  ],
} as const;

/** The same page, Llama-3.1-8B-Instruct, NIM 1.8.0 (the page's table for this model names neither
 *  the GPU count, the precision nor the sequence lengths in the part we could read). */
export const NIM_LLAMA_31_8B = {
  source: 'NVIDIA NIM LLM benchmarking 1.0.0, Performance: Llama-3.1-8b-instruct, NIM 1.8.0',
  points: [
    { concurrency: 1, ttftMs: 10.26, itlMs: 4.63 },
    { concurrency: 5, ttftMs: 16.81, itlMs: 4.58 },
    { concurrency: 25, ttftMs: 36.34, itlMs: 5.19 },
    { concurrency: 50, ttftMs: 67.41, itlMs: 5.91 },
    { concurrency: 100, ttftMs: 119.97, itlMs: 7.57 },
  ],
} as const;
