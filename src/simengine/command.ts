import type { FaultSpec } from './faults.js';
import { startEngineServer } from './server.js';

export interface EngineCommandOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
  /** faults it starts with (POST /sim/faults changes them) */
  faults?: FaultSpec;
  /** ms of start-up before it takes requests (it listens at once; /health answers 503 meanwhile); default 0 */
  startupMs?: number;
}

/** `switchyard engine`: serve one simulated replica until SIGINT/SIGTERM, then exit 0. */
export async function runEngineCommand(o: EngineCommandOptions): Promise<void> {
  const server = await startEngineServer({ port: o.port, host: o.host, model: o.model, profile: o.profile, faults: o.faults, startupMs: o.startupMs });
  const f = o.faults === undefined || (o.faults.mode === 'none' && (o.faults.outputFactor ?? 1) === 1) ? '' : ` with faults ${JSON.stringify(o.faults)}`;
  const s = server.loading ? `, loading for ${((o.startupMs ?? 0) / 1000).toFixed(1)} s` : '';
  process.stdout.write(`switchyard engine ${o.model} (${server.profile.name}) listening on ${server.url}${f}${s}\n`);
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
