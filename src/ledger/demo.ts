import { DEMO_TENANT_ID, DEMO_WORKSPACE_ID, hashSecret } from './ids.js';
import type { ApiKey, DemoTenant, Store, Tenant, Workspace } from './types.js';

// The demo tenant has fixed ids, so every start (and every gateway instance sharing a database)
// finds the same one. A configured secret is registered once and reused; without one, the first
// start creates a key and hands its secret back to be printed, later starts reuse that key.
// A configured secret that cannot be used (revoked, or another tenant's) stops the start: silently
// serving with a dead demo key would only move the surprise to the first request.

export async function ensureDemoTenant(store: Store, secret?: string): Promise<DemoTenant> {
  const { tenant, workspace } = await demoTenant(store);
  const base = { tenant, workspace };
  if (secret !== undefined && secret !== '') {
    const found = await store.findKeyByHash(hashSecret(secret));
    if (found) {
      assertUsable(found.key);
      return { ...base, key: found.key, secret: null };
    }
    const r = await store.importKey({ tenantId: tenant.id, workspaceId: workspace.id, name: 'demo', secret });
    if (r.ok) return { ...base, key: r.value, secret: null };
    // Another instance registered the same secret between our look-up and insert.
    const again = r.error.kind === 'conflict' ? await store.findKeyByHash(hashSecret(secret)) : null;
    if (again && again.key.tenantId === tenant.id && again.key.revokedAt === null) return { ...base, key: again.key, secret: null };
    throw new Error(`demo key: ${r.error.message}`);
  }
  const active = (await store.listKeys(tenant.id)).find((k) => k.revokedAt === null);
  if (active) return { ...base, key: active, secret: null };
  const created = await store.createKey({ tenantId: tenant.id, workspaceId: workspace.id, name: 'demo' });
  if (!created.ok) throw new Error(`demo key: ${created.error.message}`);
  return { ...base, key: created.value.key, secret: created.value.secret };
}

function assertUsable(key: ApiKey): void {
  if (key.tenantId !== DEMO_TENANT_ID) {
    throw new Error(`the configured demo key is already key ${key.id} of tenant ${key.tenantId}; configure a different secret`);
  }
  if (key.revokedAt !== null) {
    throw new Error(`the configured demo key (${key.id}) was revoked at ${new Date(key.revokedAt).toISOString()}; configure a new secret or unset it to have one generated`);
  }
}

async function demoTenant(store: Store): Promise<{ tenant: Tenant; workspace: Workspace }> {
  let tenant = await store.getTenant(DEMO_TENANT_ID);
  if (!tenant) {
    const r = await store.createTenant({ id: DEMO_TENANT_ID, defaultWorkspaceId: DEMO_WORKSPACE_ID, name: 'demo' });
    if (r.ok) return r.value;
    // Lost a race with another instance creating it: read theirs.
    tenant = await store.getTenant(DEMO_TENANT_ID);
    if (!tenant) throw new Error(`demo tenant: ${r.error.message}`);
  }
  const workspace = (await store.getWorkspace(DEMO_WORKSPACE_ID)) ?? (await store.listWorkspaces(tenant.id))[0];
  if (!workspace) throw new Error('demo tenant has no workspace');
  return { tenant, workspace };
}
