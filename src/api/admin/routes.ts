import type { ApiKey, AuditActor, Store, Tenant, Workspace } from '../../ledger/index.js';
import type { Authenticator } from '../../tenancy/index.js';
import { decodeCursor, encodeCursor, parseTime } from './bodies.js';
import type { Caller } from './caller.js';
import { createChanges, keyMissing } from './changes.js';
import type { Route } from './match.js';
import { limitParam, strayParam } from './query.js';
import { badRequest, notFound, ok, type AdminResponse } from './reply.js';
import { auditView, keyView, listView, summaryView, tenantView, usageView, workspaceView } from './views.js';

// What each admin route does, once the caller is known and allowed the method. Reads by a tenant
// key are scoped here: a foreign id is looked up as if it did not exist. Changes are in changes.ts;
// `change` is who makes one (admin.ts lets only the admin token past with a method other than GET),
// null for a read.

export type RouteHandler = (
  caller: Caller, method: string, route: Route, id: string, query: URLSearchParams, body: Buffer, change: AuditActor | null,
) => Promise<AdminResponse>;

const tenantMissing = (id: string): AdminResponse => notFound(`tenant ${id} not found`);
const workspaceMissing = (id: string): AdminResponse => notFound(`workspace ${id} not found`);
const NOTHING = { data: [], has_more: false, next_page: null };

/** The query parameters each listing takes; any other, or one given twice, is a 400 naming it. */
const PARAMS = {
  tenants: ['limit', 'after_id'],
  workspaces: [],
  keys: ['workspace_id'],
  usage: ['since', 'before', 'limit', 'page', 'workspace_id'],
  summary: ['since', 'before', 'workspace_id'],
  audit: ['since', 'before', 'limit', 'page', 'tenant_id', 'action', 'target'],
} as const satisfies Partial<Record<Route, readonly string[]>>;

export function createRoutes(store: Store, authenticator: Authenticator, tiers?: readonly string[], regions?: readonly string[]): RouteHandler {
  const changes = createChanges(store, authenticator, tiers, regions);

  /** The tenant a caller may see: missing and foreign answer alike. */
  async function visibleTenant(caller: Caller, id: string): Promise<Tenant | null> {
    if (!caller.admin && caller.auth.tenantId !== id) return null;
    return store.getTenant(id);
  }

  async function visibleWorkspace(caller: Caller, id: string): Promise<Workspace | null> {
    const w = await store.getWorkspace(id);
    return w === null || (!caller.admin && caller.auth.tenantId !== w.tenantId) ? null : w;
  }

  async function visibleKey(caller: Caller, id: string): Promise<ApiKey | null> {
    const key = await store.getKey(id);
    return key === null || (!caller.admin && caller.auth.tenantId !== key.tenantId) ? null : key;
  }

  /**
   * `since` / `before` / `limit` / `page` of a listing, or the reply that refuses them; `allowed`
   * is every parameter the listing takes, so a misspelt one is refused rather than ignored.
   */
  function window(query: URLSearchParams, allowed: readonly string[]): { ok: true; since?: number; before?: number; limit: number; page?: { at: number; id: string } } | { ok: false; reply: AdminResponse } {
    const stray = strayParam(query, allowed);
    if (stray !== null) return { ok: false, reply: badRequest(stray) };
    const since = parseTime(query, 'since');
    if (!since.ok) return { ok: false, reply: badRequest(since.message) };
    const before = parseTime(query, 'before');
    if (!before.ok) return { ok: false, reply: badRequest(before.message) };
    const limit = limitParam(query, 100, 1000);
    if (!limit.ok) return { ok: false, reply: badRequest(limit.message) };
    const page = decodeCursor(query.get('page'));
    if (!page.ok) return { ok: false, reply: badRequest(page.message) };
    return { ok: true, since: since.value, before: before.value, limit: limit.value, page: page.value };
  }

  /** One page of rows fetched with limit + 1: the extra row only says there is more. */
  function paged<T>(rows: T[], limit: number, view: (r: T) => unknown, cursor: (r: T) => string) {
    const more = rows.length > limit;
    const data = more ? rows.slice(0, limit) : rows;
    return { data: data.map(view), has_more: more, next_page: more ? cursor(data[data.length - 1]) : null };
  }

  async function route(caller: Caller, method: string, route: Route, id: string, query: URLSearchParams, body: Buffer, change: AuditActor | null): Promise<AdminResponse> {
    switch (route) {
      case 'tenants': {
        if (change) return changes.createTenant(body, change);
        const stray = strayParam(query, PARAMS.tenants);
        if (stray !== null) return badRequest(stray);
        const limit = limitParam(query, 100, 1000);
        if (!limit.ok) return badRequest(limit.message);
        if (!caller.admin) {
          const own = await store.getTenant(caller.auth.tenantId);
          return ok(200, listView(own ? [tenantView(own)] : [], false));
        }
        const rows = await store.listTenants({ limit: limit.value + 1, afterId: query.get('after_id') ?? undefined });
        const more = rows.length > limit.value;
        return ok(200, listView((more ? rows.slice(0, limit.value) : rows).map(tenantView), more));
      }
      case 'tenant': {
        if (change) return changes.patchTenant(id, body, change);
        const t = await visibleTenant(caller, id);
        return t ? ok(200, tenantView(t)) : tenantMissing(id);
      }
      case 'workspaces': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        if (change) return changes.createWorkspace(t, body, change);
        const stray = strayParam(query, PARAMS.workspaces);
        if (stray !== null) return badRequest(stray);
        return ok(200, listView((await store.listWorkspaces(t.id)).map(workspaceView), false));
      }
      case 'workspace': {
        if (change) return changes.patchWorkspace(id, body, change);
        const w = await visibleWorkspace(caller, id);
        return w ? ok(200, workspaceView(w)) : workspaceMissing(id);
      }
      case 'keys': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        if (change) return changes.createKey(t, body, change);
        const stray = strayParam(query, PARAMS.keys);
        if (stray !== null) return badRequest(stray);
        const ws = query.get('workspace_id') || undefined;
        return ok(200, listView((await store.listKeys(t.id, ws)).map(keyView), false));
      }
      case 'key': {
        if (change && method === 'PATCH') return changes.patchKey(id, body, change);
        const k = await visibleKey(caller, id);
        if (!k) return keyMissing(id);
        return change ? changes.revoke(k, body, change) : ok(200, keyView(k));
      }
      case 'revoke': {
        const k = await visibleKey(caller, id);
        return k && change ? changes.revoke(k, body, change) : keyMissing(id);
      }
      case 'usage': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        const w = window(query, PARAMS.usage);
        if (!w.ok) return w.reply;
        const rows = await store.queryUsage({
          tenantId: t.id, workspaceId: query.get('workspace_id') || undefined, since: w.since, before: w.before,
          olderThan: w.page && { startedAt: w.page.at, requestId: w.page.id }, limit: w.limit + 1,
        });
        return ok(200, paged(rows, w.limit, usageView, (r) => encodeCursor(r.startedAt, r.requestId)));
      }
      case 'summary': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        const stray = strayParam(query, PARAMS.summary);
        if (stray !== null) return badRequest(stray);
        const since = parseTime(query, 'since');
        if (!since.ok) return badRequest(since.message);
        const before = parseTime(query, 'before');
        if (!before.ok) return badRequest(before.message);
        const ws = query.get('workspace_id') || undefined;
        const s = await store.usageSummary({ tenantId: t.id, workspaceId: ws, since: since.value, before: before.value });
        return ok(200, summaryView(t.id, ws ?? null, since.value, before.value, s));
      }
      case 'audit': {
        const w = window(query, PARAMS.audit);
        if (!w.ok) return w.reply;
        let tenantId = query.get('tenant_id') || undefined;
        if (!caller.admin) {
          // A tenant key reads its own tenant's records; naming another tenant finds nothing, as a
          // tenant without records would, so ids cannot be probed.
          if (tenantId !== undefined && tenantId !== caller.auth.tenantId) return ok(200, NOTHING);
          tenantId = caller.auth.tenantId;
        }
        const rows = await store.listAudit({
          tenantId, action: query.get('action') || undefined, target: query.get('target') || undefined,
          since: w.since, before: w.before, olderThan: w.page, limit: w.limit + 1,
        });
        return ok(200, paged(rows, w.limit, auditView, (r) => encodeCursor(r.at, r.id)));
      }
    }
  }

  return route;
}
