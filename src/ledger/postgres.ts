import pg from 'pg';
import { checkName, clampLimit, fail, keyFromRow, newTenantRecords, workspaceFromRow } from './common.js';
import { ensureDemoTenant } from './demo.js';
import { checkImportedSecret, hashSecret, newId, newSecret, secretHint } from './ids.js';
import { PostgresUsage } from './postgres-usage.js';
import { POSTGRES_MIGRATIONS } from './schema.js';
import type {
  ApiKey, DemoTenant, KeyGrant, NewKey, NewTenant, Store, StoreResult, Tenant, UsageQuery, UsageRecord, UsageSummary, UsageWindow, Workspace,
} from './types.js';

// The scaled-out store: several gateway instances share one PostgreSQL. Every write is a single
// statement (atomic on its own), so no call holds a pooled connection across awaits, and constraint
// violations become values: 23505 unique → conflict, 23503 foreign key → not found.

type Row = Record<string, unknown>;

const UNIQUE = '23505';
const FOREIGN_KEY = '23503';
const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function pgCode(err: unknown): string | undefined {
  return (err as { code?: string } | null)?.code;
}

function tenantFromRow(r: Row): Tenant {
  return { id: r.id as string, name: r.name as string, tier: r.tier as string, allowedRegions: (r.allowed_regions as string[] | null) ?? null, createdAt: Number(r.created_at) };
}

function grantFromRow(r: Row): KeyGrant {
  return { key: keyFromRow(r), tier: r.t_tier as string, allowedRegions: (r.t_regions as string[] | null) ?? null };
}

const GRANT_SELECT = 'SELECT k.*, t.tier AS t_tier, t.allowed_regions AS t_regions FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE ';

export async function openPostgres(url: string, opts: { schema?: string; maxConnections?: number }, now: () => number): Promise<Store> {
  const u = new URL(url);
  const schema = opts.schema ?? u.searchParams.get('schema') ?? undefined;
  u.searchParams.delete('schema');
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new Error(`invalid PostgreSQL schema name '${schema}': use letters, digits and _`);
  const pool = new pg.Pool({
    connectionString: u.toString(),
    max: opts.maxConnections ?? 10,
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
  return new PostgresStore(pool, now);
}

async function migrate(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    // Instances starting together take turns; the loser sees the winner's version and does nothing.
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['switchyard-schema:' + (schema ?? '')]);
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

  constructor(private readonly pool: pg.Pool, private readonly now: () => number) {
    this.usage = new PostgresUsage(pool);
  }

  private async rows(sql: string, args: unknown[]): Promise<Row[]> {
    return (await this.pool.query(sql, args)).rows as Row[];
  }

  async createTenant(input: NewTenant): Promise<StoreResult<{ tenant: Tenant; workspace: Workspace }>> {
    const at = this.now();
    const made = newTenantRecords(input, at);
    if (!made.ok) return made;
    const { tenant, workspace } = made.value;
    try {
      await this.pool.query(
        'WITH t AS (INSERT INTO tenants (id, name, tier, allowed_regions, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id) ' +
        "INSERT INTO workspaces (id, tenant_id, name, created_at) SELECT $6, id, 'default', $5 FROM t",
        [tenant.id, tenant.name, tenant.tier, tenant.allowedRegions, at, workspace.id],
      );
    } catch (err) {
      if (pgCode(err) === UNIQUE) return fail('conflict', `tenant ${tenant.id} already exists`);
      throw err;
    }
    return { ok: true, value: { tenant, workspace } };
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

  async createWorkspace(tenantId: string, name: string): Promise<StoreResult<Workspace>> {
    const bad = checkName('workspace', name);
    if (bad) return { ok: false, error: bad };
    const at = this.now();
    const ws: Workspace = { id: newId('wrk', at), tenantId, name, createdAt: at };
    try {
      await this.pool.query('INSERT INTO workspaces (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4)', [ws.id, tenantId, name, at]);
    } catch (err) {
      if (pgCode(err) === FOREIGN_KEY) return fail('not_found', `tenant ${tenantId} not found`);
      if (pgCode(err) === UNIQUE) return fail('conflict', `tenant ${tenantId} already has a workspace named '${name}'`);
      throw err;
    }
    return { ok: true, value: ws };
  }

  async getWorkspace(id: string): Promise<Workspace | null> {
    const r = await this.rows('SELECT * FROM workspaces WHERE id = $1', [id]);
    return r.length ? workspaceFromRow(r[0]) : null;
  }

  async listWorkspaces(tenantId: string): Promise<Workspace[]> {
    return (await this.rows('SELECT * FROM workspaces WHERE tenant_id = $1 ORDER BY id', [tenantId])).map(workspaceFromRow);
  }

  async createKey(input: NewKey): Promise<StoreResult<{ key: ApiKey; secret: string }>> {
    const secret = newSecret();
    const r = await this.addKey(input, secret);
    return r.ok ? { ok: true, value: { key: r.value, secret } } : r;
  }

  async importKey(input: NewKey & { secret: string }): Promise<StoreResult<ApiKey>> {
    const bad = checkImportedSecret(input.secret);
    if (bad) return fail('invalid', bad);
    return this.addKey(input, input.secret);
  }

  private async addKey(input: NewKey, secret: string): Promise<StoreResult<ApiKey>> {
    const bad = checkName('key', input.name);
    if (bad) return { ok: false, error: bad };
    const ws = input.workspaceId === undefined
      ? await this.rows("SELECT id, tenant_id FROM workspaces WHERE tenant_id = $1 ORDER BY name = 'default' DESC, id LIMIT 1", [input.tenantId])
      : await this.rows('SELECT id, tenant_id FROM workspaces WHERE id = $1 AND tenant_id = $2', [input.workspaceId, input.tenantId]);
    if (ws.length === 0) {
      if (!(await this.getTenant(input.tenantId))) return fail('not_found', `tenant ${input.tenantId} not found`);
      return fail('not_found', `workspace ${input.workspaceId} not found in tenant ${input.tenantId}`);
    }
    const at = this.now();
    const key: ApiKey = {
      id: newId('key', at), tenantId: input.tenantId, workspaceId: ws[0].id as string, name: input.name,
      hash: hashSecret(secret), hint: secretHint(secret), createdAt: at, revokedAt: null,
    };
    try {
      await this.pool.query(
        'INSERT INTO api_keys (id, tenant_id, workspace_id, name, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [key.id, key.tenantId, key.workspaceId, key.name, key.hash, key.hint, at],
      );
    } catch (err) {
      if (pgCode(err) === UNIQUE) return fail('conflict', 'this secret is already registered as a key');
      if (pgCode(err) === FOREIGN_KEY) return fail('not_found', `tenant ${input.tenantId} not found`);
      throw err;
    }
    return { ok: true, value: key };
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

  async findKeyByHash(hash: string): Promise<KeyGrant | null> {
    const r = await this.rows(GRANT_SELECT + 'k.hash = $1', [hash]);
    return r.length ? grantFromRow(r[0]) : null;
  }

  async activeKeys(): Promise<KeyGrant[]> {
    return (await this.rows(GRANT_SELECT + 'k.revoked_at IS NULL', [])).map(grantFromRow);
  }

  async revokeKey(id: string): Promise<ApiKey | null> {
    const r = await this.rows('UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 RETURNING *', [this.now(), id]);
    return r.length ? keyFromRow(r[0]) : null;
  }

  ensureDemoTenant(secret?: string): Promise<DemoTenant> {
    return ensureDemoTenant(this, secret);
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

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}
