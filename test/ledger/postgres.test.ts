import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { storeSpec } from './store.spec.js';

// Runs against the real PostgreSQL. If it is unreachable these tests fail (never skip): a green
// run must mean the PostgreSQL backend was exercised.
const URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await c.end();
  }
}

const uniqueSchema = () => `sy_test_${process.pid}_${randomBytes(4).toString('hex')}`;

storeSpec('PostgreSQL', () => {
  const schema = uniqueSchema();
  return { open: (now) => openStore(URL, { schema, now }), cleanup: () => dropSchema(schema) };
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
      expect(rows).toEqual([{ version: 1 }]);
      await Promise.all(stores.map((s) => s.close()));
    } finally {
      await dropSchema(schema);
    }
  });

  it('refuses a schema name that is not a plain identifier', async () => {
    await expect(openStore(URL, { schema: 'x"; DROP TABLE y; --' })).rejects.toThrow(/invalid PostgreSQL schema/);
  });
});
