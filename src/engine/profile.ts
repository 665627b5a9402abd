// A hardware profile is data: the model's shape, the GPU, the tensor-parallel degree, the memory
// policy and the step-time coefficients. Everything else (KV capacity, scheduler defaults) is
// derived from it, so a profile cannot claim more KV than its memory holds.

export interface ModelSpec {
  /** Hugging Face style name, for reports */
  readonly name: string;
  /** parameter count, billions */
  readonly paramsB: number;
  /** bytes per weight: 2 for BF16, 1 for FP8 */
  readonly weightBytesPerParam: number;
  readonly layers: number;
  /** key/value heads (GQA), across all tensor-parallel ranks */
  readonly kvHeads: number;
  readonly headDim: number;
  readonly maxModelLen: number;
}

export interface GpuSpec {
  readonly name: string;
  /** memory one GPU reports (nvidia-smi total), GiB */
  readonly memoryGiB: number;
  /** HBM bandwidth, TB/s; informs the coefficients, not used directly */
  readonly hbmTBs: number;
  /** vLLM sizes its scheduler defaults by this (`get_batch_defaults` in its engine/arg_utils.py): ≥70 GiB and not an A100 */
  readonly isA100: boolean;
}

export interface MemoryPolicy {
  /** vLLM `gpu_memory_utilization` */
  readonly gpuMemoryUtilization: number;
  /** activations, CUDA graphs and non-torch memory per GPU that vLLM's profiling run subtracts, GiB */
  readonly reservedGiBPerGpu: number;
  /** bytes per KV element: 2 for `cache_dtype=auto` on BF16, 1 for fp8 */
  readonly kvCacheDtypeBytes: number;
}

/**
 * Seconds one engine step costs, as a roofline: a step is bound either by reading memory (the
 * weights once, plus the KV cache it attends to) or by compute (every token it schedules), plus
 * what neither hides: launch and scheduling, per-sequence work (sampling, bookkeeping), and
 * tensor-parallel all-reduces. See `stepSeconds`.
 */
export interface StepCoefficients {
  /** per step, never hidden: kernel launches, scheduler, sync */
  readonly fixedS: number;
  /** per step: reading every weight once (the decode floor) */
  readonly weightsS: number;
  /** per KV token attended to (memory-bound reads) */
  readonly kvPerTokenS: number;
  /** per scheduled token, compute-bound (prefill GEMMs with their attention folded in) */
  readonly computePerTokenS: number;
  /** per decoding sequence: sampling and per-request work */
  readonly perSeqS: number;
  /** per scheduled token, tensor-parallel all-reduce traffic; 0 when tp = 1 */
  readonly tpCommPerTokenS: number;
}

export interface HardwareProfile {
  readonly name: string;
  readonly model: ModelSpec;
  readonly gpu: GpuSpec;
  /** tensor-parallel degree: GPUs per replica */
  readonly tp: number;
  readonly memory: MemoryPolicy;
  readonly step: StepCoefficients;
  /** where the coefficients come from, and how sure we are */
  readonly note: string;
}

/** The shape of one engine step, as the scheduler built it. */
export interface BatchShape {
  prefillTokens: number;
  decodeSeqs: number;
  /** KV tokens read by attention across the batch */
  kvTokens: number;
  /** every token computed this step (prefill + decode) */
  scheduledTokens: number;
}

const GIB = 1024 ** 3;

/** KV bytes one token occupies across the whole replica: layers × kv_heads × head_dim × (K and V) × dtype. */
export function kvBytesPerToken(p: HardwareProfile): number {
  const m = p.model;
  return m.layers * m.kvHeads * m.headDim * 2 * p.memory.kvCacheDtypeBytes;
}

export function weightBytes(p: HardwareProfile): number {
  return p.model.paramsB * 1e9 * p.model.weightBytesPerParam;
}

/** Bytes left for the KV cache: GPU memory × utilisation − weights − reserved, over all tp GPUs. */
export function kvCacheBytes(p: HardwareProfile): number {
  const perGpu = p.gpu.memoryGiB * GIB * p.memory.gpuMemoryUtilization - p.memory.reservedGiBPerGpu * GIB;
  return Math.max(0, perGpu * p.tp - weightBytes(p));
}

/** KV capacity in blocks (vLLM's `num_gpu_blocks`). */
export function numGpuBlocks(p: HardwareProfile, blockSize = 16): number {
  return Math.floor(kvCacheBytes(p) / (kvBytesPerToken(p) * blockSize));
}

/** KV capacity in tokens (vLLM's "GPU KV cache size"). */
export function kvCapacityTokens(p: HardwareProfile, blockSize = 16): number {
  return numGpuBlocks(p, blockSize) * blockSize;
}

export interface SchedulerDefaults {
  maxNumSeqs: number;
  maxNumBatchedTokens: number;
  blockSize: number;
}

/** vLLM V1 API-server defaults: big non-A100 GPUs get 1024 seqs / 8192 tokens, the rest 256 / 2048; blocks of 16 tokens. */
export function schedulerDefaults(p: HardwareProfile): SchedulerDefaults {
  const big = p.gpu.memoryGiB >= 70 && !p.gpu.isA100;
  return big
    ? { maxNumSeqs: 1024, maxNumBatchedTokens: 8192, blockSize: 16 }
    : { maxNumSeqs: 256, maxNumBatchedTokens: 2048, blockSize: 16 };
}

/** Step time: fixed + max(memory, compute) + per sequence + TP communication. */
export function stepSeconds(c: StepCoefficients, b: BatchShape): number {
  if (b.scheduledTokens === 0) return 0;
  const memory = c.weightsS + c.kvPerTokenS * b.kvTokens;
  const compute = c.computePerTokenS * b.scheduledTokens;
  return c.fixedS + (memory > compute ? memory : compute) + c.perSeqS * b.decodeSeqs + c.tpCommPerTokenS * b.scheduledTokens;
}
