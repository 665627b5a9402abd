import { mkdtempSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, type Config } from '../../src/config/index.js';
import { startPlatform, type Platform, type PlatformOptions } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { ensureDemoTenant, openStore } from '../../src/tenancy/index.js';

/** A fresh SQLite store in a temporary directory, holding the demo tenant with `key`; its URL. */
export async function demoStore(key: string): Promise<string> {
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sy-gw-')), 'db.sqlite')}`;
  const store = await openStore(storeUrl);
  await ensureDemoTenant(store, key);
  await store.close();
  return storeUrl;
}

export interface ScriptedPlatformOptions {
  /** the demo tenant's API key */
  key: string;
  /** how the replica answers; absent: no replica listens (its URL refuses connections) */
  replica?: RequestListener;
  /** default `r` */
  replicaId?: string;
  /** default null (no admin API) */
  adminToken?: string | null;
  /** default silent */
  log?: PlatformOptions['log'];
  /** changes to the loaded config (metrics scrapes are already off) before the gateway starts */
  configure?: (config: Config) => void;
}

/**
 * The gateway on port 0, on a demo store, in front of one scripted replica on port 0 (llama-3.1-8b
 * served as `m`, in us-east). Its `close()` closes the replica too.
 */
export async function scriptedPlatform(o: ScriptedPlatformOptions): Promise<Platform> {
  const replica = o.replica === undefined ? null : createServer(o.replica);
  let url = 'http://127.0.0.1:9';
  if (replica !== null) {
    await new Promise<void>((r) => replica.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`;
  }
  const stopReplica = (): void => {
    replica?.closeAllConnections();
    replica?.close();
  };
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  o.configure?.(config);
  let p: Platform;
  try {
    p = await startPlatform({
      config, storeUrl: await demoStore(o.key), adminToken: o.adminToken ?? null, log: o.log ?? createLogger('silent'),
      replicas: [{ id: o.replicaId ?? 'r', model: 'llama-3.1-8b', servedModel: 'm', region: 'us-east', url }],
    });
  } catch (err) {
    stopReplica();
    throw err;
  }
  return {
    ...p,
    async close() {
      const r = await p.close();
      stopReplica();
      return r;
    },
  };
}
