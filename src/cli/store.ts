import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/index.js';
import { openStore, type Store, type Tenant } from '../tenancy/index.js';

// How the store commands (keys, tenants, usage) find the store `switchyard up` uses: `--store URL`,
// else the config file's `store`, else the SQLite file in `--data-dir` (or the config's dataDir).

export interface StoreFlags {
  config?: string;
  dataDir?: string;
  store?: string;
}

/** A refusal a command prints as is (exit 1): a missing tenant or key, not a usage mistake. */
export class CliError extends Error {
  override readonly name = 'CliError';
}

/**
 * Runs `fn` with the store open and closes it after. `create` is for commands that write: a read
 * of a data directory with no store in it says so instead of creating an empty one.
 */
export async function withStore<T>(flags: StoreFlags, create: boolean, fn: (store: Store) => Promise<T>): Promise<T> {
  const config = loadConfig(flags.config, { dataDir: flags.dataDir, store: flags.store });
  let url = config.store;
  if (url === undefined) {
    const dataDir = resolve(config.dataDir);
    const file = join(dataDir, 'switchyard.db');
    if (!create && !existsSync(file)) throw new CliError(`no store at ${file}; pass the --data-dir that \`switchyard up\` uses, or --store`);
    mkdirSync(dataDir, { recursive: true });
    url = `sqlite:${file}`;
  }
  const store = await openStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** A tenant by id (`ten_…`) or by name; a name two tenants share must be given as an id. */
export async function findTenant(store: Store, ref: string): Promise<Tenant> {
  if (ref.trim() === '') throw new ConfigError('--tenant must name a tenant (its id or name)');
  const byId = ref.startsWith('ten_') ? await store.getTenant(ref) : null;
  if (byId) return byId;
  const named = await store.findTenantsByName(ref);
  if (named.length > 1) throw new CliError(`${named.length} tenants are named '${ref}' (${named.map((t) => t.id).join(', ')}); name one by its id`);
  if (named.length === 0) throw new CliError(`no tenant '${ref}'; \`switchyard tenants list\` shows them`);
  return named[0];
}

/** Every tenant, page by page. */
export async function allTenants(store: Store): Promise<Tenant[]> {
  const out: Tenant[] = [];
  for (;;) {
    const page = await store.listTenants({ limit: 1000, afterId: out.length ? out[out.length - 1].id : undefined });
    out.push(...page);
    if (page.length < 1000) return out;
  }
}
