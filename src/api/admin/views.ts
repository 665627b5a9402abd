import type { ApiKey, AuditRecord, Tenant, UsageRecord, UsageSummary, UsageTotals, Workspace } from '../../ledger/index.js';

// The admin API's JSON: snake_case fields, RFC 3339 times. The key view has no hash, ever; the
// secret appears only in the answer to the POST that created it.

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null | undefined): string | null => (ms === null || ms === undefined ? null : iso(ms));

export function tenantView(t: Tenant) {
  return { id: t.id, type: 'tenant', name: t.name, tier: t.tier, allowed_regions: t.allowedRegions, created_at: iso(t.createdAt) };
}

export function workspaceView(w: Workspace) {
  return { id: w.id, type: 'workspace', tenant_id: w.tenantId, name: w.name, spend_limit_usd: w.spendLimitUsd, created_at: iso(w.createdAt) };
}

export function keyView(k: ApiKey) {
  return {
    id: k.id, type: 'api_key', tenant_id: k.tenantId, workspace_id: k.workspaceId, name: k.name, hint: k.hint,
    priority: k.priority, created_at: iso(k.createdAt), revoked_at: isoOrNull(k.revokedAt),
  };
}

/**
 * An audit record. The store keeps a tenant, workspace or key as its own row type; here it reads
 * as the same view GET answers with, so a record's `after` can be compared with what GET shows.
 * Records written elsewhere (`fleet.…`) pass through as they were written.
 */
export function auditView(r: AuditRecord) {
  return {
    id: r.id, at: iso(r.at), actor: r.actor, action: r.action, target: r.target, tenant_id: r.tenantId, request_id: r.requestId,
    reason: r.reason, before: rowView(r.action, r.before), after: rowView(r.action, r.after),
  };
}

// the actions whose before/after the store writes as its own snapshot of the row; any other record
// (`key.rotate` links two key ids, `fleet.…` carries its own shape) passes through as written
const SNAPSHOTS: ReadonlyMap<string, (row: never) => unknown> = new Map<string, (row: never) => unknown>([
  ['tenant.create', tenantView], ['tenant.update', tenantView],
  ['workspace.create', workspaceView], ['workspace.update', workspaceView],
  ['key.create', keyView], ['key.update', keyView], ['key.revoke', keyView],
]);

function rowView(action: string, row: unknown): unknown {
  if (typeof row !== 'object' || row === null) return row;
  const view = SNAPSHOTS.get(action);
  // a snapshot always has its creation time; a row without one is not a snapshot, whatever it says
  if (view === undefined || typeof (row as { createdAt?: unknown }).createdAt !== 'number') return row;
  return view(row as never);
}

export function usageView(r: UsageRecord) {
  return {
    request_id: r.requestId, started_at: iso(r.startedAt), tenant_id: r.tenantId, workspace_id: r.workspaceId,
    key_id: r.keyId, model: r.model, replica: r.replica, region: r.region, wire: r.wire, stream: r.stream,
    status: r.status, outcome: r.outcome, input_tokens: r.inputTokens, cached_input_tokens: r.cachedInputTokens,
    output_tokens: r.outputTokens, ttft_ms: r.ttftMs, latency_ms: r.latencyMs, cost_usd: r.costUsd,
  };
}

function totals(t: UsageTotals) {
  return { requests: t.requests, input_tokens: t.inputTokens, cached_input_tokens: t.cachedInputTokens, output_tokens: t.outputTokens, cost_usd: Math.round(t.costUsd * 1e9) / 1e9 };
}

export function summaryView(tenantId: string, workspaceId: string | null, since: number | undefined, before: number | undefined, s: UsageSummary) {
  return {
    type: 'usage_summary', tenant_id: tenantId, workspace_id: workspaceId, since: isoOrNull(since), before: isoOrNull(before),
    ...totals(s),
    by_outcome: s.byOutcome,
    by_model: s.byModel.map((m) => ({ model: m.model, ...totals(m) })),
  };
}

/** A list in Anthropic's shape; `extra` carries paging fields. */
export function listView<T extends { id?: string }>(data: T[], hasMore: boolean, extra?: Record<string, unknown>) {
  return { data, has_more: hasMore, first_id: data[0]?.id ?? null, last_id: data[data.length - 1]?.id ?? null, ...extra };
}
