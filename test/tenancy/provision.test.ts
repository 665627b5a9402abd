import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hashSecret, openStore, type Store } from '../../src/ledger/index.js';
import { createKeyFor } from '../../src/tenancy/index.js';

describe('creating a key by hand (switchyard keys create)', () => {
  let store: Store;
  beforeEach(async () => { store = await openStore('sqlite::memory:'); });
  afterEach(async () => { await store.close(); });

  it('creates the tenant when the name is new, and puts the key in its default workspace', async () => {
    const k = await createKeyFor(store, { tenant: 'acme' });
    expect(k).toMatchObject({ tenantCreated: true, workspaceCreated: false, secret: expect.stringMatching(/^sk-sy-/) });
    expect((await store.getTenant(k.tenantId))?.name).toBe('acme');
    expect((await store.getWorkspace(k.workspaceId))?.name).toBe('default');
    expect((await store.findKeyByHash(hashSecret(k.secret)))?.key.id).toBe(k.keyId);
  });

  it('gives the key the priority asked for, or leaves it to the tier', async () => {
    const batch = await createKeyFor(store, { tenant: 'acme', priority: 'batch' });
    const plain = await createKeyFor(store, { tenant: 'acme' });
    expect((await store.findKeyByHash(hashSecret(batch.secret)))?.priority).toBe('batch');
    expect((await store.findKeyByHash(hashSecret(plain.secret)))?.priority).toBeNull();
  });

  it('reuses a tenant named by name or by id', async () => {
    const first = await createKeyFor(store, { tenant: 'acme' });
    const byName = await createKeyFor(store, { tenant: 'acme', name: 'second' });
    const byId = await createKeyFor(store, { tenant: first.tenantId });
    expect([byName.tenantId, byId.tenantId]).toEqual([first.tenantId, first.tenantId]);
    expect(byName.tenantCreated || byId.tenantCreated).toBe(false);
    expect(await store.listKeys(first.tenantId)).toHaveLength(3);
  });

  it('creates a workspace named for the first time, and reuses it by name or id', async () => {
    const a = await createKeyFor(store, { tenant: 'acme', workspace: 'prod' });
    expect(a.workspaceCreated).toBe(true);
    const b = await createKeyFor(store, { tenant: 'acme', workspace: 'prod' });
    const c = await createKeyFor(store, { tenant: 'acme', workspace: a.workspaceId });
    expect([b.workspaceId, c.workspaceId]).toEqual([a.workspaceId, a.workspaceId]);
  });

  it('refuses an id that does not exist rather than creating something named like an id', async () => {
    await expect(createKeyFor(store, { tenant: 'ten_nope' })).rejects.toThrow('tenant ten_nope not found');
    await createKeyFor(store, { tenant: 'acme' });
    await expect(createKeyFor(store, { tenant: 'acme', workspace: 'wrk_nope' })).rejects.toThrow(/workspace wrk_nope not found/);
  });

  it('creates no tenant when the workspace it names by id does not exist', async () => {
    await expect(createKeyFor(store, { tenant: 'newco', workspace: 'wrk_nope' })).rejects.toThrow(/workspace wrk_nope not found/);
    expect(await store.findTenantsByName('newco')).toEqual([]);
  });

  it('enters what it creates in the audit trail as the cli, or the actor it is given', async () => {
    const k = await createKeyFor(store, { tenant: 'acme', workspace: 'prod' });
    const recs = await store.listAudit({ tenantId: k.tenantId });
    expect(recs.map((r) => [r.actor, r.action, r.target]).reverse()).toEqual([
      ['cli', 'tenant.create', k.tenantId], ['cli', 'workspace.create', expect.stringMatching(/^wrk_/)],
      ['cli', 'workspace.create', k.workspaceId], ['cli', 'key.create', k.keyId],
    ]);
    const again = await createKeyFor(store, { tenant: 'acme', actor: 'ops-bot' });
    expect((await store.listAudit({ target: again.keyId }))[0].actor).toBe('ops-bot');
  });

  it('refuses a name two tenants share, listing their ids', async () => {
    await store.createTenant({ name: 'twin' });
    await store.createTenant({ name: 'twin' });
    await expect(createKeyFor(store, { tenant: 'twin' })).rejects.toThrow(/2 tenants are named 'twin'.*by its id/);
  });
});
