import { isPriority, PRIORITIES } from '../admission/index.js';
import { ConfigError } from '../config/index.js';
import { createKeyFor, ProvisionError, type ApiKey, type Store } from '../tenancy/index.js';
import { CliError, findTenant, withStore, type StoreFlags } from './store.js';
import { table, time } from './table.js';

// `switchyard keys create|list|revoke|rotate`. Changes are written to the audit trail as the actor
// `cli`, in the same transaction as the change (the store does that). A gateway already running
// learns of a revocation at its next key refresh (30 s by default); its own admin API is immediate.

const AUDIT = { actor: 'cli' };

export interface KeysCreateOptions extends StoreFlags {
  tenant: string;
  workspace?: string;
  name?: string;
  priority?: string;
}

/** `switchyard keys create`: a new key for a tenant (created if new), printed once. */
export async function keysCreate(opts: KeysCreateOptions): Promise<void> {
  if (opts.priority !== undefined && !isPriority(opts.priority)) throw new ConfigError(`--priority must be one of ${PRIORITIES.join(', ')}`);
  // checked before the store is opened, which for a write creates it
  if (opts.tenant.trim() === '') throw new ConfigError('--tenant must name a tenant (its id or name)');
  if (opts.workspace !== undefined && opts.workspace.trim() === '') throw new ConfigError('--workspace must name a workspace (its id or name), or be left out for the default one');
  const priority = opts.priority;
  await withStore(opts, true, async (store) => {
    const out = await createKeyFor(store, { tenant: opts.tenant, workspace: opts.workspace, name: opts.name, priority }).catch((e: unknown) => {
      // a name the store refuses is a mistake in the arguments (exit 2); a missing id or a shared name, a refusal (exit 1)
      if (e instanceof ProvisionError) throw e.kind === 'invalid' ? new ConfigError(e.message) : new CliError(e.message);
      throw e;
    });
    process.stderr.write(`key ${out.keyId} for tenant ${out.tenantId} (workspace ${out.workspaceId}); it is shown once:\n`);
    process.stdout.write(out.secret + '\n');
  });
}

export interface KeysListOptions extends StoreFlags {
  tenant: string;
  json?: boolean;
}

/** `switchyard keys list --tenant T`: every key of the tenant, revoked ones included, never a secret. */
export async function keysList(opts: KeysListOptions): Promise<void> {
  await withStore(opts, false, async (store) => {
    const tenant = await findTenant(store, opts.tenant);
    const keys = await store.listKeys(tenant.id);
    if (opts.json) {
      process.stdout.write(JSON.stringify({ tenant_id: tenant.id, data: keys.map(keyJson) }, null, 2) + '\n');
      return;
    }
    if (keys.length === 0) return void process.stderr.write(`tenant ${tenant.id} (${tenant.name}) has no keys\n`);
    process.stdout.write(table(
      ['id', 'name', 'workspace', 'priority', 'hint', 'created', 'revoked'],
      keys.map((k) => [k.id, k.name, k.workspaceId, k.priority ?? 'tier', k.hint, time(k.createdAt), time(k.revokedAt)]),
    ));
  });
}

const keyJson = (k: ApiKey) => ({
  id: k.id, tenant_id: k.tenantId, workspace_id: k.workspaceId, name: k.name, priority: k.priority, hint: k.hint,
  created_at: new Date(k.createdAt).toISOString(), revoked_at: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
});

export interface KeyIdOptions extends StoreFlags {
  keyId: string;
}

async function liveKey(store: Store, id: string): Promise<ApiKey> {
  const key = await store.getKey(id);
  if (key === null) throw new CliError(`no key ${id}; \`switchyard keys list --tenant T\` shows a tenant's keys`);
  return key;
}

/** `switchyard keys revoke KEY_ID`: idempotent; a revoked key keeps its first revocation time. */
export async function keysRevoke(opts: KeyIdOptions): Promise<void> {
  await withStore(opts, false, async (store) => {
    const key = await liveKey(store, opts.keyId);
    if (key.revokedAt !== null) return void process.stderr.write(`key ${key.id} was already revoked at ${time(key.revokedAt)}\n`);
    const r = await store.revokeKey(key.id, AUDIT);
    process.stderr.write(`key ${key.id} (${key.hint}) revoked at ${time(r?.revokedAt ?? null)}; running gateways refuse it within their key refresh (30 s)\n`);
  });
}

/**
 * `switchyard keys rotate KEY_ID`: a new key with the old one's tenant, workspace, name and
 * priority, printed once; the old key is revoked in the store now, with no grace period to ask
 * for, and running gateways refuse it at their next key refresh (30 s), as for `keys revoke`: the
 * CLI has no channel to them. The new key is made first, so a failure leaves the old one working.
 */
export async function keysRotate(opts: KeyIdOptions): Promise<void> {
  await withStore(opts, false, async (store) => {
    const old = await liveKey(store, opts.keyId);
    if (old.revokedAt !== null) throw new CliError(`key ${old.id} is revoked; create a new one with \`switchyard keys create --tenant ${old.tenantId}\``);
    const made = await store.createKey({ tenantId: old.tenantId, workspaceId: old.workspaceId, name: old.name, priority: old.priority }, AUDIT);
    if (!made.ok) throw new CliError(made.error.message);
    const fresh = made.value.key;
    await store.revokeKey(old.id, AUDIT);
    // one record ties the two together, beside the create and revoke records the store wrote
    await store.appendAudit({ actor: AUDIT.actor, action: 'key.rotate', target: old.id, tenantId: old.tenantId, before: { key_id: old.id }, after: { key_id: fresh.id } });
    process.stderr.write(`key ${old.id} revoked (running gateways refuse it within their key refresh, 30 s); its replacement ${fresh.id} (tenant ${fresh.tenantId}, workspace ${fresh.workspaceId}) is shown once:\n`);
    process.stdout.write(made.value.secret + '\n');
  });
}
