import { numGpuBlocks, schedulerDefaults, type HardwareProfile } from './profile.js';
import type { EngineConfig, ReplicaOptions } from './types.js';

/** vLLM's knobs, each defaulting from the hardware profile; a knob that is not a positive integer is a programming error. */
export function resolveConfig(profile: HardwareProfile, o: ReplicaOptions = {}): EngineConfig {
  const d = schedulerDefaults(profile);
  const blockSize = o.blockSize ?? d.blockSize;
  const cfg: EngineConfig = {
    maxNumSeqs: o.maxNumSeqs ?? d.maxNumSeqs,
    maxNumBatchedTokens: o.maxNumBatchedTokens ?? d.maxNumBatchedTokens,
    blockSize,
    numGpuBlocks: o.numGpuBlocks ?? numGpuBlocks(profile, blockSize),
    maxModelLen: o.maxModelLen ?? profile.model.maxModelLen,
    enablePrefixCaching: o.enablePrefixCaching ?? true,
    kvOffloadGiB: o.kvOffloadGiB ?? 0,
    kvOffloadGBs: o.kvOffloadGBs ?? 25,
  };
  if (!(cfg.kvOffloadGiB >= 0) || !(cfg.kvOffloadGBs > 0)) {
    throw new RangeError(`replica kvOffloadGiB must be ≥ 0 and kvOffloadGBs > 0, got ${cfg.kvOffloadGiB} and ${cfg.kvOffloadGBs} (profile ${profile.name})`);
  }
  for (const k of ['maxNumSeqs', 'maxNumBatchedTokens', 'blockSize', 'numGpuBlocks', 'maxModelLen'] as const) {
    if (!Number.isInteger(cfg[k]) || cfg[k] < 1) throw new RangeError(`replica ${k} must be a positive integer, got ${cfg[k]} (profile ${profile.name})`);
  }
  return cfg;
}
