import type { HardwareProfile } from './profile.js';

/** What a front end hands the replica: token ids (the real-time engine) or, when only the prompt's
 *  shape matters (the simulator), its length and precomputed block hashes. The caller's own object
 *  may implement either (no wrapper needed). */
export type EngineRequest = TokenRequest | HashedRequest;

interface RequestBase {
  readonly id: string | number;
  /** exactly how many tokens to generate; the front end decides natural stops */
  readonly maxTokens: number;
}

export interface TokenRequest extends RequestBase {
  readonly promptTokens: ArrayLike<number>;
  /**
   * The output token ids, when the caller knows them up front: their full blocks then enter the
   * prefix cache like vLLM's decode blocks (a multi-turn follow-up hits them). Without them only
   * prompt blocks are cached.
   */
  readonly outputTokens?: ArrayLike<number> | null;
  readonly promptLen?: never;
  readonly blockHashes?: never;
}

export interface HashedRequest extends RequestBase {
  readonly promptLen: number;
  /**
   * Chained hashes (as `hashBlock` chains them) of every full block whose tokens are known, prompt
   * then output: equal hashes mean equal prefixes. The replica reads at most ⌊(promptLen + maxTokens) / blockSize⌋.
   */
  readonly blockHashes: Float64Array;
  readonly promptTokens?: never;
  readonly outputTokens?: never;
}

export type SeqPhase = 'waiting' | 'running' | 'finished' | 'aborted';

/** The replica's view of one request; read-only to callers, updated by `step()`. */
export interface SeqView<R extends EngineRequest = EngineRequest> {
  readonly req: R;
  readonly phase: SeqPhase;
  readonly promptLen: number;
  /** tokens generated so far */
  readonly generated: number;
  /** tokens whose KV is computed (prompt and output) */
  readonly computedTokens: number;
  /** prompt tokens served from the prefix cache when first scheduled (OpenAI `cached_tokens`) */
  readonly cachedTokens: number;
  readonly preemptions: number;
}

/**
 * One step's outcome. The object and its arrays are reused by the next `step()`: read them before
 * stepping again. `tokens` lists every request that got a token (the last one included, so it
 * appears in `finished` too).
 */
export interface StepResult<R extends EngineRequest = EngineRequest> {
  /** the step's duration on the profile's hardware, seconds (0 when nothing was scheduled) */
  durationS: number;
  /** engine steps this result covers: 1 from `step()`, m from `advanceDecode(m)` */
  steps: number;
  scheduledTokens: number;
  prefillTokens: number;
  decodeSeqs: number;
  kvTokens: number;
  /** requests scheduled for the first time (they leave the queue: queue time ends) */
  readonly started: SeqView<R>[];
  readonly tokens: SeqView<R>[];
  /** requests whose first token came this step (prefill complete) */
  readonly first: SeqView<R>[];
  /** requests that reached maxTokens; their KV is already freed */
  readonly finished: SeqView<R>[];
  /** requests sent back to the queue, their KV freed, to be recomputed */
  readonly preempted: SeqView<R>[];
}

export interface ReplicaStats {
  running: number;
  waiting: number;
  /** fraction 0–1 of KV blocks referenced by requests (vLLM `kv_cache_usage_perc`) */
  kvUsage: number;
  kvBlocks: number;
  kvBlocksFree: number;
  kvBlocksCached: number;
  /** prefix cache lookups and hits, in tokens, as vLLM counts them */
  prefixCacheQueries: number;
  prefixCacheHits: number;
  /** prompt tokens loaded from the host tier instead of recomputed (not in prefixCacheHits) */
  offloadHits: number;
  preemptions: number;
  /** prompt tokens of requests that finished prefill, cached ones included (vLLM `prompt_tokens`) */
  promptTokens: number;
  generationTokens: number;
  finished: number;
  aborted: number;
  steps: number;
  /** modelled busy time: the sum of step durations, seconds */
  busyS: number;
}

/** The knobs vLLM exposes; every one defaults from the profile. */
export interface ReplicaOptions {
  maxNumSeqs?: number;
  maxNumBatchedTokens?: number;
  blockSize?: number;
  /** vLLM `num_gpu_blocks_override`: pin the KV size instead of deriving it from memory */
  numGpuBlocks?: number;
  maxModelLen?: number;
  enablePrefixCaching?: boolean;
  /** vLLM `--kv-offloading-size`: host memory (GiB) catching KV blocks the GPU evicts; 0 = off */
  kvOffloadGiB?: number;
  /** host → GPU bandwidth per GPU when loading offloaded KV, GB/s (PCIe Gen5 x16: ~50 in practice; 25 to be safe) */
  kvOffloadGBs?: number;
}

/** The options resolved against a hardware profile: every knob set (the gateway's replica entry is config/'s `ReplicaConfig`). */
export type EngineConfig = Readonly<Required<ReplicaOptions>>;

export type AddError =
  | { kind: 'invalid'; message: string }
  | { kind: 'duplicate_id'; message: string }
  /** prompt + maxTokens beyond max_model_len */
  | { kind: 'context_length'; message: string; promptTokens: number; maxModelLen: number }
  /** the request alone would not fit in the whole KV cache */
  | { kind: 'kv_capacity'; message: string };

export type AddResult<R extends EngineRequest> = { ok: true; seq: SeqView<R> } | { ok: false; error: AddError };

export interface ReplicaModel<R extends EngineRequest = EngineRequest> {
  readonly profile: HardwareProfile;
  readonly config: EngineConfig;
  /** Queue a request; it is scheduled by the next `step()`. */
  add(req: R): AddResult<R>;
  /** Drop a request now, freeing its KV blocks; null when unknown or already finished. */
  abort(id: string | number): SeqView<R> | null;
  /** Schedule one batch, account its cost, advance every scheduled request. */
  step(): StepResult<R>;
  /**
   * How many of the next steps (at most maxSteps) are pure decode that `advanceDecode` can take at
   * once: nothing can be admitted, every running request is decoding, none finishes before the last
   * of them, and KV suffices without preemption. 0 when the next step is not such a step.
   */
  decodeRun(maxSteps: number): number;
  /** Modelled seconds of step i (0-based) of the decode run that starts now. */
  decodeStepSeconds(i: number): number;
  /**
   * Take m ≤ decodeRun(m) decode steps as one: the state, caches and counters end exactly as m
   * `step()` calls leave them. `tokens` lists every running request (m tokens each), `durationS`
   * is the sum of the m steps, `steps` is m. The simulator uses it to skip quiet stretches.
   */
  advanceDecode(m: number): StepResult<R>;
  readonly hasWork: boolean;
  readonly idle: boolean;
  stats(): ReplicaStats;
  /** Blocks a prefix can be kept in: the GPU's, plus the host tier's when KV offloading is on. */
  readonly prefixCapacityBlocks: number;
  /** How many leading blocks of `hashes[0, max)` the prefix cache holds (what KV events would report). */
  cachedPrefixBlocks(hashes: Float64Array, max: number): number;
}
