import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { SQLITE_MIGRATIONS } from '../../src/ledger/schema.js';
import { storeSpec } from './store.spec.js';

storeSpec('SQLite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
  const file = join(dir, 'nested', 'switchyard.db');
  return {
    open: (clock) => openStore(`sqlite:${file}`, { clock }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    async sabotageAudit() {
      const db = new Database(file);
      // RAISE(ABORT) reports SQLITE_CONSTRAINT_TRIGGER: an error, which the store must not take for a conflict.
      db.exec("CREATE TRIGGER sabotage BEFORE INSERT ON audit_records WHEN NEW.actor = 'saboteur' BEGIN SELECT RAISE(ABORT, 'audit write refused'); END");
      db.close();
    },
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

  it('upgrades a database made by the first migration in place, keeping its rows', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
    try {
      const file = join(dir, 'v1.db');
      const db = new Database(file);
      db.exec(SQLITE_MIGRATIONS[0]);
      db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
        INSERT INTO tenants VALUES ('ten_old', 'old', 'gold', NULL, 1);
        INSERT INTO workspaces VALUES ('wrk_old', 'ten_old', 'default', 1);
        INSERT INTO api_keys VALUES ('key_old', 'ten_old', 'wrk_old', 'k', 'hash_old', 'sk-sy-…abcd', 1, NULL);`);
      db.close();
      const s = await openStore(file);
      expect(await s.getWorkspace('wrk_old')).toEqual({ id: 'wrk_old', tenantId: 'ten_old', name: 'default', spendLimitUsd: null, createdAt: 1 });
      expect(await s.findKeyByHash('hash_old')).toMatchObject({ key: { id: 'key_old', priority: null }, tier: 'gold', priority: null, spendLimitUsd: null });
      expect(await s.listAudit({})).toEqual([]);
      await s.close();
      const after = new Database(file);
      expect(after.prepare('SELECT version FROM schema_version').all()).toEqual([{ version: SQLITE_MIGRATIONS.length }]);
      after.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('upgrades a database made by the second migration: its audit records have no reason, and rollouts can be kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchyard-store-'));
    try {
      const file = join(dir, 'v2.db');
      const db = new Database(file);
      db.exec(SQLITE_MIGRATIONS[0] + SQLITE_MIGRATIONS[1]);
      db.exec(`CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);
        INSERT INTO audit_records VALUES ('aud_old', 1, 'admin', 'tenant.create', 'ten_old', 'ten_old', NULL, NULL, '{"id":"ten_old"}');`);
      db.close();
      const s = await openStore(file);
      expect(await s.listAudit({})).toMatchObject([{ id: 'aud_old', reason: null, after: { id: 'ten_old' } }]);
      expect(await s.listRollouts()).toEqual([]);
      expect(await s.acquireLease('rollouts', 'gw-1', 1_000)).toMatchObject({ epoch: 1 });
      await s.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a sqlite: URL without a path', async () => {
    await expect(openStore('sqlite:')).rejects.toThrow(/no path/);
  });
});
