import type Database from 'better-sqlite3';
import { addCounters, COUNTERS, DAY_MS, foldPeriods, MINUTE_MS, periodColumns, periodFromValues, rollupWhere, type PeriodSums } from './rollup-common.js';
import type { RollupQuery, UsagePeriod, UsageRecord } from './types.js';

// The roll-up's half of the SQLite store. The write path folds the records a batch actually
// inserted into one sum per period in JS, then upserts each sum once: a batch of thousands of
// records in a few minutes is a handful of upserts, not two per record (as triggers would be).
// The caller runs add() inside the transaction that inserted the records.

export class SqliteRollup {
  private readonly upsertMinute: Database.Statement;
  private readonly upsertDay: Database.Statement;
  private readonly stmts = new Map<string, Database.Statement>();
  private readonly args: unknown[] = new Array(4 + COUNTERS.length);

  constructor(private readonly db: Database.Database) {
    const upsert = (table: string, keys: string[]) => db.prepare(
      `INSERT INTO ${table} (${[...keys, ...COUNTERS].join(', ')}) VALUES (${[...keys, ...COUNTERS].map(() => '?').join(', ')}) ` +
      `ON CONFLICT (${keys.join(', ')}) DO UPDATE SET ${addCounters(table)}`,
    );
    this.upsertMinute = upsert('usage_minutes', ['minute', 'tier', 'model']);
    this.upsertDay = upsert('usage_days', ['day', 'tenant_id', 'tier', 'model']);
  }

  /** Adds these (newly inserted) records to the roll-up; call inside their transaction. */
  add(records: Iterable<UsageRecord>): void {
    const { minutes, days } = foldPeriods(records);
    for (const m of minutes) this.run(this.upsertMinute, m, false);
    for (const d of days) this.run(this.upsertDay, d, true);
  }

  private run(stmt: Database.Statement, s: PeriodSums, withTenant: boolean): void {
    const a = this.args;
    let i = 0;
    a[i++] = s.at;
    if (withTenant) a[i++] = s.tenantId;
    a[i++] = s.tier;
    a[i++] = s.model;
    for (let c = 0; c < s.c.length; c++) a[i++] = s.c[c];
    a.length = i;
    stmt.run(a);
  }

  minutes(q: Omit<RollupQuery, 'tenantId'>): UsagePeriod[] {
    const w = rollupWhere(q, MINUTE_MS, 'minute', false, () => '?');
    return (this.stmt(`SELECT ${periodColumns(false)} FROM usage_minutes WHERE ${w.sql} ORDER BY minute, tier, model`).all(...w.args) as unknown[][]).map((v) => periodFromValues(v, false));
  }

  days(q: RollupQuery): UsagePeriod[] {
    const w = rollupWhere(q, DAY_MS, 'day', true, () => '?');
    return (this.stmt(`SELECT ${periodColumns(true)} FROM usage_days WHERE ${w.sql} ORDER BY day, tenant_id, tier, model`).all(...w.args) as unknown[][]).map((v) => periodFromValues(v, true));
  }

  private stmt(sql: string): Database.Statement {
    let s = this.stmts.get(sql);
    if (!s) this.stmts.set(sql, (s = this.db.prepare(sql).raw()));
    return s;
  }
}
