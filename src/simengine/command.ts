import type { FaultSpec } from './faults.js';
import { startEngineServer } from './server.js';

export interface EngineCommandOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
  /** faults it starts with (POST /sim/faults changes them) */
  faults?: FaultSpec;
}

/** `switchyard engine`: serve one simulated replica until SIGINT/SIGTERM, then exit 0. */
export async function runEngineCommand(o: EngineCommandOptions): Promise<void> {
  const server = await startEngineServer({ port: o.port, host: o.host, model: o.model, profile: o.profile, faults: o.faults });
  const f = o.faults === undefined || (o.faults.mode === 'none' && (o.faults.outputFactor ?? 1) === 1) ? '' : ` with faults ${JSON.stringify(o.faults)}`;
  process.stdout.write(`switchyard engine ${o.model} (${server.profile.name}) listening on ${server.url}${f}\n`);
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
