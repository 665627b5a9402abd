import type pg from 'pg';
import type { DbRow } from './common.js';
import {
  addOnConflict, dayRange, mergeReplicaTime, REPLICA_TIME_COLUMNS, REPLICA_TIME_VALUES, replicaTimeFromRow, tokenArgs, tokensFromRows, tokensSelect,
} from './costs-common.js';
import type { DayWindow, ReplicaTimeRecord, TokensByDay } from './types.js';

// Unit economics' half of the PostgreSQL store (the checks, merging and row mapping it shares with
// SQLite live in costs-common.ts). A batch is ONE upsert statement, one array per column expanded
// by unnest: atomic without an explicit transaction, one round trip however many replicas. Several
// gateways adding to one row at once serialise on its lock; each adds its own seconds.

const ARRAY_TYPES = ['text', 'text', 'text', 'text', 'text', 'text', 'text', 'int', 'float8', 'float8', 'float8'];
const ADD =
  `INSERT INTO replica_time AS t (${REPLICA_TIME_COLUMNS.join(', ')}) SELECT * FROM unnest(` +
  ARRAY_TYPES.map((ty, i) => `$${i + 1}::${ty}[]`).join(', ') + ') ' + addOnConflict('t');
const RANGE = 'SELECT * FROM replica_time WHERE day >= $1 AND day < $2 ORDER BY day, replica';
/** The day of started_at, as the PostgreSQL index has it (BIGINT division truncates). */
export const POSTGRES_DAY = '(started_at / 86400000)';
const TOKENS = tokensSelect(POSTGRES_DAY, (i) => '$' + i);

export class PostgresCosts {
  constructor(private readonly pool: pg.Pool) {}

  async add(batch: readonly ReplicaTimeRecord[]): Promise<void> {
    const rows = mergeReplicaTime(batch);
    if (rows.length === 0) return;
    const cols = REPLICA_TIME_VALUES.map((v) => rows.map(v));
    await this.pool.query(ADD, cols);
  }

  async replicaTime(w: DayWindow): Promise<ReplicaTimeRecord[]> {
    const { from, to } = dayRange(w);
    if (from >= to) return [];
    return ((await this.pool.query(RANGE, [from, to])).rows as DbRow[]).map(replicaTimeFromRow);
  }

  async tokensByDay(w: DayWindow): Promise<TokensByDay[]> {
    const args = tokenArgs(w);
    return args === null ? [] : tokensFromRows((await this.pool.query(TOKENS, args)).rows as DbRow[]);
  }
}
