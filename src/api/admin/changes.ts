import { grantOf, type ApiKey, type AuditActor, type Store, type StoreError, type Tenant } from '../../ledger/index.js';
import type { Authenticator } from '../../tenancy/index.js';
import { keyPatchBody, newKeyBody, newTenantBody, newWorkspaceBody, noBody, nothingToChange, parseBody, tenantPatchBody, workspacePatchBody } from './bodies.js';
import { badRequest, conflict, notFound, ok, type AdminResponse } from './reply.js';
import { keyView, tenantView, workspaceView } from './views.js';

// What the admin token may change. Each change hands its actor to the store, which writes the
// audit record in the change's own transaction. A change to what a key may do (tier, regions,
// priority, spend limit) reaches this process's authenticator at once — each affected key is
// invalidated and remembered with its new entitlement — and other gateway instances at their next key
// refresh (30 s by default).

const NO_STORE = { 'cache-control': 'no-store' };

export interface Changes {
  createTenant(body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  patchTenant(id: string, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  createWorkspace(t: Tenant, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  patchWorkspace(id: string, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  createKey(t: Tenant, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  patchKey(id: string, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
  revoke(k: ApiKey, body: Buffer, audit: AuditActor): Promise<AdminResponse>;
}

export function storeError(e: StoreError): AdminResponse {
  if (e.kind === 'not_found') return notFound(e.message);
  if (e.kind === 'conflict') return conflict(e.message);
  return badRequest(e.message);
}

export const keyMissing = (id: string): AdminResponse => notFound(`key ${id} not found`);

const empty = (patch: object): boolean => Object.values(patch).every((v) => v === undefined);

/** `tiers`, `regions`: the configured names; absent, any well-formed name is taken. */
export function createChanges(store: Store, authenticator: Authenticator, tiers: readonly string[] | undefined, regions?: readonly string[]): Changes {
  /** A tier or region that is not configured: refused, as a typo would otherwise be granted (or shut out) in silence. */
  function unknownGrant(tier: string | undefined, allowed: readonly string[] | null | undefined): AdminResponse | null {
    if (tiers !== undefined && tier !== undefined && !tiers.includes(tier)) {
      return badRequest(`tier: unknown tier '${tier}'; the configured tiers are ${tiers.join(', ')}`);
    }
    // a region no replica can be in would answer every request of the tenant with "no replica, try again"
    const i = regions === undefined || allowed == null ? -1 : allowed.findIndex((r) => !regions.includes(r));
    if (i >= 0) return badRequest(`allowed_regions.${i}: unknown region '${allowed![i]}'; the configured regions are ${regions!.join(', ')}`);
    return null;
  }

  /** The cached entitlements of these keys answer with what their tenant and workspace now grant. */
  async function regrant(tenant: Tenant | null, keys: readonly ApiKey[]): Promise<void> {
    const live = keys.filter((k) => k.revokedAt === null);
    if (tenant === null || live.length === 0) return;
    const workspaces = new Map((await store.listWorkspaces(tenant.id)).map((w) => [w.id, w]));
    for (const k of live) {
      authenticator.invalidate(k.id);
      const w = workspaces.get(k.workspaceId);
      if (w !== undefined) authenticator.remember(grantOf(tenant, w, k));
    }
  }

  return {
    async createTenant(body, audit) {
      const b = parseBody(newTenantBody, body);
      if (!b.ok) return badRequest(b.message);
      const bad = unknownGrant(b.value.tier, b.value.allowed_regions);
      if (bad) return bad;
      const r = await store.createTenant({ name: b.value.name, tier: b.value.tier, allowedRegions: b.value.allowed_regions ?? null }, audit);
      return r.ok ? ok(201, tenantView(r.value.tenant)) : storeError(r.error);
    },

    async patchTenant(id, body, audit) {
      const b = parseBody(tenantPatchBody, body);
      if (!b.ok) return badRequest(b.message);
      if (empty(b.value)) return badRequest(nothingToChange(['name', 'tier', 'allowed_regions']));
      const bad = unknownGrant(b.value.tier, b.value.allowed_regions);
      if (bad) return bad;
      const r = await store.updateTenant(id, { name: b.value.name, tier: b.value.tier, allowedRegions: b.value.allowed_regions }, audit);
      if (!r.ok) return storeError(r.error);
      if (b.value.tier !== undefined || b.value.allowed_regions !== undefined) await regrant(r.value, await store.listKeys(id));
      return ok(200, tenantView(r.value));
    },

    async createWorkspace(t, body, audit) {
      const b = parseBody(newWorkspaceBody, body);
      if (!b.ok) return badRequest(b.message);
      const r = await store.createWorkspace(t.id, b.value.name, audit);
      return r.ok ? ok(201, workspaceView(r.value)) : storeError(r.error);
    },

    async patchWorkspace(id, body, audit) {
      const b = parseBody(workspacePatchBody, body);
      if (!b.ok) return badRequest(b.message);
      if (empty(b.value)) return badRequest(nothingToChange(['name', 'spend_limit_usd']));
      const r = await store.updateWorkspace(id, { name: b.value.name, spendLimitUsd: b.value.spend_limit_usd }, audit);
      if (!r.ok) return storeError(r.error);
      const w = r.value;
      if (b.value.spend_limit_usd !== undefined) await regrant(await store.getTenant(w.tenantId), await store.listKeys(w.tenantId, w.id));
      return ok(200, workspaceView(w));
    },

    async createKey(t, body, audit) {
      const b = parseBody(newKeyBody, body);
      if (!b.ok) return badRequest(b.message);
      const r = await store.createKey({ tenantId: t.id, workspaceId: b.value.workspace_id, name: b.value.name ?? 'default', priority: b.value.priority ?? null }, audit);
      if (!r.ok) return storeError(r.error);
      await regrant(t, [r.value.key]);
      return ok(201, { ...keyView(r.value.key), secret: r.value.secret }, NO_STORE);
    },

    async patchKey(id, body, audit) {
      const b = parseBody(keyPatchBody, body);
      if (!b.ok) return badRequest(b.message);
      if (empty(b.value)) return badRequest(nothingToChange(['name', 'priority']));
      const r = await store.updateKey(id, { name: b.value.name, priority: b.value.priority }, audit);
      if (!r.ok) return storeError(r.error);
      if (b.value.priority !== undefined) await regrant(await store.getTenant(r.value.tenantId), [r.value]);
      return ok(200, keyView(r.value));
    },

    async revoke(k, body, audit) {
      const b = parseBody(noBody, body);
      if (!b.ok) return badRequest(b.message);
      const r = await store.revokeKey(k.id, audit);
      authenticator.invalidate(k.id);
      return r ? ok(200, keyView(r)) : keyMissing(k.id);
    },
  };
}
