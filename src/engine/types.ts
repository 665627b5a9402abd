import type { HardwareProfile } from './profile.js';

/** What a front end hands the replica. The caller's own object may implement it (no wrapper needed). */
export interface EngineRequest {
  readonly id: string | number;
  readonly promptTokens: ArrayLike<number>;
  /** exactly how many tokens to generate; the front end decides natural stops */
  readonly maxTokens: number;
  /**
   * The output token ids, when the caller knows them up front: their full blocks then enter the
   * prefix cache like vLLM's decode blocks (a multi-turn follow-up hits them). Without them only
   * prompt blocks are cached.
   */
  readonly outputTokens?: ArrayLike<number> | null;
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
}

export type ReplicaConfig = Readonly<Required<ReplicaOptions>>;

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
  readonly config: ReplicaConfig;
  /** Queue a request; it is scheduled by the next `step()`. */
  add(req: R): AddResult<R>;
  /** Drop a request now, freeing its KV blocks; null when unknown or already finished. */
  abort(id: string | number): SeqView<R> | null;
  /** Schedule one batch, account its cost, advance every scheduled request. */
  step(): StepResult<R>;
  readonly hasWork: boolean;
  readonly idle: boolean;
  stats(): ReplicaStats;
}
