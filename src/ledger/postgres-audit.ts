import type pg from 'pg';
import { AUDIT_COLUMNS, AUDIT_ORDER, auditFromRow, auditValues, auditWhere, type AuditRow } from './audit.js';
import { clampLimit } from './common.js';
import type { AuditQuery, AuditRecord } from './types.js';

// The audit trail's half of the PostgreSQL store. `insert` takes the client of the caller's
// transaction: the record commits or rolls back with the change it describes.

const INSERT_AUDIT = `INSERT INTO audit_records (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map((_, i) => '$' + (i + 1)).join(', ')})`;

export class PostgresAudit {
  constructor(private readonly pool: pg.Pool) {}

  async insert(client: pg.ClientBase | pg.Pool, row: AuditRow | null): Promise<void> {
    if (row !== null) await client.query(INSERT_AUDIT, auditValues(row));
  }

  async list(q: AuditQuery): Promise<AuditRecord[]> {
    const w = auditWhere(q, (i) => '$' + i);
    const sql = `SELECT * FROM audit_records ${w.sql}${AUDIT_ORDER}$${w.args.length + 1}`;
    return (await this.pool.query(sql, [...w.args, clampLimit(q.limit)])).rows.map(auditFromRow);
  }
}
