import type { ApiKey, Store, StoreError, Tenant } from '../../ledger/index.js';
import type { Authenticator } from '../../tenancy/index.js';
import { decodeCursor, encodeCursor, newKeyBody, newTenantBody, newWorkspaceBody, parseBody, parseLimit, parseTime } from './bodies.js';
import type { Caller } from './caller.js';
import type { Route } from './match.js';
import { badRequest, conflict, notFound, ok, type AdminResponse } from './reply.js';
import { keyView, listView, summaryView, tenantView, usageView, workspaceView } from './views.js';

// What each admin route does, once the caller is known and allowed the method. Reads by a tenant
// key are scoped here: a foreign id is looked up as if it did not exist.

const NO_STORE = { 'cache-control': 'no-store' };

export type RouteHandler = (caller: Caller, method: string, route: Route, id: string, query: URLSearchParams, body: Buffer) => Promise<AdminResponse>;

function storeError(e: StoreError): AdminResponse {
  if (e.kind === 'not_found') return notFound(e.message);
  if (e.kind === 'conflict') return conflict(e.message);
  return badRequest(e.message);
}

const tenantMissing = (id: string): AdminResponse => notFound(`tenant ${id} not found`);
const keyMissing = (id: string): AdminResponse => notFound(`key ${id} not found`);

export function createRoutes(store: Store, authenticator: Authenticator): RouteHandler {
  /** The tenant a caller may see: missing and foreign answer alike. */
  async function visibleTenant(caller: Caller, id: string): Promise<Tenant | null> {
    if (!caller.admin && caller.auth.tenantId !== id) return null;
    return store.getTenant(id);
  }

  /** A visible tenant and the `since` / `before` bounds of a usage query, or the reply that refuses it. */
  async function usageWindow(caller: Caller, id: string, query: URLSearchParams): Promise<
    { ok: true; t: Tenant; since: number | undefined; before: number | undefined } | { ok: false; reply: AdminResponse }
  > {
    const t = await visibleTenant(caller, id);
    if (!t) return { ok: false, reply: tenantMissing(id) };
    const since = parseTime(query, 'since');
    if (!since.ok) return { ok: false, reply: badRequest(since.message) };
    const before = parseTime(query, 'before');
    if (!before.ok) return { ok: false, reply: badRequest(before.message) };
    return { ok: true, t, since: since.value, before: before.value };
  }

  async function visibleKey(caller: Caller, id: string): Promise<ApiKey | null> {
    const key = await store.getKey(id);
    if (key === null || (!caller.admin && caller.auth.tenantId !== key.tenantId)) return null;
    return key;
  }

  async function route(caller: Caller, method: string, route: Route, id: string, query: URLSearchParams, body: Buffer): Promise<AdminResponse> {
    switch (route) {
      case 'tenants': {
        if (method === 'POST') {
          const b = parseBody(newTenantBody, body);
          if (!b.ok) return badRequest(b.message);
          const r = await store.createTenant({ name: b.value.name, tier: b.value.tier, allowedRegions: b.value.allowed_regions ?? null });
          return r.ok ? ok(201, tenantView(r.value.tenant)) : storeError(r.error);
        }
        const limit = parseLimit(query, 100, 1000);
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
        const t = await visibleTenant(caller, id);
        return t ? ok(200, tenantView(t)) : tenantMissing(id);
      }
      case 'workspaces': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        if (method === 'POST') {
          const b = parseBody(newWorkspaceBody, body);
          if (!b.ok) return badRequest(b.message);
          const r = await store.createWorkspace(t.id, b.value.name);
          return r.ok ? ok(201, workspaceView(r.value)) : storeError(r.error);
        }
        return ok(200, listView((await store.listWorkspaces(t.id)).map(workspaceView), false));
      }
      case 'keys': {
        const t = await visibleTenant(caller, id);
        if (!t) return tenantMissing(id);
        if (method === 'POST') {
          const b = parseBody(newKeyBody, body);
          if (!b.ok) return badRequest(b.message);
          const r = await store.createKey({ tenantId: t.id, workspaceId: b.value.workspace_id, name: b.value.name ?? 'default' });
          if (!r.ok) return storeError(r.error);
          authenticator.remember({ key: r.value.key, tier: t.tier, allowedRegions: t.allowedRegions });
          return ok(201, { ...keyView(r.value.key), secret: r.value.secret }, NO_STORE);
        }
        const ws = query.get('workspace_id') || undefined;
        return ok(200, listView((await store.listKeys(t.id, ws)).map(keyView), false));
      }
      case 'key': {
        const k = await visibleKey(caller, id);
        if (!k) return keyMissing(id);
        if (method === 'GET') return ok(200, keyView(k));
        return revoke(k);
      }
      case 'revoke': {
        const k = await visibleKey(caller, id);
        return k ? revoke(k) : keyMissing(id);
      }
      case 'usage': {
        const w = await usageWindow(caller, id, query);
        if (!w.ok) return w.reply;
        const { t, since, before } = w;
        const limit = parseLimit(query, 100, 1000);
        if (!limit.ok) return badRequest(limit.message);
        const page = decodeCursor(query.get('page'));
        if (!page.ok) return badRequest(page.message);
        const rows = await store.queryUsage({
          tenantId: t.id, workspaceId: query.get('workspace_id') || undefined, since, before,
          olderThan: page.value, limit: limit.value + 1,
        });
        const more = rows.length > limit.value;
        const data = more ? rows.slice(0, limit.value) : rows;
        const last = data[data.length - 1];
        return ok(200, { data: data.map(usageView), has_more: more, next_page: more ? encodeCursor(last.startedAt, last.requestId) : null });
      }
      case 'summary': {
        const w = await usageWindow(caller, id, query);
        if (!w.ok) return w.reply;
        const { t, since, before } = w;
        const ws = query.get('workspace_id') || undefined;
        const s = await store.usageSummary({ tenantId: t.id, workspaceId: ws, since, before });
        return ok(200, summaryView(t.id, ws ?? null, since, before, s));
      }
    }
  }

  async function revoke(k: ApiKey): Promise<AdminResponse> {
    const r = await store.revokeKey(k.id);
    authenticator.invalidate(k.id);
    return r ? ok(200, keyView(r)) : keyMissing(k.id);
  }

  return route;
}
