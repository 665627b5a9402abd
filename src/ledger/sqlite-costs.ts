import type Database from 'better-sqlite3';
import type { DbRow } from './common.js';
import { REPLICA_TIME_COLUMNS, REPLICA_TIME_VALUES, addOnConflict, dayRange, mergeReplicaTime, replicaTimeFromRow, tokenArgs, tokensFromRows, tokensSelect } from './costs-common.js';
import type { DayWindow, ReplicaTimeRecord, TokensByDay } from './types.js';

// Unit economics' half of the SQLite store: replica time added to (day, replica) rows, and the
// usage ledger's tokens summed per UTC day (the shared checks live in costs-common.ts).

/** The day of started_at, as the SQLite index has it; CAST, since a fraction written to started_at is REAL and REAL division is not integer division. */
export const SQLITE_DAY = 'CAST(started_at / 86400000 AS INTEGER)';

export class SqliteCosts {
  private readonly addBatch: (rows: readonly ReplicaTimeRecord[]) => void;
  private readonly range: Database.Statement;
  private readonly tokens: Database.Statement;

  constructor(db: Database.Database) {
    const upsert = db.prepare(
      `INSERT INTO replica_time (${REPLICA_TIME_COLUMNS.join(', ')}) VALUES (${REPLICA_TIME_COLUMNS.map(() => '?').join(', ')}) ` + addOnConflict('replica_time'),
    );
    const add = db.transaction((rows: readonly ReplicaTimeRecord[]) => {
      for (const r of rows) upsert.run(REPLICA_TIME_VALUES.map((v) => v(r)));
    });
    // IMMEDIATE: a CLI sharing the file waits for the lock (busy_timeout) rather than failing mid-batch
    this.addBatch = (rows) => add.immediate(rows);
    this.range = db.prepare('SELECT * FROM replica_time WHERE day >= ? AND day < ? ORDER BY day, replica');
    this.tokens = db.prepare(tokensSelect(SQLITE_DAY, () => '?'));
  }

  add(batch: readonly ReplicaTimeRecord[]): void {
    const rows = mergeReplicaTime(batch);
    if (rows.length > 0) this.addBatch(rows);
  }

  replicaTime(w: DayWindow): ReplicaTimeRecord[] {
    const { from, to } = dayRange(w);
    if (from >= to) return [];
    return (this.range.all(from, to) as DbRow[]).map(replicaTimeFromRow);
  }

  tokensByDay(w: DayWindow): TokensByDay[] {
    const args = tokenArgs(w);
    return args === null ? [] : tokensFromRows(this.tokens.all(...args) as DbRow[]);
  }
}
