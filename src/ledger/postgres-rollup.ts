import type pg from 'pg';
import { USAGE_COLUMNS } from './common.js';
import { addCounters, counterAggregates, COUNTERS, DAY_MS, MINUTE_MS, periodColumns, periodFromValues, rollupWhere } from './rollup-common.js';
import type { RollupQuery, UsagePeriod } from './types.js';

// The roll-up's half of the PostgreSQL store. The write is one statement: the records' INSERT
// returns the rows it actually inserted (a request id already held returns nothing), and two more
// data-modifying CTEs sum those per minute and per day and add the sums to the roll-up rows. One
// statement is one transaction and one round trip. Concurrent gateways adding to the same rows
// serialise on their row locks and each adds its own counts (x = t.x + excluded.x); every writer
// runs this same statement, its keys sorted, so row locks are taken in one global order and two
// writers cannot deadlock.

/** The roll-up write around an INSERT … SELECT of usage records (its text given, without ON CONFLICT). */
export function insertWithRollup(insertRecords: string): string {
  const returned = ['started_at', 'tenant_id', 'tier', 'model', 'status', 'stream', 'ttft_ms', 'latency_ms', 'input_tokens', 'cached_input_tokens', 'output_tokens', 'cost_usd'];
  for (const c of returned) if (!(USAGE_COLUMNS as readonly string[]).includes(c)) throw new Error(`roll-up reads usage column ${c}, which is not written`);
  const upsert = (table: string, period: string, periodMs: number, keys: string[]) =>
    `INSERT INTO ${table} AS t (${[period, ...keys, ...COUNTERS].join(', ')}) ` +
    `SELECT (started_at / ${periodMs}) * ${periodMs}, ${keys.join(', ')}, ${counterAggregates()} FROM ins ` +
    `GROUP BY 1, ${keys.map((_, i) => i + 2).join(', ')} ORDER BY 1, ${keys.map((_, i) => i + 2).join(', ')} ` +
    `ON CONFLICT (${[period, ...keys].join(', ')}) DO UPDATE SET ${addCounters('t')}`;
  return `WITH ins AS (${insertRecords} ON CONFLICT (request_id) DO NOTHING RETURNING ${returned.join(', ')}), ` +
    `minutes AS (${upsert('usage_minutes', 'minute', MINUTE_MS, ['tier', 'model'])}) ` +
    upsert('usage_days', 'day', DAY_MS, ['tenant_id', 'tier', 'model']);
}

export class PostgresRollup {
  constructor(private readonly pool: pg.Pool) {}

  async minutes(q: Omit<RollupQuery, 'tenantId'>): Promise<UsagePeriod[]> {
    const w = rollupWhere(q, MINUTE_MS, 'minute', false, (i) => '$' + i);
    const { rows } = await this.pool.query({ text: `SELECT ${periodColumns(false)} FROM usage_minutes WHERE ${w.sql} ORDER BY minute, tier, model`, values: w.args, rowMode: 'array' });
    return (rows as unknown[][]).map((v) => periodFromValues(v, false));
  }

  async days(q: RollupQuery): Promise<UsagePeriod[]> {
    const w = rollupWhere(q, DAY_MS, 'day', true, (i) => '$' + i);
    const { rows } = await this.pool.query({ text: `SELECT ${periodColumns(true)} FROM usage_days WHERE ${w.sql} ORDER BY day, tenant_id, tier, model`, values: w.args, rowMode: 'array' });
    return (rows as unknown[][]).map((v) => periodFromValues(v, true));
  }
}
