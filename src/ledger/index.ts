// The durable record: tenants, workspaces and hashed keys, the audit trail of changes to them (and
// to the fleet), and one usage record per request. One Store interface, SQLite (embedded default)
// and PostgreSQL behind it; a writer that keeps usage writes off the hot path.
export type {
  ApiKey, AuditActor, CostStore, RollupQuery, RollupStore, UsagePeriod, DayWindow, ReplicaTimeRecord, TokensByDay, AuditQuery, AuditRecord, DemoTenant, KeyEntitlement, KeyPatch, NewAuditRecord, NewKey, NewTenant, Priority, Store,
  StoreError, StoreOptions, StoreResult, Tenant, TenantPatch, UsageOutcome, UsageQuery, UsageRecord, UsageSummary, UsageTotals,
  UsageWindow, Workspace, WorkspacePatch,
} from './types.js';
export { PRIORITIES } from './types.js';
export { grantOf } from './common.js';
export { openStore } from './open.js';
export { createLedgerWriter } from './writer.js';
export { openSpill, replaySpill } from './spill.js';
export { CostStoreError } from './costs-common.js';
export type { ReplayResult, SpillFile } from './spill.js';
export { ensureDemoTenant } from './demo.js';
export type { LedgerStats, LedgerWriter, LedgerWriterOptions } from './writer.js';
export { hashSecret, newRolloutId, SECRET_PREFIX, DEMO_TENANT_ID } from './ids.js';
