// The durable record: tenants, workspaces and hashed keys, and one usage record per request.
// One Store interface, SQLite (embedded default) and PostgreSQL behind it; a writer that keeps
// usage writes off the hot path.
export type {
  ApiKey, DemoTenant, KeyGrant, NewKey, NewTenant, Store, StoreError, StoreOptions, StoreResult, Tenant,
  UsageOutcome, UsageQuery, UsageRecord, UsageSummary, UsageTotals, UsageWindow, Workspace,
} from './types.js';
export { openStore } from './open.js';
export { createLedgerWriter } from './writer.js';
export { ensureDemoTenant } from './demo.js';
export type { LedgerStats, LedgerWriter, LedgerWriterOptions } from './writer.js';
export { hashSecret, SECRET_PREFIX, DEMO_TENANT_ID } from './ids.js';
