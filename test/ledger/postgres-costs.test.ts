import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/ledger/index.js';
import { POSTGRES_DAY } from '../../src/ledger/postgres-costs.js';
import { tokensSelect } from '../../src/ledger/costs-common.js';
import { costSpec } from './costs.spec.js';

// The cost specification on the real PostgreSQL, in a schema of its own. If PostgreSQL is
// unreachable these tests fail (never skip): a green run must mean the backend was exercised.
const URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

async function sql(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

costSpec('PostgreSQL', () => {
  const schema = `sy_costs_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    open: (clock) => openStore(URL, { schema, clock, maxConnections: 2 }),
    cleanup: () => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  };
});

describe('the PostgreSQL cost tables', () => {
  it('can answer the token sums from the day index alone, already in group order', async () => {
    const schema = `sy_costs_plan_${process.pid}_${randomBytes(4).toString('hex')}`;
    try {
      await (await openStore(URL, { schema })).close();
      const c = new pg.Client({ connectionString: URL });
      await c.connect();
      try {
        // an empty table is cheapest to scan whole: forbid that, to see whether the index fits the query
        await c.query(`SET search_path = "${schema}"; SET enable_seqscan = off; SET enable_bitmapscan = off`);
        const { rows } = await c.query(`EXPLAIN (COSTS OFF) ${tokensSelect(POSTGRES_DAY, (i) => '$' + i)}`, [0, 1, 0, 86_400_000]);
        const plan = rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
        expect(plan).toMatch(/^GroupAggregate\n(?:\s+Group Key:.*\n)?\s+->\s+Index Only Scan using usage_day_tokens on usage_records/);
      } finally {
        await c.end();
      }
    } finally {
      await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    }
  });
});
