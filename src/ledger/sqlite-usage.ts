import type Database from 'better-sqlite3';
import {
  clampLimit, foldSpend, foldSummary, SPEND_SELECT, spendOfAll, SUMMARY_SELECT, USAGE_COLUMNS, USAGE_VALUES, usageFromRow, usageWhere, type GroupRow, type SpendRow,
} from './common.js';
import type { SqliteRollup } from './sqlite-rollup.js';
import type { UsageQuery, UsageRecord, UsageSummary, UsageWindow } from './types.js';

// The usage ledger's half of the SQLite store: a batch is one transaction of one prepared INSERT
// run per 25 rows (SQLite's fastest path) that also keeps the roll-up (sqlite-rollup.ts), and reads
// use the (tenant_id, started_at) index. Each INSERT returns the ids it actually inserted, so a
// record already held (a retry, a replayed spill) adds nothing to the roll-up.

const ROWS_PER_INSERT = 25;

const STREAM = USAGE_COLUMNS.indexOf('stream');

/** Writes a record's values, in USAGE_COLUMNS order, into `out` from `at` (SQLite has no booleans). */
function fill(out: unknown[], at: number, r: UsageRecord): void {
  for (let c = 0; c < USAGE_VALUES.length; c++) out[at + c] = USAGE_VALUES[c](r);
  out[at + STREAM] = r.stream ? 1 : 0;
}

export class SqliteUsage {
  private readonly insertBatch: (batch: readonly UsageRecord[]) => void;
  private readonly stmts = new Map<string, Database.Statement>();

  /** `rollup` null writes the records alone (the write-cost benchmark's baseline); the store always passes one. */
  constructor(private readonly db: Database.Database, rollup: SqliteRollup | null) {
    const row = `(${USAGE_COLUMNS.map(() => '?').join(', ')})`;
    const insert = (rows: number) => {
      const st = db.prepare(`INSERT INTO usage_records (${USAGE_COLUMNS.join(', ')}) VALUES ${Array(rows).fill(row).join(', ')} ON CONFLICT (request_id) DO NOTHING` +
        (rollup ? ' RETURNING request_id' : ''));
      return rollup ? st.pluck() : st;
    };
    // Rows go ROWS_PER_INSERT to a statement: each statement run costs about as much as binding a
    // whole row, so a batch of N costs N/25 runs instead of N (≈ half the time per row, measured).
    const many = insert(ROWS_PER_INSERT);
    const one = insert(1);
    const params: unknown[] = new Array(ROWS_PER_INSERT * USAGE_COLUMNS.length);
    const single: unknown[] = new Array(USAGE_COLUMNS.length);
    if (!rollup) {
      this.insertBatch = db.transaction((batch: readonly UsageRecord[]) => {
        let i = 0;
        for (; i + ROWS_PER_INSERT <= batch.length; i += ROWS_PER_INSERT) {
          for (let j = 0; j < ROWS_PER_INSERT; j++) fill(params, j * USAGE_COLUMNS.length, batch[i + j]);
          many.run(params);
        }
        for (; i < batch.length; i++) {
          fill(single, 0, batch[i]);
          one.run(single);
        }
      });
      return;
    }
    this.insertBatch = db.transaction((batch: readonly UsageRecord[]) => {
      // the records inserted, once one was not: until then, the whole batch so far
      let fresh: UsageRecord[] | null = null;
      const took = (from: number, to: number, ids: string[]) => {
        if (fresh === null && ids.length === to - from) return;
        fresh ??= batch.slice(0, from);
        if (ids.length === to - from) {
          for (let k = from; k < to; k++) fresh.push(batch[k]);
          return;
        }
        // an id may repeat within the statement: only its first row was inserted
        const got = new Set(ids);
        for (let k = from; k < to; k++) if (got.delete(batch[k].requestId)) fresh.push(batch[k]);
      };
      let i = 0;
      for (; i + ROWS_PER_INSERT <= batch.length; i += ROWS_PER_INSERT) {
        for (let j = 0; j < ROWS_PER_INSERT; j++) fill(params, j * USAGE_COLUMNS.length, batch[i + j]);
        took(i, i + ROWS_PER_INSERT, many.all(params) as string[]);
      }
      for (; i < batch.length; i++) {
        fill(single, 0, batch[i]);
        took(i, i + 1, one.all(single) as string[]);
      }
      rollup.add(fresh ?? batch);
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

  /** The ids travel as one JSON array (json_each), so any number of them is one prepared statement. */
  spend(since: number, workspaceIds?: readonly string[]): Map<string, number> {
    const rows = (workspaceIds === undefined
      ? this.stmt(spendOfAll('?')).all(since)
      : this.stmt(SPEND_SELECT + 'workspace_id IN (SELECT value FROM json_each(?)) AND started_at >= ? GROUP BY workspace_id').all(JSON.stringify(workspaceIds), since)
    ) as SpendRow[];
    return foldSpend(rows, workspaceIds);
  }

  /** Usage SQL varies only by which filters are present: a handful of shapes, each prepared once. */
  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql)));
    return s;
  }
}
