import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { storeSpec } from './store.spec.js';

storeSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
  return {
    open: (now) => openStore(`sqlite:${join(dir, 'nested', 'switchyard.db')}`, { now }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('opening a SQLite store', () => {
  it('accepts a plain path, and creates the folder it lives in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
    try {
      const s = await openStore(join(dir, 'a', 'b.db'));
      expect(s.backend).toBe('sqlite');
      expect((await s.createTenant({ name: 'x' })).ok).toBe(true);
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('runs in memory for sqlite::memory:', async () => {
    const s = await openStore('sqlite::memory:');
    expect(await s.listTenants()).toEqual([]);
    await s.close();
  });

  it('refuses a sqlite: URL without a path', async () => {
    await expect(openStore('sqlite:')).rejects.toThrow(/no path/);
  });
});
