// What the usage roll-up costs to keep and what it saves to read, both backends, in one run:
//   npx vitest run --config bench/ledger/vitest.config.ts          (LEDGER_BENCH_ROWS=1000000 by default)
// 1. insertUsage throughput with the roll-up (the store) and without (the same schema, records
//    only), batches of 500 (the writer's flush) alternating between the two so both see the same
//    machine; 2. seeding 1M records through insertUsage (batches of 5 000); 3. 30-day reads of the
//    roll-up over those records, beside the GROUP BY over the records it replaces.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { it } from 'vitest';
import { openStore, type Store, type UsageRecord } from '../../src/ledger/index.js';
import { PostgresUsage } from '../../src/ledger/postgres-usage.js';
import { SqliteUsage } from '../../src/ledger/sqlite-usage.js';
import { wallClock } from '../../src/time/index.js';
import { seedTenants, seedUsage, type SeedTenant } from '../../test/helpers/seed-ledger.js';

const PG = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const ROWS = Number(process.env.LEDGER_BENCH_ROWS ?? 1_000_000);
const WRITE_ROWS = Number(process.env.LEDGER_BENCH_WRITE_ROWS ?? 200_000);
const MODELS = ['llama-3.1-8b', 'llama-3.1-70b', 'qwen-2.5-72b'];
const DAY = 86_400_000;
const until = Date.UTC(2026, 11, 1);
const since = until - 30 * DAY;

const ms = (t0: number) => wallClock.monoMs() - t0;
const lines: string[] = [];
const log = (s: string) => { lines.push(s); console.log(s); };

/** records as the seeder makes them, caught instead of written */
async function records(n: number, tenants: SeedTenant[], idPrefix: string): Promise<UsageRecord[][]> {
  const out: UsageRecord[][] = [];
  await seedUsage({ insertUsage: async (b: readonly UsageRecord[]) => { out.push([...b]); } } as unknown as Store, { rows: n, tenants, models: MODELS, since, until, batch: 500, idPrefix });
  return out;
}

async function writeCost(name: string, withRollup: (b: UsageRecord[]) => Promise<void>, without: (b: UsageRecord[]) => Promise<void>, batches: UsageRecord[][]) {
  let a = 0, b = 0;
  for (let i = 0; i < batches.length; i++) {
    // alternate which goes first, so neither always writes into a warmer cache
    const first = i % 2 === 0;
    let t0 = wallClock.monoMs();
    if (first) await withRollup(batches[i]); else await without(batches[i]);
    if (first) a += ms(t0); else b += ms(t0);
    t0 = wallClock.monoMs();
    if (first) await without(batches[i]); else await withRollup(batches[i]);
    if (first) b += ms(t0); else a += ms(t0);
  }
  const n = batches.reduce((s, x) => s + x.length, 0);
  log(`| ${name} | ${n.toLocaleString('en')} | ${Math.round(n / (b / 1000)).toLocaleString('en')} | ${Math.round(n / (a / 1000)).toLocaleString('en')} | ${(a / b).toFixed(2)} |`);
}

async function timed<T>(fn: () => Promise<T>, reps = 5): Promise<{ ms: number; value: T }> {
  let value = await fn();
  const t0 = wallClock.monoMs();
  for (let i = 0; i < reps; i++) value = await fn();
  return { ms: ms(t0) / reps, value };
}

it('the usage roll-up: write cost, seeding and reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-ledger-'));
  const schemas = ['roll', 'base', 'seed'].map((w) => `sy_bench_${w}_${randomBytes(3).toString('hex')}`);
  const admin = new pg.Client({ connectionString: PG });
  await admin.connect();
  try {
    // 1. write cost
    log(`insertUsage, batches of 500, ${MODELS.length} models, 50 tenants, 30 days (rows/s)\n`);
    log('| backend | rows | records only | with roll-up | ÷ |');
    log('| --- | ---: | ---: | ---: | ---: |');
    const lite = await openStore(join(dir, 'write.db'));
    const tenants = await seedTenants(lite, { count: 50, tiers: ['free', 'pro', 'enterprise'] });
    const batches = await records(WRITE_ROWS, tenants, 'req_w_');
    await (await openStore(join(dir, 'base.db'))).close();
    const baseDb = new Database(join(dir, 'base.db'));
    baseDb.pragma('journal_mode = WAL');
    baseDb.pragma('synchronous = NORMAL');
    const base = new SqliteUsage(baseDb, null);
    await writeCost('SQLite', (b) => lite.insertUsage(b), async (b) => base.insert(b), batches);
    baseDb.close();
    await lite.close();

    const pgStore = await openStore(PG, { schema: schemas[0] });
    await (await openStore(PG, { schema: schemas[1] })).close();
    const pool = new pg.Pool({ connectionString: PG, max: 2, options: `-c search_path=${schemas[1]}` });
    const pgBase = new PostgresUsage(pool, false);
    await writeCost('PostgreSQL', (b) => pgStore.insertUsage(b), (b) => pgBase.insert(b), batches.slice(0, Math.ceil(batches.length / 2)));
    await pool.end();
    await pgStore.close();

    // 2. seeding, 3. reads
    log('');
    for (const [name, open] of [['SQLite', () => openStore(join(dir, 'seed.db'))], ['PostgreSQL', () => openStore(PG, { schema: schemas[2] })]] as const) {
      const s = await open();
      const ts = await seedTenants(s, { count: 200, tiers: ['free', 'pro', 'enterprise'], namePrefix: 'bench' });
      const t0 = wallClock.monoMs();
      await seedUsage(s, { rows: ROWS, tenants: ts, models: MODELS, since, until, batch: 5_000, idPrefix: 'req_s_' });
      log(`${name}: seedUsage of ${ROWS.toLocaleString('en')} records (200 tenants, batches of 5 000): ${(ms(t0) / 1000).toFixed(1)} s`);
      // as autovacuum would soon after a load like this: fresh tables have no statistics yet
      if (name === 'PostgreSQL') await admin.query(`ANALYZE "${schemas[2]}".usage_minutes; ANALYZE "${schemas[2]}".usage_days; ANALYZE "${schemas[2]}".usage_records`);
      const days = await timed(() => s.usageDays({ since }));
      const tenant = await timed(() => s.usageDays({ since, tenantId: ts[0].tenantId }));
      const minutes = await timed(() => s.usageMinutes({ since }), 2);
      const slo = await timed(() => s.usageMinutes({ since, tier: 'pro', model: MODELS[0] }));
      const hour = await timed(() => s.usageMinutes({ since: until - 3_600_000 }));
      const scan = await timed(() => s.usageSummary({ tenantId: ts[0].tenantId, since }), 2);
      log(`| ${name}, 30 days of ${ROWS.toLocaleString('en')} records | ms | rows |`);
      log('| --- | ---: | ---: |');
      log(`| usageDays, all tenants | ${days.ms.toFixed(1)} | ${days.value.length} |`);
      log(`| usageDays, one tenant (the busiest) | ${tenant.ms.toFixed(1)} | ${tenant.value.length} |`);
      log(`| usageMinutes, every tier and model | ${minutes.ms.toFixed(1)} | ${minutes.value.length} |`);
      log(`| usageMinutes, one tier and model (an SLO's back-fill) | ${slo.ms.toFixed(1)} | ${slo.value.length} |`);
      log(`| usageMinutes, the last hour | ${hour.ms.toFixed(1)} | ${hour.value.length} |`);
      log(`| beside it: usageSummary of the busiest tenant (scans its records) | ${scan.ms.toFixed(1)} | ${scan.value.requests} records |`);
      log('');
      await s.close();
    }
  } finally {
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
    console.log('\n' + lines.join('\n'));
  }
});
