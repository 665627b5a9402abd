import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openStore } from '../../src/ledger/index.js';
import { rolloutSpec } from './rollouts.spec.js';

// The rollout specification on the real PostgreSQL, in a fresh schema; several stores opened on it
// are several gateways. If PostgreSQL is unreachable these tests fail (never skip).
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

rolloutSpec('PostgreSQL', () => {
  const schema = `sy_rollouts_${process.pid}_${randomBytes(4).toString('hex')}`;
  return {
    // two connections each: 21 stores stay well inside the server's connection limit
    open: (clock) => openStore(URL, { schema, clock, maxConnections: 2 }),
    cleanup: () => sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
    sabotageAudit: () => sql(`
      CREATE FUNCTION "${schema}".sabotage() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.actor = 'saboteur' THEN RAISE EXCEPTION 'audit write refused'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER sabotage BEFORE INSERT ON "${schema}".audit_records FOR EACH ROW EXECUTE FUNCTION "${schema}".sabotage();
    `),
  };
});
