// engine/ — one vLLM-like replica as a pure model: continuous batching with chunked prefill, a
// block KV cache with a prefix cache, recompute preemption, step times from a hardware profile.
// No clocks and no I/O: simengine/ drives it in real time, sim/ on a virtual clock.
export { createReplicaModel } from './replica.js';
export { resolveConfig } from './config.js';
export type {
  AddError, AddResult, EngineRequest, HashedRequest, TokenRequest, EngineConfig, ReplicaModel, ReplicaOptions, ReplicaStats, SeqPhase, SeqView, StepResult,
} from './types.js';
export {
  kvBytesPerToken, kvCacheBytes, kvCapacityTokens, numGpuBlocks, schedulerDefaults, stepSeconds, weightBytes,
} from './profile.js';
export type { BatchShape, GpuSpec, HardwareProfile, MemoryPolicy, ModelSpec, SchedulerDefaults, StepCoefficients } from './profile.js';
export { PROFILES, getProfile, profileNames } from './profiles.js';
export { hashBlock, hashBlocks, hashString, hashTokens } from './hash.js';
export { BOS_ID, SPECIAL_TOKENS, VOCAB_SIZE, countTokens, pieceId, tokenPieces, tokenize } from './tokenizer.js';
export { contentText, renderChat } from './template.js';
export type { ChatMessageLike, ChatToolLike, RenderOptions } from './template.js';
export { STARTUP_KINDS, STARTUP_PROFILES, parseStartup, startupMs } from './startup.js';
export type { StartupKind, StartupParts, StartupProfile } from './startup.js';
