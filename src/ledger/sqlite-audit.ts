import type Database from 'better-sqlite3';
import { AUDIT_COLUMNS, AUDIT_ORDER, auditFromRow, auditValues, auditWhere, type AuditRow } from './audit.js';
import { clampLimit } from './common.js';
import type { AuditQuery, AuditRecord } from './types.js';

// The audit trail's half of the SQLite store. `insert` runs inside the caller's transaction: the
// record commits or rolls back with the change it describes.

export class SqliteAudit {
  private readonly insertRow: Database.Statement;
  private readonly stmts = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database) {
    this.insertRow = db.prepare(`INSERT INTO audit_records (${AUDIT_COLUMNS.join(', ')}) VALUES (${AUDIT_COLUMNS.map(() => '?').join(', ')})`);
  }

  insert(row: AuditRow | null): void {
    if (row !== null) this.insertRow.run(auditValues(row));
  }

  list(q: AuditQuery): AuditRecord[] {
    const w = auditWhere(q, () => '?');
    let s = this.stmts.get(w.sql);
    if (!s) this.stmts.set(w.sql, (s = this.db.prepare(`SELECT * FROM audit_records ${w.sql}${AUDIT_ORDER}?`)));
    return (s.all(...w.args, clampLimit(q.limit)) as Array<Record<string, unknown>>).map(auditFromRow);
  }
}
