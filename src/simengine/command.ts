import { startEngineServer } from './server.js';

export interface EngineCommandOptions {
  port: number;
  host: string;
  model: string;
  profile: string;
}

/** `switchyard engine`: serve one simulated replica until SIGINT/SIGTERM, then exit 0. */
export async function runEngineCommand(o: EngineCommandOptions): Promise<void> {
  const server = await startEngineServer({ port: o.port, host: o.host, model: o.model, profile: o.profile });
  process.stdout.write(`switchyard engine ${o.model} (${server.profile.name}) listening on ${server.url}\n`);
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
