import { ConfigError } from '../config/index.js';
import { getProfile, parseStartup, profileNames } from '../engine/index.js';
import { runEngineCommand, type FaultSpec } from '../simengine/index.js';

export interface EngineOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
  /** `--fault-error-rate`: this share of requests answered 500 (0–1) */
  faultErrorRate?: number;
  /** `--fault-slow`: every engine step this many times longer */
  faultSlow?: number;
  /** `--fault-output-factor`: answers this many times as long (capped by max_tokens) */
  faultOutputFactor?: number;
  /** `--startup`: cold, tuned, snapshot or seconds it loads (answering 503) before it takes requests; default 0 */
  startup?: string;
}

/**
 * The faults the flags ask for: an error rate makes it fail that share of requests (and, with
 * --fault-slow, run the others slow); --fault-slow alone slows every request; the output factor
 * applies either way. Null when no flag is given.
 */
export function faultsOf(o: Pick<EngineOptions, 'faultErrorRate' | 'faultSlow' | 'faultOutputFactor'>): FaultSpec | undefined {
  if (o.faultErrorRate === undefined && o.faultSlow === undefined && o.faultOutputFactor === undefined) return undefined;
  const mode = o.faultErrorRate !== undefined ? 'error' : o.faultSlow !== undefined ? 'slow' : 'none';
  return {
    mode,
    ...(o.faultErrorRate !== undefined ? { errorRate: o.faultErrorRate } : {}),
    ...(o.faultSlow !== undefined ? { slowFactor: o.faultSlow } : {}),
    ...(o.faultOutputFactor !== undefined ? { outputFactor: o.faultOutputFactor } : {}),
  };
}

/** `switchyard engine`: one simulated vLLM-like replica, alone. */
export function engine(opts: EngineOptions): Promise<void> {
  // Checked here so a typo is a usage error listing the choices, not a stack from the server.
  if (getProfile(opts.profile) === undefined) {
    throw new ConfigError(`unknown engine profile '${opts.profile}'; the profiles are:\n  ${profileNames().join('\n  ')}`);
  }
  const startup = parseStartup(opts.startup ?? '0');
  if (!startup.ok) throw new ConfigError(startup.message);
  // Started by `switchyard up`'s supervisor: do not outlive it.
  if (process.send !== undefined) process.once('disconnect', () => process.exit(0));
  return runEngineCommand({ port: opts.port, host: opts.host, model: opts.model, profile: opts.profile, faults: faultsOf(opts), startupMs: startup.ms });
}
