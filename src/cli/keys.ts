import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPriority, PRIORITIES } from '../admission/index.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { createKeyFor, openStore } from '../tenancy/index.js';

export interface KeysCreateOptions {
  tenant: string;
  workspace?: string;
  name?: string;
  priority?: string;
  config?: string;
  dataDir?: string;
  store?: string;
}

/** `switchyard keys create`: a new key for a tenant (created if new), printed once. */
export async function keysCreate(opts: KeysCreateOptions): Promise<void> {
  const config = loadConfig(opts.config, { dataDir: opts.dataDir, store: opts.store });
  const dataDir = resolve(config.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const store = await openStore(config.store ?? `sqlite:${join(dataDir, 'switchyard.db')}`);
  try {
    if (opts.priority !== undefined && !isPriority(opts.priority)) throw new ConfigError(`--priority must be one of ${PRIORITIES.join(', ')}`);
    const out = await createKeyFor(store, { tenant: opts.tenant, workspace: opts.workspace, name: opts.name, priority: opts.priority });
    process.stderr.write(`key ${out.keyId} for tenant ${out.tenantId} (workspace ${out.workspaceId}); it is shown once:\n`);
    process.stdout.write(out.secret + '\n');
  } finally {
    await store.close();
  }
}
