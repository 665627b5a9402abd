import type pg from 'pg';
import { clampLimit, foldSummary, SUMMARY_SELECT, USAGE_COLUMNS, usageFromRow, usageWhere, type GroupRow } from './common.js';
import type { UsageQuery, UsageRecord, UsageSummary, UsageWindow } from './types.js';

// The usage ledger's half of the PostgreSQL store. A batch is ONE statement whatever its size: one
// array parameter per column, expanded by unnest, so a 500-row flush is one round trip and atomic
// without an explicit transaction (and never near the 65 535-parameter limit).

const ARRAY_TYPES = ['text', 'bigint', 'text', 'text', 'text', 'text', 'text', 'text', 'text', 'boolean', 'int', 'text', 'bigint', 'bigint', 'bigint', 'float8', 'float8', 'float8'];
const INSERT_USAGE =
  `INSERT INTO usage_records (${USAGE_COLUMNS.join(', ')}) SELECT * FROM unnest(` +
  ARRAY_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ') + ') ON CONFLICT (request_id) DO NOTHING';

export class PostgresUsage {
  constructor(private readonly pool: pg.Pool) {}

  async insert(batch: readonly UsageRecord[]): Promise<void> {
    const n = batch.length;
    if (n === 0) return;
    const cols: unknown[][] = ARRAY_TYPES.map(() => new Array(n));
    for (let i = 0; i < n; i++) {
      const r = batch[i];
      cols[0][i] = r.requestId; cols[1][i] = r.startedAt; cols[2][i] = r.tenantId; cols[3][i] = r.workspaceId;
      cols[4][i] = r.keyId; cols[5][i] = r.model; cols[6][i] = r.replica; cols[7][i] = r.region; cols[8][i] = r.wire;
      cols[9][i] = r.stream; cols[10][i] = r.status; cols[11][i] = r.outcome; cols[12][i] = r.inputTokens;
      cols[13][i] = r.cachedInputTokens; cols[14][i] = r.outputTokens; cols[15][i] = r.ttftMs; cols[16][i] = r.latencyMs;
      cols[17][i] = r.costUsd;
    }
    await this.pool.query(INSERT_USAGE, cols);
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
}
