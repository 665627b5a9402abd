import { runEngineCommand } from '../simengine/index.js';

export interface EngineOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
}

/** `switchyard engine`: one simulated vLLM-like replica, alone. */
export function engine(opts: EngineOptions): Promise<void> {
  // Started by `switchyard up`'s supervisor: do not outlive it.
  if (process.send !== undefined) process.once('disconnect', () => process.exit(0));
  return runEngineCommand(opts);
}
