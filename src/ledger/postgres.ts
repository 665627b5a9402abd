import pg from 'pg';
import type { LeaseToken, RolloutState, RolloutStoreResult, RolloutTransition, StoredRollout } from '../control/rollouts/index.js';
import { deadline, wallTimers, type Clock, type Timers } from '../time/index.js';
import { appendedRow, changeRow, checkActor, keyJson, recordOf, tenantJson, workspaceJson } from './audit.js';
import { checkName, clampLimit, fail, MAX_TENANT_IDS, ENTITLEMENT_SELECT, entitlementFromRow, invalid, keyFromRow, newTenantRecords, workspaceFromRow, type DbRow } from './common.js';
import { ensureDemoTenant } from './demo.js';
import { checkImportedSecret, hashSecret, newId, newSecret, secretHint } from './ids.js';
import { checkPriority } from './patch.js';
import { PostgresAudit } from './postgres-audit.js';
import { PostgresCosts } from './postgres-costs.js';
import { FOREIGN_KEY, inTransaction, pgCode, PostgresChanges, tenantFromRow, UNIQUE } from './postgres-changes.js';
import { PostgresRollouts } from './postgres-rollouts.js';
import { PostgresRollup } from './postgres-rollup.js';
import { PostgresUsage } from './postgres-usage.js';
import { POSTGRES_MIGRATIONS } from './schema.js';
import type {
  ApiKey, AuditActor, AuditQuery, AuditRecord, DayWindow, DemoTenant, KeyEntitlement, KeyPatch, NewAuditRecord, NewKey, NewTenant, ReplicaTimeRecord, RollupQuery, Store, StoreOptions, StoreResult, Tenant,
  TenantPatch, TokensByDay, UsagePeriod, UsageQuery, UsageRecord, UsageSummary, UsageWindow, Workspace, WorkspacePatch,
} from './types.js';

// The scaled-out store: several gateway instances share one PostgreSQL. Reads and usage writes are
// single statements, so the hot path never holds a pooled connection across awaits. Changes to
// tenants, workspaces and keys are rare (admin actions) and are short transactions on one
// connection, because the audit record must commit with the change it describes (updates are in
// postgres-changes.ts; rollouts and the lead in postgres-rollouts.ts; replica time and tokens per
// day in postgres-costs.ts). Constraint violations
// become values: 23505 unique → conflict, 23503 foreign key → not found.


const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function grantOfRow(r: DbRow): KeyEntitlement {
  return entitlementFromRow(r, (r.t_regions as string[] | null) ?? null);
}

export async function openPostgres(url: string, opts: StoreOptions, clock: Clock): Promise<Store> {
  const u = new URL(url);
  const schema = opts.schema ?? u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name '${schema}': use letters, digits and _`);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A partition is silence, not a refusal: every call needs a deadline of its own. The server
  // cancels a slow statement (statement_timeout) and the connection stays usable; a socket that
  // stopped answering is caught client-side a little later (query_timeout), and its connection
  // is dropped from the pool. Waiting for a connection, or opening one, has the same bound.
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: opts.maxConnections ?? 10,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    query_timeout: timeoutMs + 1_000,
    keepAlive: true,
    ...(schema !== undefined ? { options: `-c search_path=${schema}` } : {}),
  });
  // An idle connection dropped by the server emits here; without a listener it would crash the
  // process. The next query on the pool reconnects or fails to its caller, who reports it.
  pool.on('error', () => {});
  try {
    await migrate(pool, schema);
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
  return new PostgresStore(pool, clock, timeoutMs, opts.timers ?? wallTimers);
}

const DEFAULT_TIMEOUT_MS = 5_000;
/** instances starting together queue on the migration lock: that wait is not a partition */
const MIGRATION_TIMEOUT_MS = 60_000;

async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    // Instances starting together take turns; the loser sees the winner's version and does nothing.
    await c.query(`SET LOCAL statement_timeout = ${MIGRATION_TIMEOUT_MS}`);
    await c.query({ text: 'SELECT pg_advisory_xact_lock(hashtext($1))', values: ['switchyard-schema:' + (schema ?? '')], query_timeout: MIGRATION_TIMEOUT_MS + 1_000 } as pg.QueryConfig);
    if (schema !== undefined) await c.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await c.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
    const { rows } = await c.query('SELECT version FROM schema_version');
    const from: number = rows[0]?.version ?? 0;
    for (let v = from; v < POSTGRES_MIGRATIONS.length; v++) await c.query(POSTGRES_MIGRATIONS[v]);
    if (rows.length === 0) await c.query('INSERT INTO schema_version (version) VALUES ($1)', [POSTGRES_MIGRATIONS.length]);
    else if (from < POSTGRES_MIGRATIONS.length) await c.query('UPDATE schema_version SET version = $1', [POSTGRES_MIGRATIONS.length]);
    await c.query('COMMIT');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

class PostgresStore implements Store {
  readonly backend = 'postgres' as const;

  private readonly usage: PostgresUsage;
  private readonly rollup: PostgresRollup;
  private readonly audit: PostgresAudit;
  private readonly changes: PostgresChanges;
  private readonly rollouts: PostgresRollouts;
  private readonly costs: PostgresCosts;

  constructor(private readonly pool: pg.Pool, private readonly clock: Clock, private readonly timeoutMs: number, private readonly timers: Timers) {
    this.usage = new PostgresUsage(pool);
    this.rollup = new PostgresRollup(pool);
    this.audit = new PostgresAudit(pool);
    this.changes = new PostgresChanges(pool, this.audit, clock);
    this.rollouts = new PostgresRollouts(pool, this.audit, clock);
    this.costs = new PostgresCosts(pool);
  }

  private async rows(sql: string, args: unknown[]): Promise<DbRow[]> {
    return (await this.pool.query(sql, args)).rows as DbRow[];
  }

  async createTenant(input: NewTenant, audit?: AuditActor): Promise<StoreResult<{ tenant: Tenant; workspace: Workspace }>> {
    const bad = invalid(checkActor(audit));
    if (bad) return { ok: false, error: bad };
    const at = this.clock.nowMs();
    const made = newTenantRecords(input, at);
    if (!made.ok) return made;
    const { tenant, workspace } = made.value;
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query('INSERT INTO tenants (id, name, tier, allowed_regions, created_at) VALUES ($1, $2, $3, $4, $5)', [tenant.id, tenant.name, tenant.tier, tenant.allowedRegions, at]);
        await c.query("INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES ($1, $2, 'default', $3)", [workspace.id, tenant.id, at]);
        await this.audit.insert(c, changeRow(audit, 'tenant.create', tenant.id, tenant.id, null, tenantJson(tenant), at));
        await this.audit.insert(c, changeRow(audit, 'workspace.create', workspace.id, tenant.id, null, workspaceJson(workspace), at));
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE) return fail('conflict', `tenant ${tenant.id} already exists`);
      throw err;
    }
    return { ok: true, value: { tenant, workspace } };
  }


  updateTenant(id: string, patch: TenantPatch, audit?: AuditActor): Promise<StoreResult<Tenant>> {
    return this.changes.tenant(id, patch, audit);
  }

  async getTenant(id: string): Promise<Tenant | null> {
    const r = await this.rows('SELECT * FROM tenants WHERE id = $1', [id]);
    return r.length ? tenantFromRow(r[0]) : null;
  }

  async findTenantsByName(name: string): Promise<Tenant[]> {
    return (await this.rows('SELECT * FROM tenants WHERE name = $1 ORDER BY id LIMIT 100', [name])).map(tenantFromRow);
  }

  async listTenants(page: { limit?: number; afterId?: string } = {}): Promise<Tenant[]> {
    return (await this.rows('SELECT * FROM tenants WHERE id > $1 ORDER BY id LIMIT $2', [page.afterId ?? '', clampLimit(page.limit)])).map(tenantFromRow);
  }

  async createWorkspace(tenantId: string, name: string, audit?: AuditActor): Promise<StoreResult<Workspace>> {
    const bad = checkName('workspace', name) ?? invalid(checkActor(audit));
    if (bad) return { ok: false, error: bad };
    const at = this.clock.nowMs();
    const ws: Workspace = { id: newId('wrk', at), tenantId, name, spendLimitUsd: null, createdAt: at };
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query('INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)', [ws.id, tenantId, name, at]);
        await this.audit.insert(c, changeRow(audit, 'workspace.create', ws.id, tenantId, null, workspaceJson(ws), at));
      });
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY) return fail('not_found', `tenant ${tenantId} not found`);
      if (pgCode(err) === UNIQUE) return fail('conflict', `tenant ${tenantId} already has a workspace named '${name}'`);
      throw err;
    }
    return { ok: true, value: ws };
  }


  updateWorkspace(id: string, patch: WorkspacePatch, audit?: AuditActor): Promise<StoreResult<Workspace>> {
    return this.changes.workspace(id, patch, audit);
  }

  async getWorkspace(id: string): Promise<Workspace | null> {
    const r = await this.rows('SELECT * FROM workspaces WHERE id = $1', [id]);
    return r.length ? workspaceFromRow(r[0]) : null;
  }

  async listWorkspaces(tenantId: string): Promise<Workspace[]> {
    return (await this.rows('SELECT * FROM workspaces WHERE tenant_id = $1 ORDER BY id', [tenantId])).map(workspaceFromRow);
  }

  async listWorkspacesOf(tenantIds: readonly string[]): Promise<Workspace[]> {
    if (tenantIds.length > MAX_TENANT_IDS) throw new RangeError(`listWorkspacesOf takes at most ${MAX_TENANT_IDS} tenant ids; page the tenants`);
    return (await this.rows('SELECT * FROM workspaces WHERE tenant_id = ANY($1::text[]) ORDER BY tenant_id, id', [tenantIds])).map(workspaceFromRow);
  }

  async createKey(input: NewKey, audit?: AuditActor): Promise<StoreResult<{ key: ApiKey; secret: string }>> {
    const secret = newSecret();
    const r = await this.addKey(input, secret, audit);
    return r.ok ? { ok: true, value: { key: r.value, secret } } : r;
  }

  async importKey(input: NewKey & { secret: string }, audit?: AuditActor): Promise<StoreResult<ApiKey>> {
    const bad = checkImportedSecret(input.secret);
    if (bad) return fail('invalid', bad);
    return this.addKey(input, input.secret, audit);
  }

  private async addKey(input: NewKey, secret: string, audit: AuditActor | undefined): Promise<StoreResult<ApiKey>> {
    const bad = checkName('key', input.name) ?? invalid(checkPriority(input.priority ?? null) ?? checkActor(audit));
    if (bad) return { ok: false, error: bad };
    const ws = input.workspaceId === undefined
      ? await this.rows("SELECT id, tenant_id FROM workspaces WHERE tenant_id = $1 ORDER BY name = 'default' DESC, id LIMIT 1", [input.tenantId])
      : await this.rows('SELECT id, tenant_id FROM workspaces WHERE id = $1 AND tenant_id = $2', [input.workspaceId, input.tenantId]);
    if (ws.length === 0) {
      if (!(await this.getTenant(input.tenantId))) return fail('not_found', `tenant ${input.tenantId} not found`);
      return fail('not_found', `workspace ${input.workspaceId} not found in tenant ${input.tenantId}`);
    }
    const at = this.clock.nowMs();
    const key: ApiKey = {
      id: newId('key', at), tenantId: input.tenantId, workspaceId: ws[0].id as string, name: input.name,
      hash: hashSecret(secret), hint: secretHint(secret), priority: input.priority ?? null, createdAt: at, revokedAt: null,
    };
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query(
          'INSERT INTO api_keys (id, tenant_id, workspace_id, name, hash, hint, priority, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [key.id, key.tenantId, key.workspaceId, key.name, key.hash, key.hint, key.priority, at],
        );
        await this.audit.insert(c, changeRow(audit, 'key.create', key.id, key.tenantId, null, keyJson(key), at));
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE) return fail('conflict', 'this secret is already registered as a key');
      if (pgCode(err) === FOREIGN_KEY) return fail('not_found', `tenant ${input.tenantId} not found`);
      throw err;
    }
    return { ok: true, value: key };
  }


  updateKey(id: string, patch: KeyPatch, audit?: AuditActor): Promise<StoreResult<ApiKey>> {
    return this.changes.key(id, patch, audit);
  }

  async getKey(id: string): Promise<ApiKey | null> {
    const r = await this.rows('SELECT * FROM api_keys WHERE id = $1', [id]);
    return r.length ? keyFromRow(r[0]) : null;
  }

  async listKeys(tenantId: string, workspaceId?: string): Promise<ApiKey[]> {
    const r = workspaceId === undefined
      ? await this.rows('SELECT * FROM api_keys WHERE tenant_id = $1 ORDER BY id', [tenantId])
      : await this.rows('SELECT * FROM api_keys WHERE tenant_id = $1 AND workspace_id = $2 ORDER BY id', [tenantId, workspaceId]);
    return r.map(keyFromRow);
  }

  async findKeyByHash(hash: string): Promise<KeyEntitlement | null> {
    const r = await this.rows(ENTITLEMENT_SELECT + 'k.hash = $1', [hash]);
    return r.length ? grantOfRow(r[0]) : null;
  }

  async activeKeys(): Promise<KeyEntitlement[]> {
    return (await this.rows(ENTITLEMENT_SELECT + 'k.revoked_at IS NULL', [])).map(grantOfRow);
  }

  async revokeKey(id: string, audit?: AuditActor): Promise<ApiKey | null> {
    const badActor = checkActor(audit);
    if (badActor) throw new TypeError(badActor); // a caller's bug: there is no StoreResult to carry it
    return inTransaction(this.pool, async (c): Promise<ApiKey | null> => {
      const r = (await c.query('SELECT * FROM api_keys WHERE id = $1 FOR UPDATE', [id])).rows as DbRow[];
      if (r.length === 0) return null;
      const before = keyFromRow(r[0]);
      if (before.revokedAt !== null) return before;
      const at = this.clock.nowMs();
      const after: ApiKey = { ...before, revokedAt: at };
      await c.query('UPDATE api_keys SET revoked_at = $2 WHERE id = $1', [id, at]);
      await this.audit.insert(c, changeRow(audit, 'key.revoke', id, before.tenantId, keyJson(before), keyJson(after), at));
      return after;
    });
  }

  ensureDemoTenant(secret?: string): Promise<DemoTenant> {
    return ensureDemoTenant(this, secret);
  }

  async appendAudit(entry: NewAuditRecord): Promise<StoreResult<AuditRecord>> {
    const row = appendedRow(entry, this.clock.nowMs());
    if (!row.ok) return row;
    await this.audit.insert(this.pool, row.value);
    return { ok: true, value: recordOf(row.value) };
  }

  listAudit(q: AuditQuery): Promise<AuditRecord[]> {
    return this.audit.list(q);
  }

  insertUsage(batch: readonly UsageRecord[]): Promise<void> {
    return this.usage.insert(batch);
  }

  queryUsage(q: UsageQuery): Promise<UsageRecord[]> {
    return this.usage.query(q);
  }

  usageSummary(q: UsageWindow): Promise<UsageSummary> {
    return this.usage.summary(q);
  }

  spendByWorkspace(since: number, workspaceIds?: readonly string[]): Promise<Map<string, number>> {
    return this.usage.spend(since, workspaceIds);
  }

  usageMinutes(q: Omit<RollupQuery, 'tenantId'>): Promise<UsagePeriod[]> {
    return this.rollup.minutes(q);
  }

  usageDays(q: RollupQuery): Promise<UsagePeriod[]> {
    return this.rollup.days(q);
  }

  addReplicaTime(batch: readonly ReplicaTimeRecord[]): Promise<void> {
    return this.costs.add(batch);
  }

  replicaTime(w: DayWindow): Promise<ReplicaTimeRecord[]> {
    return this.costs.replicaTime(w);
  }

  tokensByDay(w: DayWindow): Promise<TokensByDay[]> {
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

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // pool.end() waits for every connection's goodbye, which a partitioned server never answers
    const ended = this.pool.end().then(() => true, () => true);
    const late = new Promise<false>((r) => deadline(this.timers, Math.min(this.timeoutMs, 2_000), r, false));
    if (!(await Promise.race([ended, late]))) destroySockets(this.pool);
  }
}


/** The pool keeps no public handle on its sockets; a close past its deadline cuts them. */
function destroySockets(pool: pg.Pool): void {
  const clients = (pool as unknown as { _clients?: Array<{ connection?: { stream?: { destroy(): void } } }> })._clients ?? [];
  for (const c of clients) c.connection?.stream?.destroy();
}
