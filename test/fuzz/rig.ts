import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type FuzzClient } from './client.js';

// The gateway in-process on a real socket, in front of one real simengine replica, with limits high
// enough that thousands of requests a minute are never throttled. The specs hand it src/, the
// bench dist/, so this file imports nothing from either.

/* eslint-disable @typescript-eslint/no-explicit-any -- the two callers pass src/ or dist/ modules */
export interface RigLib {
  loadConfig: (file: undefined, o: { port: number }) => any;
  startPlatform: (o: any) => Promise<any>;
  startEngineServer: (o: any) => Promise<any>;
  createLogger: (level: string) => any;
  openStore: (url: string) => Promise<any>;
  ensureDemoTenant: (store: any, secret: string) => Promise<any>;
}

export const KEY = 'sk-sy-fuzz-key-0123456789abcdefghijklmnopqrstuv';
export const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
export type Rig = FuzzClient;

export async function startRig(lib: RigLib, opts: { timeScale?: number } = {}): Promise<Rig> {
  const engine = await lib.startEngineServer({ model: 'sim', profile: 'llama-3.1-8b-h100', timeScale: opts.timeScale ?? 500 });
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sy-fuzz-')), 'db.sqlite')}`;
  const store = await lib.openStore(storeUrl);
  await lib.ensureDemoTenant(store, KEY);
  await store.close();
  const config = lib.loadConfig(undefined, { port: 0 });
  for (const t of Object.values(config.tiers) as any[]) Object.assign(t, { requestsPerMinute: 1e9, inputTokensPerMinute: 1e12, outputTokensPerMinute: 1e12, concurrentRequests: null, monthlySpendUsd: null });
  const replicas = [
    { id: 'us-east/llama-3.1-8b/0', model: 'llama-3.1-8b', servedModel: 'sim', region: 'us-east', url: engine.url },
    // the admin specs drain, undrain and add replicas of this model; inference uses the other
    { id: 'us-east/llama-3.3-70b/0', model: 'llama-3.3-70b', servedModel: 'sim', region: 'us-east', url: engine.url },
    { id: 'eu-west/llama-3.3-70b/1', model: 'llama-3.3-70b', servedModel: 'sim', region: 'eu-west', url: engine.url },
  ];
  const platform = await lib.startPlatform({ config, replicas, storeUrl, adminToken: ADMIN_TOKEN, log: lib.createLogger(process.env.FUZZ_LOG ?? 'silent') });
  const client = await connect(platform.url, { key: KEY, adminToken: ADMIN_TOKEN, replicaUrl: engine.url, replicaId: 'us-east/llama-3.3-70b/0' });
  // In-process, what escapes a request reaches these listeners instead of ending the process.
  const record = (err: unknown) => client.noteEscape(err);
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  return {
    ...client,
    async close() {
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
      await client.close();
      await platform.close();
      await engine.close();
    },
  };
}

