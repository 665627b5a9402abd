import type Database from 'better-sqlite3';
import type { Clock } from '../time/index.js';
import { changeRow, checkActor, keyJson, tenantJson, workspaceJson } from './audit.js';
import { fail, keyFromRow, workspaceFromRow, type DbRow } from './common.js';
import { patchKey, patchTenant, patchWorkspace } from './patch.js';
import type { SqliteAudit } from './sqlite-audit.js';
import type { ApiKey, AuditActor, KeyPatch, StoreResult, Tenant, TenantPatch, Workspace, WorkspacePatch } from './types.js';

// The updates half of the SQLite store, and the tenant row's SQLite form (regions as JSON text).
// An update reads its row, applies the patch (patch.ts) and writes the result and its audit record,
// all in one transaction that takes the write lock first (IMMEDIATE): a second process sharing the
// file waits for it instead of failing to upgrade a read lock, and `before` is what was replaced.


export function tenantFromRow(r: DbRow): Tenant {
  return {
    id: r.id as string,
    name: r.name as string,
    tier: r.tier as string,
    allowedRegions: r.allowed_regions === null ? null : (JSON.parse(r.allowed_regions as string) as string[]),
    createdAt: r.created_at as number,
  };
}

export function regionsJson(regions: string[] | null): string | null {
  return regions === null ? null : JSON.stringify(regions);
}

/** A unique or primary key violation: a conflict. Other constraint failures (a trigger, a CHECK) are errors. */
export function isConstraint(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export class SqliteChanges {
  private readonly q;

  constructor(private readonly db: Database.Database, private readonly audit: SqliteAudit, private readonly clock: Clock) {
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      getTenant: p('SELECT * FROM tenants WHERE id = ?'),
      updateTenant: p('UPDATE tenants SET name = ?, tier = ?, allowed_regions = ? WHERE id = ?'),
      getWorkspace: p('SELECT * FROM workspaces WHERE id = ?'),
      updateWorkspace: p('UPDATE workspaces SET name = ?, spend_limit_usd = ? WHERE id = ?'),
      getKey: p('SELECT * FROM api_keys WHERE id = ?'),
      updateKey: p('UPDATE api_keys SET name = ?, priority = ? WHERE id = ?'),
    };
  }

  tenant(id: string, patch: TenantPatch, audit?: AuditActor): StoreResult<Tenant> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    return this.db.transaction((): StoreResult<Tenant> => {
      const r = this.q.getTenant.get(id) as DbRow | undefined;
      if (!r) return fail('not_found', `tenant ${id} not found`);
      const before = tenantFromRow(r);
      const next = patchTenant(before, patch);
      if (!next.ok) return next;
      const t = next.value;
      this.q.updateTenant.run(t.name, t.tier, regionsJson(t.allowedRegions), id);
      this.audit.insert(changeRow(audit, 'tenant.update', id, id, tenantJson(before), tenantJson(t), this.clock.nowMs()));
      return next;
    }).immediate();
  }

  workspace(id: string, patch: WorkspacePatch, audit?: AuditActor): StoreResult<Workspace> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    const seen: { next?: Workspace } = {}; // for the conflict's message
    try {
      return this.db.transaction((): StoreResult<Workspace> => {
        const r = this.q.getWorkspace.get(id) as DbRow | undefined;
        if (!r) return fail('not_found', `workspace ${id} not found`);
        const before = workspaceFromRow(r);
        const next = patchWorkspace(before, patch);
        if (!next.ok) return next;
        const w = (seen.next = next.value);
        this.q.updateWorkspace.run(w.name, w.spendLimitUsd, id);
        this.audit.insert(changeRow(audit, 'workspace.update', id, w.tenantId, workspaceJson(before), workspaceJson(w), this.clock.nowMs()));
        return next;
      }).immediate();
    } catch (err) {
      if (isConstraint(err) && seen.next) return fail('conflict', `tenant ${seen.next.tenantId} already has a workspace named '${seen.next.name}'`);
      throw err;
    }
  }

  key(id: string, patch: KeyPatch, audit?: AuditActor): StoreResult<ApiKey> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    return this.db.transaction((): StoreResult<ApiKey> => {
      const r = this.q.getKey.get(id) as DbRow | undefined;
      if (!r) return fail('not_found', `key ${id} not found`);
      const before = keyFromRow(r);
      const next = patchKey(before, patch);
      if (!next.ok) return next;
      const k = next.value;
      this.q.updateKey.run(k.name, k.priority, id);
      this.audit.insert(changeRow(audit, 'key.update', id, k.tenantId, keyJson(before), keyJson(k), this.clock.nowMs()));
      return next;
    }).immediate();
  }
}
