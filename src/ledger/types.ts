// The records the platform keeps: who may call (tenants, workspaces, keys) and what each call cost
// (usage). One Store interface; SQLite and PostgreSQL implement it and one spec tests both.
// Times are ms since the epoch; the admin API renders them as RFC 3339.

export interface Tenant {
  /** `ten_…` */
  id: string;
  name: string;
  /** a named set of limits; 'default' unless set */
  tier: string;
  /** regions this tenant's traffic may be served in; null = any */
  allowedRegions: string[] | null;
  createdAt: number;
}

export interface Workspace {
  /** `wrk_…` */
  id: string;
  tenantId: string;
  name: string;
  createdAt: number;
}

/** A key as stored: never the secret, only its sha256 and a hint to recognise it by. */
export interface ApiKey {
  /** `key_…` */
  id: string;
  tenantId: string;
  workspaceId: string;
  name: string;
  /** sha256 hex of the secret */
  hash: string;
  /** `sk-sy-…` + the secret's last 4 chars */
  hint: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A key joined with what its tenant grants: what the authenticator caches. */
export interface KeyGrant {
  key: ApiKey;
  tier: string;
  allowedRegions: string[] | null;
}

export type UsageOutcome =
  | 'ok'
  | 'client_error'
  | 'rate_limited'
  | 'upstream_error'
  | 'timeout'
  | 'cancelled'
  | 'overloaded'
  | 'internal_error';

/** One request as the ledger remembers it. */
export interface UsageRecord {
  requestId: string;
  /** ms epoch */
  startedAt: number;
  tenantId: string;
  workspaceId: string;
  keyId: string;
  model: string;
  replica: string | null;
  region: string | null;
  wire: 'anthropic' | 'openai';
  stream: boolean;
  status: number;
  outcome: UsageOutcome;
  /** includes cached tokens */
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  ttftMs: number | null;
  latencyMs: number;
  costUsd: number;
}

export interface UsageQuery {
  tenantId: string;
  workspaceId?: string;
  /** inclusive, ms epoch */
  since?: number;
  /** exclusive, ms epoch */
  before?: number;
  /** the next page: records strictly older than this one (ordered by startedAt, then requestId) */
  olderThan?: { startedAt: number; requestId: string };
  /** default 100, at most 10 000 */
  limit?: number;
}

/** A summary covers a time window, not a page. */
export type UsageWindow = Omit<UsageQuery, 'limit' | 'olderThan'>;

export interface UsageTotals {
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
}

export interface UsageSummary extends UsageTotals {
  byOutcome: Partial<Record<UsageOutcome, number>>;
  /** sorted by model name */
  byModel: Array<UsageTotals & { model: string }>;
}

export interface StoreError {
  kind: 'not_found' | 'conflict' | 'invalid';
  message: string;
}
export type StoreResult<T> = { ok: true; value: T } | { ok: false; error: StoreError };

export interface NewTenant {
  name: string;
  tier?: string;
  allowedRegions?: string[] | null;
  /** fixed ids, for well-known tenants such as the demo; generated otherwise */
  id?: string;
  defaultWorkspaceId?: string;
}

export interface NewKey {
  tenantId: string;
  /** the tenant's `default` workspace when absent */
  workspaceId?: string;
  name: string;
}

export interface DemoTenant {
  tenant: Tenant;
  workspace: Workspace;
  key: ApiKey;
  /** the secret, only when this call generated the key (print it once); null otherwise */
  secret: string | null;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';

  /** Creates the tenant and its `default` workspace together. */
  createTenant(input: NewTenant): Promise<StoreResult<{ tenant: Tenant; workspace: Workspace }>>;
  getTenant(id: string): Promise<Tenant | null>;
  /** Tenants with exactly this name (names are not unique), oldest first. */
  findTenantsByName(name: string): Promise<Tenant[]>;
  /** In id order (ids sort by creation time); `afterId` pages on. */
  listTenants(page?: { limit?: number; afterId?: string }): Promise<Tenant[]>;

  createWorkspace(tenantId: string, name: string): Promise<StoreResult<Workspace>>;
  getWorkspace(id: string): Promise<Workspace | null>;
  listWorkspaces(tenantId: string): Promise<Workspace[]>;

  /** Generates a secret; it is returned here once and never stored. */
  createKey(input: NewKey): Promise<StoreResult<{ key: ApiKey; secret: string }>>;
  /** Registers a secret chosen elsewhere (a configured demo key). */
  importKey(input: NewKey & { secret: string }): Promise<StoreResult<ApiKey>>;
  getKey(id: string): Promise<ApiKey | null>;
  listKeys(tenantId: string, workspaceId?: string): Promise<ApiKey[]>;
  /** The key with this hash, revoked or not, with its tenant's grant. */
  findKeyByHash(hash: string): Promise<KeyGrant | null>;
  /** Every unrevoked key with its grant: the authenticator's warm set. */
  activeKeys(): Promise<KeyGrant[]>;
  /** Idempotent: a revoked key keeps its first revocation time. null when no such key. */
  revokeKey(id: string): Promise<ApiKey | null>;

  /** The demo tenant, its workspace and a usable key, the same across restarts. */
  ensureDemoTenant(secret?: string): Promise<DemoTenant>;

  /** One transaction per batch; a request id already recorded is skipped (retries are safe). */
  insertUsage(batch: readonly UsageRecord[]): Promise<void>;
  /** Newest first. */
  queryUsage(q: UsageQuery): Promise<UsageRecord[]>;
  usageSummary(q: UsageWindow): Promise<UsageSummary>;

  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL schema to work in (created if missing); also `?schema=` in the URL */
  schema?: string;
  /** ms epoch; the wall clock unless a test hands in its own */
  now?: () => number;
  /** PostgreSQL pool size (default 10) */
  maxConnections?: number;
}
