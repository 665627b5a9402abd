import { ConfigError } from '../config/index.js';
import { getProfile, profileNames } from '../engine/index.js';
import { runEngineCommand } from '../simengine/index.js';

export interface EngineOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
}

/** `switchyard engine`: one simulated vLLM-like replica, alone. */
export function engine(opts: EngineOptions): Promise<void> {
  // Checked here so a typo is a usage error listing the choices, not a stack from the server.
  if (getProfile(opts.profile) === undefined) {
    throw new ConfigError(`unknown engine profile '${opts.profile}'; the profiles are:\n  ${profileNames().join('\n  ')}`);
  }
  // Started by `switchyard up`'s supervisor: do not outlive it.
  if (process.send !== undefined) process.once('disconnect', () => process.exit(0));
  return runEngineCommand(opts);
}
