import type pg from 'pg';
import type { Clock } from '../time/index.js';
import { changeRow, checkActor, keyJson, tenantJson, workspaceJson } from './audit.js';
import { fail, keyFromRow, workspaceFromRow, type DbRow } from './common.js';
import { patchKey, patchTenant, patchWorkspace } from './patch.js';
import type { PostgresAudit } from './postgres-audit.js';
import type { ApiKey, AuditActor, KeyPatch, StoreResult, Tenant, TenantPatch, Workspace, WorkspacePatch } from './types.js';

// The updates half of the PostgreSQL store, and what its changes share: transactions and error
// codes. An update locks its row (SELECT … FOR UPDATE), applies the patch (patch.ts) and writes the
// result and its audit record in one transaction: two admins patching one row take turns, and each
// record's `before` is what that change really replaced.


export const UNIQUE = '23505';
export const FOREIGN_KEY = '23503';

export function pgCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

export function tenantFromRow(r: DbRow): Tenant {
  return { id: r.id as string, name: r.name as string, tier: r.tier as string, allowedRegions: (r.allowed_regions as string[] | null) ?? null, createdAt: Number(r.created_at) };
}

/** One transaction on one connection; a connection that fails to roll back is discarded, not reused. */
export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken = false;
  try {
    await c.query('BEGIN');
    const out = await work(c);
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => { broken = true; });
    throw err;
  } finally {
    c.release(broken);
  }
}

export class PostgresChanges {
  constructor(private readonly pool: pg.Pool, private readonly audit: PostgresAudit, private readonly clock: Clock) {}

  async tenant(id: string, patch: TenantPatch, audit?: AuditActor): Promise<StoreResult<Tenant>> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    return inTransaction(this.pool, async (c): Promise<StoreResult<Tenant>> => {
      const r = (await c.query('SELECT * FROM tenants WHERE id = $1 FOR UPDATE', [id])).rows as DbRow[];
      if (r.length === 0) return fail('not_found', `tenant ${id} not found`);
      const before = tenantFromRow(r[0]);
      const next = patchTenant(before, patch);
      if (!next.ok) return next;
      const t = next.value;
      await c.query('UPDATE tenants SET name = $2, tier = $3, allowed_regions = $4 WHERE id = $1', [id, t.name, t.tier, t.allowedRegions]);
      await this.audit.insert(c, changeRow(audit, 'tenant.update', id, id, tenantJson(before), tenantJson(t), this.clock.nowMs()));
      return next;
    });
  }

  async workspace(id: string, patch: WorkspacePatch, audit?: AuditActor): Promise<StoreResult<Workspace>> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    const seen: { next?: Workspace } = {}; // for the conflict's message
    try {
      return await inTransaction(this.pool, async (c): Promise<StoreResult<Workspace>> => {
        const r = (await c.query('SELECT * FROM workspaces WHERE id = $1 FOR UPDATE', [id])).rows as DbRow[];
        if (r.length === 0) return fail('not_found', `workspace ${id} not found`);
        const before = workspaceFromRow(r[0]);
        const next = patchWorkspace(before, patch);
        if (!next.ok) return next;
        const w = (seen.next = next.value);
        await c.query('UPDATE workspaces SET name = $2, spend_limit_usd = $3 WHERE id = $1', [id, w.name, w.spendLimitUsd]);
        await this.audit.insert(c, changeRow(audit, 'workspace.update', id, w.tenantId, workspaceJson(before), workspaceJson(w), this.clock.nowMs()));
        return next;
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE && seen.next) return fail('conflict', `tenant ${seen.next.tenantId} already has a workspace named '${seen.next.name}'`);
      throw err;
    }
  }

  async key(id: string, patch: KeyPatch, audit?: AuditActor): Promise<StoreResult<ApiKey>> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    return inTransaction(this.pool, async (c): Promise<StoreResult<ApiKey>> => {
      const r = (await c.query('SELECT * FROM api_keys WHERE id = $1 FOR UPDATE', [id])).rows as DbRow[];
      if (r.length === 0) return fail('not_found', `key ${id} not found`);
      const before = keyFromRow(r[0]);
      const next = patchKey(before, patch);
      if (!next.ok) return next;
      const k = next.value;
      await c.query('UPDATE api_keys SET name = $2, priority = $3 WHERE id = $1', [id, k.name, k.priority]);
      await this.audit.insert(c, changeRow(audit, 'key.update', id, k.tenantId, keyJson(before), keyJson(k), this.clock.nowMs()));
      return next;
    });
  }
}
