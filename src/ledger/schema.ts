// The schema, as numbered migrations per dialect. A migration is applied once, in order, inside
// the transaction that bumps `schema_version`; never edit one that has shipped, append a new one.
// Times are ms epoch integers in both dialects so rows read back identically. Usage rows carry no
// foreign keys: the ledger must accept a record even if its key was deleted meanwhile, and neither
// do audit records: the trail outlives what it describes.
//
// Migration 2: the audit trail (its indexes end in id, the tie-break of its newest-first order, so
// a page is one index range), a key's priority, a workspace's spend limit, and an index for the
// gateway's month-to-date spend sums. The index covers cost_usd, so a sum per workspace reads the
// index alone (INCLUDE in PostgreSQL; a third key column in SQLite, which has no INCLUDE).
// On a large PostgreSQL ledger, building it holds writes to usage_records until it is built.
//
// Migration 3: rollouts and the lead. A rollout's whole state is one JSON text (TEXT in both
// dialects: it reads back byte for byte, and JSONB would refuse a \u0000 in a message); `model` and
// `phase` are copied out of it for the indexes. The partial unique index is the rule "at most one
// rollout of a model is not terminal", kept by the database however many gateways write. A lease
// row is never deleted, only expired, so its epoch only grows. Audit records gain a reason.
//
// Migration 4: unit economics. Replica time is one row per (UTC day, replica), added to as the
// leader flushes; `day` is `YYYY-MM-DD` text, which sorts as dates, so a window is one key range.
// Seconds are floating point (flushes are fractions of a second apart). The usage index serves the
// per-day token sums: it leads with the UTC day number (started_at integer-divided by 86 400 000,
// the query's own expression, which both dialects must spell as the index does), then the grouped
// columns, so a window is one index range already in GROUP BY order (no sort), read from the index
// alone. Against a (started_at)-led covering index, 1M records over 30 days: a day 175 → 40 ms,
// a week 320 → 190 ms in PostgreSQL; SQLite, which cannot hash-aggregate, gains more (a week
// ~1.5 s → ~0.2–0.5 s). Like migration 2's, building it on a large PostgreSQL ledger holds writes to
// usage_records until it is built.
//
// Migration 5: each record's tier ('' for the records before it), and the roll-up: per minute ×
// tier × model (the SLOs' history: its size grows with time, not with tenants) and per UTC day ×
// tenant × tier × model (the dashboard's daily view), the counters of rollup-common.ts. Periods are
// the epoch ms of their start. The store adds to them in the transaction that writes the records
// (only records actually inserted); the migration back-fills them from the records already held.
// A (tier, model, minute) index serves one SLO's history; (tenant_id, day) one tenant's days.
// The back-fill reads every record once inside the migration's transaction: on a large PostgreSQL
// ledger, writes to usage_records wait for it (1M records: 4.4 s in SQLite, 6.1 s in PostgreSQL).

import { counterAggregates, counterColumns } from './rollup-common.js';

export const SQLITE_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    allowed_regions TEXT,            -- JSON array, NULL = any region
    created_at INTEGER NOT NULL
  );
  CREATE INDEX tenants_name ON tenants (name);
  CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (tenant_id, name)
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants(id),
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
  );
  CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);
  CREATE TABLE usage_records (
    request_id TEXT PRIMARY KEY,
    started_at INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    replica TEXT,
    region TEXT,
    wire TEXT NOT NULL,
    stream INTEGER NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    ttft_ms REAL,
    latency_ms REAL NOT NULL,
    cost_usd REAL NOT NULL
  );
  CREATE INDEX usage_tenant_time ON usage_records (tenant_id, started_at);
  CREATE INDEX usage_workspace_time ON usage_records (tenant_id, workspace_id, started_at);
  `,
  `
  CREATE TABLE audit_records (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant_id TEXT,
    request_id TEXT,
    before TEXT,                     -- JSON, NULL for a creation
    after TEXT                       -- JSON, NULL for a deletion
  );
  CREATE INDEX audit_tenant_time ON audit_records (tenant_id, at, id);
  CREATE INDEX audit_time ON audit_records (at, id);
  ALTER TABLE api_keys ADD COLUMN priority TEXT CHECK (priority IN ('interactive', 'standard', 'batch'));
  ALTER TABLE workspaces ADD COLUMN spend_limit_usd REAL CHECK (spend_limit_usd >= 0);
  CREATE INDEX usage_workspace_spend ON usage_records (workspace_id, started_at, cost_usd);
  `,
  `
  CREATE TABLE rollouts (
    id TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('pending', 'progressing', 'paused', 'rolling_back', 'succeeded', 'rolled_back', 'aborted')),
    revision INTEGER NOT NULL,
    state TEXT NOT NULL,             -- JSON: the whole RolloutState
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX rollouts_one_active ON rollouts (model) WHERE phase NOT IN ('succeeded', 'rolled_back', 'aborted');
  CREATE INDEX rollouts_model_time ON rollouts (model, created_at, id);
  CREATE INDEX rollouts_time ON rollouts (created_at, id);
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
  );
  ALTER TABLE audit_records ADD COLUMN reason TEXT;
  `,
  `
  CREATE TABLE replica_time (
    day TEXT NOT NULL,               -- YYYY-MM-DD, UTC
    replica TEXT NOT NULL,
    pool TEXT NOT NULL,
    region TEXT NOT NULL,
    model TEXT NOT NULL,
    profile TEXT,
    gpu TEXT,
    gpus INTEGER NOT NULL CHECK (gpus >= 0),
    usd_per_gpu_hour REAL NOT NULL CHECK (usd_per_gpu_hour >= 0),
    up_s REAL NOT NULL CHECK (up_s >= 0),
    busy_s REAL NOT NULL CHECK (busy_s >= 0),
    PRIMARY KEY (day, replica)
  );
  CREATE INDEX usage_day_tokens ON usage_records (CAST(started_at / 86400000 AS INTEGER), replica, region, tenant_id, model, started_at, input_tokens, cached_input_tokens, output_tokens);
  `,
  `
  ALTER TABLE usage_records ADD COLUMN tier TEXT NOT NULL DEFAULT '';
  CREATE TABLE usage_minutes (
    minute INTEGER NOT NULL,
    tier TEXT NOT NULL,
    model TEXT NOT NULL,
    ${counterColumns('INTEGER', 'REAL')},
    PRIMARY KEY (minute, tier, model)
  ) WITHOUT ROWID;
  CREATE INDEX usage_minutes_tier ON usage_minutes (tier, model, minute);
  CREATE TABLE usage_days (
    day INTEGER NOT NULL,
    tenant_id TEXT NOT NULL,
    tier TEXT NOT NULL,
    model TEXT NOT NULL,
    ${counterColumns('INTEGER', 'REAL')},
    PRIMARY KEY (day, tenant_id, tier, model)
  ) WITHOUT ROWID;
  CREATE INDEX usage_days_tenant ON usage_days (tenant_id, day);
  INSERT INTO usage_minutes SELECT CAST(started_at / 60000 AS INTEGER) * 60000, tier, model, ${counterAggregates()} FROM usage_records GROUP BY 1, 2, 3;
  INSERT INTO usage_days SELECT CAST(started_at / 86400000 AS INTEGER) * 86400000, tenant_id, tier, model, ${counterAggregates()} FROM usage_records GROUP BY 1, 2, 3, 4;
  `,
];

// COLLATE "C" on ids: byte order, so id order is creation order whatever the database locale.
export const POSTGRES_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY,
    name TEXT NOT NULL,
    tier TEXT NOT NULL,
    allowed_regions TEXT[],
    created_at BIGINT NOT NULL
  );
  CREATE INDEX tenants_name ON tenants (name);
  CREATE TABLE workspaces (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (tenant_id, name)
  );
  CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants(id),
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    hint TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
  );
  CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);
  CREATE TABLE usage_records (
    request_id TEXT COLLATE "C" PRIMARY KEY,
    started_at BIGINT NOT NULL,
    tenant_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    model TEXT NOT NULL,
    replica TEXT,
    region TEXT,
    wire TEXT NOT NULL,
    stream BOOLEAN NOT NULL,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    input_tokens BIGINT NOT NULL,
    cached_input_tokens BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    ttft_ms DOUBLE PRECISION,
    latency_ms DOUBLE PRECISION NOT NULL,
    cost_usd DOUBLE PRECISION NOT NULL
  );
  CREATE INDEX usage_tenant_time ON usage_records (tenant_id, started_at);
  CREATE INDEX usage_workspace_time ON usage_records (tenant_id, workspace_id, started_at);
  `,
  `
  CREATE TABLE audit_records (
    id TEXT COLLATE "C" PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    tenant_id TEXT COLLATE "C",
    request_id TEXT,
    before TEXT,
    after TEXT
  );
  CREATE INDEX audit_tenant_time ON audit_records (tenant_id, at, id);
  CREATE INDEX audit_time ON audit_records (at, id);
  ALTER TABLE api_keys ADD COLUMN priority TEXT CHECK (priority IN ('interactive', 'standard', 'batch'));
  ALTER TABLE workspaces ADD COLUMN spend_limit_usd DOUBLE PRECISION CHECK (spend_limit_usd >= 0);
  CREATE INDEX usage_workspace_spend ON usage_records (workspace_id, started_at) INCLUDE (cost_usd);
  `,
  `
  CREATE TABLE rollouts (
    id TEXT COLLATE "C" PRIMARY KEY,
    model TEXT NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('pending', 'progressing', 'paused', 'rolling_back', 'succeeded', 'rolled_back', 'aborted')),
    revision INTEGER NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );
  CREATE UNIQUE INDEX rollouts_one_active ON rollouts (model) WHERE phase NOT IN ('succeeded', 'rolled_back', 'aborted');
  CREATE INDEX rollouts_model_time ON rollouts (model, created_at, id);
  CREATE INDEX rollouts_time ON rollouts (created_at, id);
  CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
  );
  ALTER TABLE audit_records ADD COLUMN reason TEXT;
  `,
  `
  CREATE TABLE replica_time (
    day TEXT COLLATE "C" NOT NULL,
    replica TEXT COLLATE "C" NOT NULL,
    pool TEXT NOT NULL,
    region TEXT NOT NULL,
    model TEXT NOT NULL,
    profile TEXT,
    gpu TEXT,
    gpus INTEGER NOT NULL CHECK (gpus >= 0),
    usd_per_gpu_hour DOUBLE PRECISION NOT NULL CHECK (usd_per_gpu_hour >= 0),
    up_s DOUBLE PRECISION NOT NULL CHECK (up_s >= 0),
    busy_s DOUBLE PRECISION NOT NULL CHECK (busy_s >= 0),
    PRIMARY KEY (day, replica)
  );
  CREATE INDEX usage_day_tokens ON usage_records ((started_at / 86400000), replica, region, tenant_id, model) INCLUDE (started_at, input_tokens, cached_input_tokens, output_tokens);
  `,
  `
  ALTER TABLE usage_records ADD COLUMN tier TEXT NOT NULL DEFAULT '';
  CREATE TABLE usage_minutes (
    minute BIGINT NOT NULL,
    tier TEXT COLLATE "C" NOT NULL,
    model TEXT COLLATE "C" NOT NULL,
    ${counterColumns('BIGINT', 'DOUBLE PRECISION')},
    PRIMARY KEY (minute, tier, model)
  );
  CREATE INDEX usage_minutes_tier ON usage_minutes (tier, model, minute);
  CREATE TABLE usage_days (
    day BIGINT NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    tier TEXT COLLATE "C" NOT NULL,
    model TEXT COLLATE "C" NOT NULL,
    ${counterColumns('BIGINT', 'DOUBLE PRECISION')},
    PRIMARY KEY (day, tenant_id, tier, model)
  );
  CREATE INDEX usage_days_tenant ON usage_days (tenant_id, day);
  INSERT INTO usage_minutes SELECT (started_at / 60000) * 60000, tier, model, ${counterAggregates()} FROM usage_records GROUP BY 1, 2, 3;
  INSERT INTO usage_days SELECT (started_at / 86400000) * 86400000, tenant_id, tier, model, ${counterAggregates()} FROM usage_records GROUP BY 1, 2, 3, 4;
  `,
];
