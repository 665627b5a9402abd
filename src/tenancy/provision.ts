import type { AuditActor, Priority, Store, Tenant, Workspace } from '../ledger/index.js';

// Provisioning by hand (`switchyard keys create`): name a tenant and a workspace by id or by name,
// and whatever does not exist yet is created. Meant for a CLI, so a refusal is an Error with a
// message to print. Whatever it creates enters the audit trail, as the actor `cli` unless told.

export interface KeyForInput {
  /** a tenant id (`ten_…`) or name; a new name creates the tenant */
  tenant: string;
  /** a workspace id (`wrk_…`) or name; a new name creates the workspace; default: the tenant's default */
  workspace?: string;
  name?: string;
  /** the key's priority; default: its tier's */
  priority?: Priority;
  /** who the audit trail names (default `cli`) */
  actor?: string;
}

export interface KeyFor {
  keyId: string;
  tenantId: string;
  workspaceId: string;
  /** shown once: only its hash is stored */
  secret: string;
  hint: string;
  tenantCreated: boolean;
  workspaceCreated: boolean;
}

export async function createKeyFor(store: Store, input: KeyForInput): Promise<KeyFor> {
  const audit: AuditActor = { actor: input.actor ?? 'cli' };
  const { tenant, created: tenantCreated } = await tenantFor(store, input.tenant, audit);
  const { workspace, created: workspaceCreated } = await workspaceFor(store, tenant, input.workspace, audit);
  const r = await store.createKey({ tenantId: tenant.id, workspaceId: workspace.id, name: input.name ?? 'cli', priority: input.priority ?? null }, audit);
  if (!r.ok) throw new Error(r.error.message);
  const { key, secret } = r.value;
  return { keyId: key.id, tenantId: tenant.id, workspaceId: workspace.id, secret, hint: key.hint, tenantCreated, workspaceCreated };
}

async function tenantFor(store: Store, ref: string, audit: AuditActor): Promise<{ tenant: Tenant; created: boolean }> {
  const byId = ref.startsWith('ten_') ? await store.getTenant(ref) : null;
  if (byId) return { tenant: byId, created: false };
  const named = await store.findTenantsByName(ref);
  if (named.length > 1) throw new Error(`${named.length} tenants are named '${ref}' (${named.map((t) => t.id).join(', ')}); name one by its id`);
  if (named.length === 1) return { tenant: named[0], created: false };
  if (ref.startsWith('ten_')) throw new Error(`tenant ${ref} not found`);
  const r = await store.createTenant({ name: ref }, audit);
  if (!r.ok) throw new Error(r.error.message);
  return { tenant: r.value.tenant, created: true };
}

async function workspaceFor(store: Store, tenant: Tenant, ref: string | undefined, audit: AuditActor): Promise<{ workspace: Workspace; created: boolean }> {
  const all = await store.listWorkspaces(tenant.id);
  const want = ref ?? 'default';
  const found = all.find((w) => w.id === want) ?? all.find((w) => w.name === want);
  if (found) return { workspace: found, created: false };
  if (want.startsWith('wrk_')) throw new Error(`workspace ${want} not found in tenant ${tenant.id}`);
  const r = await store.createWorkspace(tenant.id, want, audit);
  if (!r.ok) throw new Error(r.error.message);
  return { workspace: r.value, created: true };
}
