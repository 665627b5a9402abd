import type Database from 'better-sqlite3';
import { clampLimit, foldSummary, SUMMARY_SELECT, USAGE_COLUMNS, usageFromRow, usageWhere, type GroupRow } from './common.js';
import type { UsageQuery, UsageRecord, UsageSummary, UsageWindow } from './types.js';

// The usage ledger's half of the SQLite store: a batch is one transaction of one prepared INSERT
// run per row (SQLite's fastest path), and reads use the (tenant_id, started_at) index.

export class SqliteUsage {
  private readonly insertBatch: (batch: readonly UsageRecord[]) => void;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    const ins = db.prepare(`INSERT INTO usage_records (${USAGE_COLUMNS.join(', ')}) VALUES (${USAGE_COLUMNS.map(() => '?').join(', ')}) ON CONFLICT (request_id) DO NOTHING`);
    this.insertBatch = db.transaction((batch: readonly UsageRecord[]) => {
      for (const r of batch) {
        ins.run(r.requestId, r.startedAt, r.tenantId, r.workspaceId, r.keyId, r.model, r.replica, r.region, r.wire,
          r.stream ? 1 : 0, r.status, r.outcome, r.inputTokens, r.cachedInputTokens, r.outputTokens, r.ttftMs, r.latencyMs, r.costUsd);
      }
    });
  }

  insert(batch: readonly UsageRecord[]): void {
    if (batch.length > 0) this.insertBatch(batch);
  }

  query(q: UsageQuery): UsageRecord[] {
    const w = usageWhere(q, () => '?');
    return (this.stmt('SELECT * FROM usage_records WHERE ' + w.sql + ' ORDER BY started_at DESC, request_id DESC LIMIT ?')
      .all(...w.args, clampLimit(q.limit)) as Array<Record<string, unknown>>).map(usageFromRow);
  }

  summary(q: UsageWindow): UsageSummary {
    const w = usageWhere(q, () => '?');
    return foldSummary(this.stmt(SUMMARY_SELECT + w.sql + ' GROUP BY outcome, model').all(...w.args) as GroupRow[]);
  }

  /** Usage SQL varies only by which filters are present: a handful of shapes, each prepared once. */
  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }
}
