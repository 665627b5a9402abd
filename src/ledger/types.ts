// The records the platform keeps: who may call (tenants, workspaces, keys) and what each call cost
// (usage). One Store interface; SQLite and PostgreSQL implement it and one spec tests both.
// Times are ms since the epoch; the admin API renders them as RFC 3339. Every change to a tenant,
// workspace or key can carry an AuditActor; the store then writes its audit record in the same
// transaction as the change, so the trail never claims a change that did not commit, nor misses one.

import type { Priority } from '../admission/index.js';
import type { RolloutStore } from '../control/rollouts/index.js';
import type { Clock, Timers } from '../time/index.js';

// A key's scheduling class is admission's word, defined once there; it is re-exported because a
// key carries one.
export { PRIORITIES } from '../admission/index.js';
export type { Priority };

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
  /** a monthly spend limit overriding the tier's; null = the tier's */
  spendLimitUsd: number | null;
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
  /** null = the tier's default priority */
  priority: Priority | null;
  createdAt: number;
  revokedAt: number | null;
}

/** A key joined with what its tenant and workspace entitlement: what the authenticator caches. */
export interface KeyEntitlement {
  key: ApiKey;
  tier: string;
  allowedRegions: string[] | null;
  /** the key's own; null = the tier's default */
  priority: Priority | null;
  /** its workspace's override; null = the tier's */
  spendLimitUsd: number | null;
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
  /** the tenant's tier when the request came (SLOs are kept per tier); '' in records older than the field */
  tier: string;
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
  /** null or absent = the tier's default */
  priority?: Priority | null;
}

/** Absent fields are left as they are; null clears a nullable one. */
export interface TenantPatch {
  name?: string;
  tier?: string;
  allowedRegions?: string[] | null;
}

export interface WorkspacePatch {
  name?: string;
  spendLimitUsd?: number | null;
}

export interface KeyPatch {
  name?: string;
  priority?: Priority | null;
}

/** Who made a change: `admin`, `admin:<name>`, `cli`, `gateway`…; the request it came in, if any. */
export interface AuditActor {
  actor: string;
  requestId?: string;
}

/**
 * One change to who may call, or to the fleet. `before` / `after` are JSON views of the row (a
 * key's without its hash; a secret never): `before` is null for a creation, `after` for a deletion.
 */
export interface AuditRecord {
  /** `aud_…` */
  id: string;
  /** ms epoch */
  at: number;
  actor: string;
  /** `tenant.create`, `key.revoke`, `fleet.replica.drain`… */
  action: string;
  /** the id acted on */
  target: string;
  tenantId: string | null;
  requestId: string | null;
  /** why, in the actor's words (a rollout's transitions carry one); null when none was given */
  reason: string | null;
  before: unknown;
  after: unknown;
}

/** An audit record for a change the store did not make itself (the fleet lives in memory). */
export interface NewAuditRecord {
  actor: string;
  action: string;
  target: string;
  tenantId?: string | null;
  requestId?: string | null;
  reason?: string | null;
  before?: unknown;
  after?: unknown;
}

export interface AuditQuery {
  tenantId?: string;
  action?: string;
  target?: string;
  /** inclusive, ms epoch */
  since?: number;
  /** exclusive, ms epoch */
  before?: number;
  /** the next page: records strictly older than this one (ordered by at, then id) */
  olderThan?: { at: number; id: string };
  /** default 100, at most 10 000 */
  limit?: number;
}

export interface DemoTenant {
  tenant: Tenant;
  workspace: Workspace;
  key: ApiKey;
  /** the secret, only when this call generated the key (print it once); null otherwise */
  secret: string | null;
}

/**
 * Replica time the control plane accounted, to add to one replica's row for one UTC day. The
 * leader writes increments (seconds since its last write), so rows add up across flushes and
 * restarts; a price is the replica's at the time (the last one written stands for the day).
 */
export interface ReplicaTimeRecord {
  /** `YYYY-MM-DD`, UTC */
  day: string;
  replica: string;
  /** `REGION/MODEL`, as the autoscaler names pools */
  pool: string;
  region: string;
  model: string;
  /** the hardware profile, when known */
  profile: string | null;
  /** the GPU type, when known */
  gpu: string | null;
  gpus: number;
  usdPerGpuHour: number;
  /** seconds provisioned (in the fleet, routable or not) */
  upS: number;
  /** seconds with at least one call in flight */
  busyS: number;
}

/** Tokens the usage records hold for one UTC day, replica, tenant and model. */
export interface TokensByDay {
  day: string;
  replica: string | null;
  region: string | null;
  tenantId: string;
  model: string;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** Whole UTC days: `since` inclusive, `before` exclusive, ms epoch. */
export interface DayWindow {
  since: number;
  before: number;
}

/** The unit-economics port: replica time in, replica time and tokens per day out. */
export interface CostStore {
  /** Adds each record's seconds to its (day, replica) row, creating it; one transaction. */
  addReplicaTime(batch: readonly ReplicaTimeRecord[]): Promise<void>;
  /** One row per day and replica in the window, ordered by day then replica. */
  replicaTime(w: DayWindow): Promise<ReplicaTimeRecord[]>;
  /** Usage records started in the window summed per day, replica, tenant and model. */
  tokensByDay(w: DayWindow): Promise<TokensByDay[]>;
}

/**
 * One period of requests to one model, from the ledger's roll-up (kept by the store as usage
 * records are written, so reading it never scans them): a UTC day of one tenant, or a minute of
 * one tier (minutes are kept per tier, not per tenant: the SLOs' history, and a size that does not
 * grow with the tenants).
 */
export interface UsagePeriod {
  /** epoch ms of the period's start */
  at: number;
  /** the tenant (day roll-up); null in the minute roll-up */
  tenantId: string | null;
  /** the tier the requests came under ('' for records older than the field) */
  tier: string;
  model: string;
  /** every settled request */
  requests: number;
  /** status 400–499 (429 and 499 included): the client's, not the platform's */
  clientErrors: number;
  /** status ≥ 500 (529 included) */
  serverErrors: number;
  /** successful (status < 400) streamed requests with a time to first token */
  streamed: number;
  /** of those streamed, how many had their first token within each bound of SLO_LATENCY_BOUNDS_MS, in order */
  ttftWithin: number[];
  /** successful requests (status < 400) */
  succeeded: number;
  /** of those, how many ended within each bound of SLO_LATENCY_BOUNDS_MS, in order */
  latencyWithin: number[];
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  costUsd: number;
}

/** Selects the periods overlapping [since, before): the one holding `since` included, whole. */
export interface RollupQuery {
  /** inclusive, epoch ms (rounded down to the period) */
  since: number;
  /** exclusive, epoch ms: periods starting before it */
  before?: number;
  /** the day roll-up only */
  tenantId?: string;
  tier?: string;
  model?: string;
}

/** The ledger's roll-up of usage records by minute and by UTC day (both backends). */
export interface RollupStore {
  /** Per minute, tier and model; ordered by minute, tier, model. */
  usageMinutes(q: Omit<RollupQuery, 'tenantId'>): Promise<UsagePeriod[]>;
  /** Per UTC day, tenant, tier and model; ordered by day, tenant, tier, model. */
  usageDays(q: RollupQuery): Promise<UsagePeriod[]>;
}

/** Also keeps rollouts and the lead over them (the rollout room's port, both backends). */
export interface Store extends RolloutStore, CostStore, RollupStore {
  readonly backend: 'sqlite' | 'postgres';

  /** Creates the tenant and its `default` workspace together. */
  createTenant(input: NewTenant, audit?: AuditActor): Promise<StoreResult<{ tenant: Tenant; workspace: Workspace }>>;
  updateTenant(id: string, patch: TenantPatch, audit?: AuditActor): Promise<StoreResult<Tenant>>;
  getTenant(id: string): Promise<Tenant | null>;
  /** Tenants with exactly this name (names are not unique), oldest first. */
  findTenantsByName(name: string): Promise<Tenant[]>;
  /** In id order (ids sort by creation time); `afterId` pages on. */
  listTenants(page?: { limit?: number; afterId?: string }): Promise<Tenant[]>;

  createWorkspace(tenantId: string, name: string, audit?: AuditActor): Promise<StoreResult<Workspace>>;
  /** The `default` workspace keeps its name: it is where keys go when none is named. */
  updateWorkspace(id: string, patch: WorkspacePatch, audit?: AuditActor): Promise<StoreResult<Workspace>>;
  getWorkspace(id: string): Promise<Workspace | null>;
  listWorkspaces(tenantId: string): Promise<Workspace[]>;
  /** The workspaces of these tenants (at most 10 000 ids), ordered by tenant id, then id: one query for a page of tenants. */
  listWorkspacesOf(tenantIds: readonly string[]): Promise<Workspace[]>;

  /** Generates a secret; it is returned here once and never stored. */
  createKey(input: NewKey, audit?: AuditActor): Promise<StoreResult<{ key: ApiKey; secret: string }>>;
  /** Registers a secret chosen elsewhere (a configured demo key). */
  importKey(input: NewKey & { secret: string }, audit?: AuditActor): Promise<StoreResult<ApiKey>>;
  updateKey(id: string, patch: KeyPatch, audit?: AuditActor): Promise<StoreResult<ApiKey>>;
  getKey(id: string): Promise<ApiKey | null>;
  listKeys(tenantId: string, workspaceId?: string): Promise<ApiKey[]>;
  /** The key with this hash, revoked or not, with its tenant's and workspace's entitlement. */
  findKeyByHash(hash: string): Promise<KeyEntitlement | null>;
  /** Every unrevoked key with its entitlement: the authenticator's warm set. */
  activeKeys(): Promise<KeyEntitlement[]>;
  /** Idempotent: a revoked key keeps its first revocation time (and writes no second audit record). null when no such key. */
  revokeKey(id: string, audit?: AuditActor): Promise<ApiKey | null>;

  /** The demo tenant, its workspace and a usable key, the same across restarts; writes no audit record. */
  ensureDemoTenant(secret?: string): Promise<DemoTenant>;

  /** Records a change made outside the store (the fleet is in memory), stamped with the store's clock. */
  appendAudit(entry: NewAuditRecord): Promise<StoreResult<AuditRecord>>;
  /** Newest first. */
  listAudit(q: AuditQuery): Promise<AuditRecord[]>;

  /** One transaction per batch; a request id already recorded is skipped (retries are safe). */
  insertUsage(batch: readonly UsageRecord[]): Promise<void>;
  /** Newest first. */
  queryUsage(q: UsageQuery): Promise<UsageRecord[]>;
  usageSummary(q: UsageWindow): Promise<UsageSummary>;
  /**
   * USD spent per workspace by requests started at or after `since`. With ids, every id asked has
   * an entry (0 without spend); without, every workspace with any usage record in the window.
   */
  spendByWorkspace(since: number, workspaceIds?: readonly string[]): Promise<Map<string, number>>;

  close(): Promise<void>;
}

export interface StoreOptions {
  /** PostgreSQL schema to work in (created if missing); also `?schema=` in the URL */
  schema?: string;
  /** what stamps rows (`nowMs`, ms since the epoch); the wall clock unless a spec hands in its own */
  clock?: Clock;
  /** the timers a PostgreSQL close waits on (default: Node's) */
  timers?: Timers;
  /** PostgreSQL pool size (default 10) */
  maxConnections?: number;
  /** the longest a call may take: PostgreSQL, connecting included; SQLite, waiting for a lock (default 5 s) */
  timeoutMs?: number;
}
