import type pg from 'pg';
import {
  clampLimit, foldSpend, foldSummary, SPEND_SELECT, spendOfAll, SUMMARY_SELECT, USAGE_COLUMNS, USAGE_VALUES, usageFromRow, usageWhere, type GroupRow, type SpendRow,
} from './common.js';
import { insertWithRollup } from './postgres-rollup.js';
import type { UsageQuery, UsageRecord, UsageSummary, UsageWindow } from './types.js';

// The usage ledger's half of the PostgreSQL store. A batch is ONE statement whatever its size: one
// array parameter per column, expanded by unnest, so a 500-row flush is one round trip and atomic
// without an explicit transaction (and never near the 65 535-parameter limit); the same statement
// keeps the roll-up (postgres-rollup.ts).

const ARRAY_TYPES = ['text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean', 'int', 'text', 'bigint', 'bigint', 'bigint', 'float8', 'float8', 'float8', 'text'];
const INSERT_RECORDS =
  `INSERT INTO usage_records (${USAGE_COLUMNS.join(', ')}) SELECT * FROM unnest(` + ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ') + ')';
const INSERT_USAGE = insertWithRollup(INSERT_RECORDS);
const INSERT_ONLY = INSERT_RECORDS + ' ON CONFLICT (request_id) DO NOTHING';

const SPEND_ALL = spendOfAll('$1');

export class PostgresUsage {
  /** `rollup` false writes the records alone (the write-cost benchmark's baseline); the store keeps it on. */
  constructor(private readonly pool: pg.Pool, private readonly rollup = true) {}

  async insert(batch: readonly UsageRecord[]): Promise<void> {
    const n = batch.length;
    if (n === 0) return;
    // In request id order: two batches holding one id (a spill replayed while its records were
    // also flushed) wait on each other's rows in the same order, and so cannot deadlock.
    const order = Array.from(batch.keys()).sort((a, b) => (batch[a].requestId < batch[b].requestId ? -1 : batch[a].requestId > batch[b].requestId ? 1 : 0));
    const cols: unknown[][] = ARRAY_TYPES.map(() => new Array(n));
    for (let i = 0; i < n; i++) {
      const r = batch[order[i]];
      for (let c = 0; c < USAGE_VALUES.length; c++) cols[c][i] = USAGE_VALUES[c](r);
    }
    await this.pool.query(this.rollup ? INSERT_USAGE : INSERT_ONLY, cols);
  }

  async query(q: UsageQuery): Promise<UsageRecord[]> {
    const w = usageWhere(q, (i) => '$' + i);
    const sql = 'SELECT * FROM usage_records WHERE ' + w.sql + ` ORDER BY started_at DESC, request_id DESC LIMIT $${w.args.length + 1}`;
    return (await this.pool.query(sql, [...w.args, clampLimit(q.limit)])).rows.map(usageFromRow);
  }

  async summary(q: UsageWindow): Promise<UsageSummary> {
    const w = usageWhere(q, (i) => '$' + i);
    return foldSummary((await this.pool.query(SUMMARY_SELECT + w.sql + ' GROUP BY outcome, model', w.args)).rows as GroupRow[]);
  }

  async spend(since: number, workspaceIds?: readonly string[]): Promise<Map<string, number>> {
    const r = workspaceIds === undefined
      ? await this.pool.query(SPEND_ALL, [since])
      : await this.pool.query(SPEND_SELECT + 'workspace_id = ANY($1::text[]) AND started_at >= $2 GROUP BY workspace_id', [workspaceIds, since]);
    return foldSpend(r.rows as SpendRow[], workspaceIds);
  }
}
