import { runEngineCommand } from '../simengine/index.js';

export interface EngineOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
}

/** `switchyard engine`: one simulated vLLM-like replica, alone. */
export function engine(opts: EngineOptions): Promise<void> {
  return runEngineCommand(opts);
}
