import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { POSTGRES_MIGRATIONS } from '../../src/ledger/schema.js';
import { storeSpec } from './store.spec.js';

// Runs against the real PostgreSQL. If it is unreachable these tests fail (never skip): a green
// run must mean the PostgreSQL backend was exercised.
const URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropSchema(schema: string): Promise<void> {
  await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

const uniqueSchema = () => `sy_test_${process.pid}_${randomBytes(4).toString('hex')}`;

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

storeSpec('PostgreSQL', () => {
  const schema = uniqueSchema();
  return {
    open: (clock) => openStore(URL, { schema, clock }),
    cleanup: () => dropSchema(schema),
    sabotageAudit: () => sql(`
      CREATE FUNCTION "${schema}".sabotage() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.actor = 'saboteur' THEN RAISE EXCEPTION 'audit write refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER sabotage BEFORE INSERT ON "${schema}".audit_records FOR EACH ROW EXECUTE FUNCTION "${schema}".sabotage();
    `),
  };
});

describe('opening a PostgreSQL store', () => {
  it('takes the schema from the URL too, and isolates by it', async () => {
    const a = uniqueSchema(), b = uniqueSchema();
    const sa = await openStore(`${URL}?schema=${a}`);
    const sb = await openStore(URL, { schema: b });
    try {
      expect(sa.backend).toBe('postgres');
      await sa.createTenant({ name: 'only in a' });
      expect(await sa.listTenants()).toHaveLength(1);
      expect(await sb.listTenants()).toHaveLength(0);
    } finally {
      await sa.close();
      await sb.close();
      await dropSchema(a);
      await dropSchema(b);
    }
  });

  it('migrates once when several instances open the same schema together', async () => {
    const schema = uniqueSchema();
    try {
      const stores = await Promise.all([1, 2, 3].map(() => openStore(URL, { schema })));
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      const { rows } = await c.query(`SELECT version FROM "${schema}".schema_version`);
      await c.end();
      expect(rows).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await dropSchema(schema);
    }
  });

  it('upgrades a schema made by the first migration in place, keeping its rows', async () => {
    const schema = uniqueSchema();
    try {
      await sql(`CREATE SCHEMA "${schema}"; SET search_path = "${schema}"; ${POSTGRES_MIGRATIONS[0]}
        CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (1);
        INSERT INTO tenants VALUES ('ten_old', 'old', 'gold', NULL, 1);
        INSERT INTO workspaces VALUES ('wrk_old', 'ten_old', 'default', 1);
        INSERT INTO api_keys VALUES ('key_old', 'ten_old', 'wrk_old', 'k', 'hash_old', 'sk-sy-…abcd', 1, NULL);`);
      const s = await openStore(URL, { schema });
      try {
        expect(await s.getWorkspace('wrk_old')).toEqual({ id: 'wrk_old', tenantId: 'ten_old', name: 'default', spendLimitUsd: null, createdAt: 1 });
        expect(await s.findKeyByHash('hash_old')).toMatchObject({ key: { id: 'key_old', priority: null }, tier: 'gold', priority: null, spendLimitUsd: null });
        expect(await s.listAudit({})).toEqual([]);
      } finally {
        await s.close();
      }
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      const { rows } = await c.query(`SELECT version FROM "${schema}".schema_version`);
      await c.end();
      expect(rows).toEqual([{ version: POSTGRES_MIGRATIONS.length }]);
    } finally {
      await dropSchema(schema);
    }
  });

  it('upgrades a schema made by the second migration: its audit records have no reason, and rollouts can be kept', async () => {
    const schema = uniqueSchema();
    try {
      await sql(`CREATE SCHEMA "${schema}"; SET search_path = "${schema}"; ${POSTGRES_MIGRATIONS[0]} ${POSTGRES_MIGRATIONS[1]}
        CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (2);
        INSERT INTO audit_records VALUES ('aud_old', 1, 'admin', 'tenant.create', 'ten_old', 'ten_old', NULL, NULL, '{"id":"ten_old"}');`);
      const s = await openStore(URL, { schema });
      try {
        expect(await s.listAudit({})).toMatchObject([{ id: 'aud_old', reason: null, after: { id: 'ten_old' } }]);
        expect(await s.listRollouts()).toEqual([]);
        expect(await s.acquireLease('rollouts', 'gw-1', 1_000)).toMatchObject({ epoch: 1 });
      } finally {
        await s.close();
      }
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openStore(URL, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(/invalid PostgreSQL schema/);
  });
});
