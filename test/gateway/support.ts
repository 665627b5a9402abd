import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDemoTenant, openStore } from '../../src/tenancy/index.js';

/** A fresh SQLite store in a temporary directory, holding the demo tenant with `key`; its URL. */
export async function demoStore(key: string): Promise<string> {
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sy-gw-')), 'db.sqlite')}`;
  const store = await openStore(storeUrl);
  await ensureDemoTenant(store, key);
  await store.close();
  return storeUrl;
}
