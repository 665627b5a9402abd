import type { AuditActor, Priority, Store, StoreError, Tenant, Workspace } from '../ledger/index.js';

// Provisioning by hand (`switchyard keys create`): name a tenant and a workspace by id or by name,
// and whatever does not exist yet is created. Meant for a CLI, so a refusal is a ProvisionError
// whose message is printed as it is. Whatever it creates enters the audit trail, as the actor `cli`
// unless told.

/**
 * A refusal: `not_found` (an id that names nothing), `conflict` (a name two tenants share, a
 * workspace made meanwhile), `invalid` (a name the store refuses, such as an empty one).
 */
export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(readonly kind: StoreError['kind'], message: string) {
    super(message);
  }
}

const refused = (e: StoreError): ProvisionError => new ProvisionError(e.kind, e.message);

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
  // a workspace named by an id that names none is refused before anything is created
  const ws = input.workspace;
  if (ws !== undefined && ws.startsWith('wrk_') && (await store.getWorkspace(ws)) === null) {
    throw new ProvisionError('not_found', `workspace ${ws} not found; \`switchyard keys list --tenant <tenant>\` shows the workspaces a tenant's keys are in, and a new one is given by a name, not an id`);
  }
  const { tenant, created: tenantCreated } = await tenantFor(store, input.tenant, audit);
  const { workspace, created: workspaceCreated } = await workspaceFor(store, tenant, input.workspace, audit);
  const r = await store.createKey({ tenantId: tenant.id, workspaceId: workspace.id, name: input.name ?? 'cli', priority: input.priority ?? null }, audit);
  if (!r.ok) throw refused(r.error);
  const { key, secret } = r.value;
  return { keyId: key.id, tenantId: tenant.id, workspaceId: workspace.id, secret, hint: key.hint, tenantCreated, workspaceCreated };
}

async function tenantFor(store: Store, ref: string, audit: AuditActor): Promise<{ tenant: Tenant; created: boolean }> {
  const byId = ref.startsWith('ten_') ? await store.getTenant(ref) : null;
  if (byId) return { tenant: byId, created: false };
  const named = await store.findTenantsByName(ref);
  if (named.length > 1) throw new ProvisionError('conflict', `${named.length} tenants are named '${ref}' (${named.map((t) => t.id).join(', ')}); name one by its id`);
  if (named.length === 1) return { tenant: named[0], created: false };
  // an id is never made up: a new tenant is named, and gets its id from the store
  if (ref.startsWith('ten_')) throw new ProvisionError('not_found', `tenant ${ref} not found; \`switchyard tenants list\` shows the tenants, and a new one is given by a name, not an id`);
  const r = await store.createTenant({ name: ref }, audit);
  if (!r.ok) throw refused(r.error);
  return { tenant: r.value.tenant, created: true };
}

async function workspaceFor(store: Store, tenant: Tenant, ref: string | undefined, audit: AuditActor): Promise<{ workspace: Workspace; created: boolean }> {
  const all = await store.listWorkspaces(tenant.id);
  const want = ref ?? 'default';
  const found = all.find((w) => w.id === want) ?? all.find((w) => w.name === want);
  if (found) return { workspace: found, created: false };
  if (want.startsWith('wrk_')) throw new ProvisionError('not_found', `workspace ${want} not found in tenant ${tenant.id}; \`switchyard keys list --tenant ${tenant.id}\` shows the workspaces its keys are in, and a new one is given by a name, not an id`);
  const r = await store.createWorkspace(tenant.id, want, audit);
  if (!r.ok) throw refused(r.error);
  return { workspace: r.value, created: true };
}
