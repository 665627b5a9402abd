import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LeaseToken, RolloutState, RolloutStoreResult, RolloutTransition, StoredRollout } from '../control/rollouts/index.js';
import type { Clock } from '../time/index.js';
import { appendedRow, changeRow, checkActor, keyJson, recordOf, tenantJson, workspaceJson } from './audit.js';
import { checkName, clampLimit, fail, MAX_TENANT_IDS, ENTITLEMENT_SELECT, entitlementFromRow, invalid, keyFromRow, newTenantRecords, workspaceFromRow, type DbRow } from './common.js';
import { ensureDemoTenant } from './demo.js';
import { checkImportedSecret, hashSecret, newId, newSecret, secretHint } from './ids.js';
import { checkPriority } from './patch.js';
import { SQLITE_MIGRATIONS } from './schema.js';
import { SqliteAudit } from './sqlite-audit.js';
import { isConstraint, regionsJson, SqliteChanges, tenantFromRow } from './sqlite-changes.js';
import { SqliteCosts } from './sqlite-costs.js';
import { SqliteRollouts } from './sqlite-rollouts.js';
import { SqliteRollup } from './sqlite-rollup.js';
import { SqliteUsage } from './sqlite-usage.js';
import type {
  ApiKey, AuditActor, AuditQuery, AuditRecord, DayWindow, DemoTenant, KeyEntitlement, KeyPatch, NewAuditRecord, NewKey, NewTenant, ReplicaTimeRecord, RollupQuery, Store, StoreResult, Tenant,
  TenantPatch, TokensByDay, UsagePeriod, UsageQuery, UsageRecord, UsageSummary, UsageWindow, Workspace, WorkspacePatch,
} from './types.js';

// The embedded store: one file, WAL so readers never wait for the ledger's writes, NORMAL sync
// (durable across process crashes; a power cut may lose the last commits, which is the trade
// SQLite's own docs recommend for WAL). better-sqlite3 is synchronous; each call is short. A change
// and its audit record are one transaction (updates are in sqlite-changes.ts; rollouts and the
// lead in sqlite-rollouts.ts; replica time and tokens per day in sqlite-costs.ts).




export function openSqlite(path: string, clock: Clock, busyTimeoutMs = 5_000): Store {
  if (path !== ':memory:') restrictFile(path);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Several processes may share the file (gateway + CLI); wait for a lock instead of failing.
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`);
  migrate(db);
  return new SqliteStore(db, clock);
}

/**
 * Keys' hashes and every tenant's usage live in this file: the directory made for it is the
 * owner's only (0700), and the file is 0600 before SQLite opens it, since SQLite gives its -wal and
 * -shm files the database file's mode. A file from an older run is tightened too.
 */
function restrictFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  for (const f of [path, path + '-wal', path + '-shm']) {
    try {
      chmodSync(f, 0o600);
    } catch { /* absent, or not ours to change: SQLite reports what matters when it opens */ }
  }
}

function migrate(db: Database.Database): void {
  db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const row = db.prepare('SELECT version FROM schema_version').get() as { version: number } | undefined;
    const from = row?.version ?? 0;
    for (let v = from; v < SQLITE_MIGRATIONS.length; v++) db.exec(SQLITE_MIGRATIONS[v]);
    if (!row) db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(SQLITE_MIGRATIONS.length);
    else if (from < SQLITE_MIGRATIONS.length) db.prepare('UPDATE schema_version SET version = ?').run(SQLITE_MIGRATIONS.length);
  }).immediate();
}

class SqliteStore implements Store {
  readonly backend = 'sqlite' as const;
  private readonly q;
  private readonly usage: SqliteUsage;
  private readonly rollup: SqliteRollup;
  private readonly audit: SqliteAudit;
  private readonly changes: SqliteChanges;
  private readonly rollouts: SqliteRollouts;
  private readonly costs: SqliteCosts;

  constructor(private readonly db: Database.Database, private readonly clock: Clock) {
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      insertTenant: p('INSERT INTO tenants (id, name, tier, allowed_regions, created_at) VALUES (?, ?, ?, ?, ?)'),
      getTenant: p('SELECT * FROM tenants WHERE id = ?'),
      listTenants: p('SELECT * FROM tenants WHERE id > ? ORDER BY id LIMIT ?'),
      tenantsByName: p('SELECT * FROM tenants WHERE name = ? ORDER BY id LIMIT 100'),
      insertWorkspace: p('INSERT INTO workspaces (id, tenant_id, name, spend_limit_usd, created_at) VALUES (?, ?, ?, ?, ?)'),
      getWorkspace: p('SELECT * FROM workspaces WHERE id = ?'),
      defaultWorkspace: p("SELECT * FROM workspaces WHERE tenant_id = ? ORDER BY name = 'default' DESC, id LIMIT 1"),
      listWorkspaces: p('SELECT * FROM workspaces WHERE tenant_id = ? ORDER BY id'),
      // the ids travel as one JSON array, so any number of them is one prepared statement
      workspacesOf: p('SELECT * FROM workspaces WHERE tenant_id IN (SELECT value FROM json_each(?)) ORDER BY tenant_id, id'),
      insertKey: p('INSERT INTO api_keys (id, tenant_id, workspace_id, name, hash, hint, priority, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      getKey: p('SELECT * FROM api_keys WHERE id = ?'),
      listKeys: p('SELECT * FROM api_keys WHERE tenant_id = ? ORDER BY id'),
      listKeysIn: p('SELECT * FROM api_keys WHERE tenant_id = ? AND workspace_id = ? ORDER BY id'),
      keyByHash: p(ENTITLEMENT_SELECT + 'k.hash = ?'),
      activeKeys: p(ENTITLEMENT_SELECT + 'k.revoked_at IS NULL'),
      revokeKey: p('UPDATE api_keys SET revoked_at = ? WHERE id = ?'),
    };
    this.rollup = new SqliteRollup(db);
    this.usage = new SqliteUsage(db, this.rollup);
    this.audit = new SqliteAudit(db);
    this.changes = new SqliteChanges(db, this.audit, clock);
    this.rollouts = new SqliteRollouts(db, this.audit, clock);
    this.costs = new SqliteCosts(db);
  }

  async createTenant(input: NewTenant, audit?: AuditActor): Promise<StoreResult<{ tenant: Tenant; workspace: Workspace }>> {
    const badActor = checkActor(audit);
    if (badActor) return fail('invalid', badActor);
    const at = this.clock.nowMs();
    const made = newTenantRecords(input, at);
    if (!made.ok) return made;
    const { tenant, workspace } = made.value;
    try {
      this.db.transaction(() => {
        this.q.insertTenant.run(tenant.id, tenant.name, tenant.tier, regionsJson(tenant.allowedRegions), at);
        this.q.insertWorkspace.run(workspace.id, tenant.id, workspace.name, null, at);
        this.audit.insert(changeRow(audit, 'tenant.create', tenant.id, tenant.id, null, tenantJson(tenant), at));
        this.audit.insert(changeRow(audit, 'workspace.create', workspace.id, tenant.id, null, workspaceJson(workspace), at));
      })();
    } catch (err) {
      if (isConstraint(err)) return fail('conflict', `tenant ${tenant.id} already exists`);
      throw err;
    }
    return { ok: true, value: { tenant, workspace } };
  }


  async updateTenant(id: string, patch: TenantPatch, audit?: AuditActor): Promise<StoreResult<Tenant>> {
    return this.changes.tenant(id, patch, audit);
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const r = this.q.getTenant.get(id) as DbRow | undefined;
    return r ? tenantFromRow(r) : null;
  }

  async findTenantsByName(name: string): Promise<Tenant[]> {
    return (this.q.tenantsByName.all(name) as DbRow[]).map(tenantFromRow);
  }

  async listTenants(page: { limit?: number; afterId?: string } = {}): Promise<Tenant[]> {
    return (this.q.listTenants.all(page.afterId ?? '', clampLimit(page.limit)) as DbRow[]).map(tenantFromRow);
  }

  async createWorkspace(tenantId: string, name: string, audit?: AuditActor): Promise<StoreResult<Workspace>> {
    const bad = checkName('workspace', name) ?? invalid(checkActor(audit));
    if (bad) return { ok: false, error: bad };
    if (!this.q.getTenant.get(tenantId)) return fail('not_found', `tenant ${tenantId} not found`);
    const at = this.clock.nowMs();
    const ws: Workspace = { id: newId('wrk', at), tenantId, name, spendLimitUsd: null, createdAt: at };
    try {
      this.db.transaction(() => {
        this.q.insertWorkspace.run(ws.id, tenantId, name, null, at);
        this.audit.insert(changeRow(audit, 'workspace.create', ws.id, tenantId, null, workspaceJson(ws), at));
      })();
    } catch (err) {
      if (isConstraint(err)) return fail('conflict', `tenant ${tenantId} already has a workspace named '${name}'`);
      throw err;
    }
    return { ok: true, value: ws };
  }


  async updateWorkspace(id: string, patch: WorkspacePatch, audit?: AuditActor): Promise<StoreResult<Workspace>> {
    return this.changes.workspace(id, patch, audit);
  }

  async getWorkspace(id: string): Promise<Workspace | null> {
    const r = this.q.getWorkspace.get(id) as DbRow | undefined;
    return r ? workspaceFromRow(r) : null;
  }

  async listWorkspaces(tenantId: string): Promise<Workspace[]> {
    return (this.q.listWorkspaces.all(tenantId) as DbRow[]).map(workspaceFromRow);
  }

  async listWorkspacesOf(tenantIds: readonly string[]): Promise<Workspace[]> {
    if (tenantIds.length > MAX_TENANT_IDS) throw new RangeError(`listWorkspacesOf takes at most ${MAX_TENANT_IDS} tenant ids; page the tenants`);
    return (this.q.workspacesOf.all(JSON.stringify(tenantIds)) as DbRow[]).map(workspaceFromRow);
  }

  async createKey(input: NewKey, audit?: AuditActor): Promise<StoreResult<{ key: ApiKey; secret: string }>> {
    const secret = newSecret();
    const r = this.addKey(input, secret, audit);
    return r.ok ? { ok: true, value: { key: r.value, secret } } : r;
  }

  async importKey(input: NewKey & { secret: string }, audit?: AuditActor): Promise<StoreResult<ApiKey>> {
    const bad = checkImportedSecret(input.secret);
    if (bad) return fail('invalid', bad);
    return this.addKey(input, input.secret, audit);
  }

  private addKey(input: NewKey, secret: string, audit: AuditActor | undefined): StoreResult<ApiKey> {
    const bad = checkName('key', input.name) ?? invalid(checkPriority(input.priority ?? null) ?? checkActor(audit));
    if (bad) return { ok: false, error: bad };
    if (!this.q.getTenant.get(input.tenantId)) return fail('not_found', `tenant ${input.tenantId} not found`);
    const ws = (input.workspaceId === undefined ? this.q.defaultWorkspace.get(input.tenantId) : this.q.getWorkspace.get(input.workspaceId)) as DbRow | undefined;
    if (!ws || ws.tenant_id !== input.tenantId) return fail('not_found', `workspace ${input.workspaceId} not found in tenant ${input.tenantId}`);
    const at = this.clock.nowMs();
    const key: ApiKey = {
      id: newId('key', at), tenantId: input.tenantId, workspaceId: ws.id as string, name: input.name,
      hash: hashSecret(secret), hint: secretHint(secret), priority: input.priority ?? null, createdAt: at, revokedAt: null,
    };
    try {
      this.db.transaction(() => {
        this.q.insertKey.run(key.id, key.tenantId, key.workspaceId, key.name, key.hash, key.hint, key.priority, at);
        this.audit.insert(changeRow(audit, 'key.create', key.id, key.tenantId, null, keyJson(key), at));
      })();
    } catch (err) {
      if (isConstraint(err)) return fail('conflict', 'this secret is already registered as a key');
      throw err;
    }
    return { ok: true, value: key };
  }


  async updateKey(id: string, patch: KeyPatch, audit?: AuditActor): Promise<StoreResult<ApiKey>> {
    return this.changes.key(id, patch, audit);
  }

  async getKey(id: string): Promise<ApiKey | null> {
    const r = this.q.getKey.get(id) as DbRow | undefined;
    return r ? keyFromRow(r) : null;
  }

  async listKeys(tenantId: string, workspaceId?: string): Promise<ApiKey[]> {
    const rows = workspaceId === undefined ? this.q.listKeys.all(tenantId) : this.q.listKeysIn.all(tenantId, workspaceId);
    return (rows as DbRow[]).map(keyFromRow);
  }

  async findKeyByHash(hash: string): Promise<KeyEntitlement | null> {
    const r = this.q.keyByHash.get(hash) as DbRow | undefined;
    return r ? grantOfRow(r) : null;
  }

  async activeKeys(): Promise<KeyEntitlement[]> {
    return (this.q.activeKeys.all() as DbRow[]).map(grantOfRow);
  }

  async revokeKey(id: string, audit?: AuditActor): Promise<ApiKey | null> {
    const badActor = checkActor(audit);
    if (badActor) throw new TypeError(badActor); // a caller's bug: there is no StoreResult to carry it
    return this.db.transaction((): ApiKey | null => {
      const r = this.q.getKey.get(id) as DbRow | undefined;
      if (!r) return null;
      const before = keyFromRow(r);
      if (before.revokedAt !== null) return before;
      const at = this.clock.nowMs();
      const after: ApiKey = { ...before, revokedAt: at };
      this.q.revokeKey.run(at, id);
      this.audit.insert(changeRow(audit, 'key.revoke', id, before.tenantId, keyJson(before), keyJson(after), at));
      return after;
    }).immediate();
  }

  ensureDemoTenant(secret?: string): Promise<DemoTenant> {
    return ensureDemoTenant(this, secret);
  }

  async appendAudit(entry: NewAuditRecord): Promise<StoreResult<AuditRecord>> {
    const row = appendedRow(entry, this.clock.nowMs());
    if (!row.ok) return row;
    this.audit.insert(row.value);
    return { ok: true, value: recordOf(row.value) };
  }

  async listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.audit.list(q);
  }

  async insertUsage(batch: readonly UsageRecord[]): Promise<void> {
    this.usage.insert(batch);
  }

  async queryUsage(q: UsageQuery): Promise<UsageRecord[]> {
    return this.usage.query(q);
  }

  async usageSummary(q: UsageWindow): Promise<UsageSummary> {
    return this.usage.summary(q);
  }

  async spendByWorkspace(since: number, workspaceIds?: readonly string[]): Promise<Map<string, number>> {
    return this.usage.spend(since, workspaceIds);
  }

  async usageMinutes(q: Omit<RollupQuery, 'tenantId'>): Promise<UsagePeriod[]> {
    return this.rollup.minutes(q);
  }

  async usageDays(q: RollupQuery): Promise<UsagePeriod[]> {
    return this.rollup.days(q);
  }

  async addReplicaTime(batch: readonly ReplicaTimeRecord[]): Promise<void> {
    this.costs.add(batch);
  }

  async replicaTime(w: DayWindow): Promise<ReplicaTimeRecord[]> {
    return this.costs.replicaTime(w);
  }

  async tokensByDay(w: DayWindow): Promise<TokensByDay[]> {
    return this.costs.tokensByDay(w);
  }

  createRollout(state: RolloutState, t: RolloutTransition): Promise<RolloutStoreResult<StoredRollout>> {
    return this.rollouts.createRollout(state, t);
  }

  getRollout(id: string): Promise<StoredRollout | null> {
    return this.rollouts.getRollout(id);
  }

  listRollouts(q?: { model?: string; active?: boolean; limit?: number }): Promise<StoredRollout[]> {
    return this.rollouts.listRollouts(q);
  }

  updateRollout(id: string, revision: number, t: RolloutTransition, lease?: LeaseToken): Promise<RolloutStoreResult<StoredRollout>> {
    return this.rollouts.updateRollout(id, revision, t, lease);
  }

  acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseToken | null> {
    return this.rollouts.acquireLease(name, holder, ttlMs);
  }

  releaseLease(token: LeaseToken): Promise<void> {
    return this.rollouts.releaseLease(token);
  }

  stableVersion(model: string): Promise<string | null> {
    return this.rollouts.stableVersion(model);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function grantOfRow(r: DbRow): KeyEntitlement {
  return entitlementFromRow(r, r.t_regions === null ? null : (JSON.parse(r.t_regions as string) as string[]));
}
