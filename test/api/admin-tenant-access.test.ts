import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRig, type AdminRig } from './admin-harness.js';

// A tenant's own key reads its own tenant and nothing else; another tenant's ids answer exactly as
// missing ones do, so a key cannot learn which ids exist.

describe('a tenant key on the admin API', () => {
  let rig: AdminRig;
  let mine: { tenant: string; workspace: string; key: string; keyId: string };
  let theirs: { tenant: string; workspace: string; keyId: string };

  async function setup(name: string) {
    const t = await rig.store.createTenant({ name });
    if (!t.ok) throw new Error(t.error.message);
    const k = await rig.store.createKey({ tenantId: t.value.tenant.id, name: 'k' });
    if (!k.ok) throw new Error(k.error.message);
    await rig.store.insertUsage([{
      requestId: `req_${name}`, startedAt: 1_760_000_000_000, tenantId: t.value.tenant.id, workspaceId: t.value.workspace.id,
      keyId: k.value.key.id, tier: 'default', model: 'm', replica: null, region: null, wire: 'openai', stream: false, status: 200, outcome: 'ok',
      inputTokens: 1, cachedInputTokens: 0, outputTokens: 1, ttftMs: null, latencyMs: 1, costUsd: 0,
    }]);
    return { tenant: t.value.tenant.id, workspace: t.value.workspace.id, key: k.value.secret, keyId: k.value.key.id };
  }

  beforeAll(async () => {
    rig = await adminRig();
    mine = await setup('mine');
    theirs = await setup('theirs');
  });
  afterAll(async () => { await rig.close(); });

  const asMe = (method: string, path: string, body?: unknown) => rig.call(method, path, { as: null, headers: { 'x-api-key': mine.key }, body });

  it('sees only its own tenant in the list', async () => {
    const r = await asMe('GET', '/admin/v1/tenants');
    expect(r.status).toBe(200);
    expect(r.json.data.map((t: any) => t.id)).toEqual([mine.tenant]);
  });

  it('reads its own tenant, workspaces, keys and usage', async () => {
    expect((await asMe('GET', `/admin/v1/tenants/${mine.tenant}`)).json.id).toBe(mine.tenant);
    expect((await asMe('GET', `/admin/v1/tenants/${mine.tenant}/workspaces`)).json.data).toHaveLength(1);
    const keys = await asMe('GET', `/admin/v1/tenants/${mine.tenant}/keys`);
    expect(keys.json.data.map((k: any) => k.id)).toEqual([mine.keyId]);
    expect(keys.raw).not.toContain(mine.key.slice(6));
    expect((await asMe('GET', `/admin/v1/keys/${mine.keyId}`)).status).toBe(200);
    expect((await asMe('GET', `/admin/v1/tenants/${mine.tenant}/usage`)).json.data.map((u: any) => u.request_id)).toEqual(['req_mine']);
    expect((await asMe('GET', `/admin/v1/tenants/${mine.tenant}/usage/summary`)).json.requests).toBe(1);
  });

  it('also authenticates with Authorization: Bearer', async () => {
    expect((await rig.call('GET', `/admin/v1/tenants/${mine.tenant}`, { as: mine.key })).status).toBe(200);
  });

  it.each([
    ['the tenant', (id: string) => `/admin/v1/tenants/${id}`],
    ['its workspaces', (id: string) => `/admin/v1/tenants/${id}/workspaces`],
    ['its keys', (id: string) => `/admin/v1/tenants/${id}/keys`],
    ['its usage', (id: string) => `/admin/v1/tenants/${id}/usage`],
    ['its usage summary', (id: string) => `/admin/v1/tenants/${id}/usage/summary`],
  ])('gets for another tenant\'s %s exactly the 404 a missing tenant gets', async (_what, path) => {
    const other = await asMe('GET', path(theirs.tenant));
    const missing = await asMe('GET', path('ten_doesnotexist'));
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(other.raw.replace(theirs.tenant, 'ID')).toBe(missing.raw.replace('ten_doesnotexist', 'ID'));
  });

  it('reads its own workspace, and for another tenant\'s gets exactly the 404 a missing one gets', async () => {
    expect((await asMe('GET', `/admin/v1/workspaces/${mine.workspace}`)).json).toMatchObject({ id: mine.workspace, tenant_id: mine.tenant });
    const other = await asMe('GET', `/admin/v1/workspaces/${theirs.workspace}`);
    const missing = await asMe('GET', '/admin/v1/workspaces/wrk_doesnotexist');
    expect(other.status).toBe(404);
    expect(other.raw.replace(theirs.workspace, 'ID')).toBe(missing.raw.replace('wrk_doesnotexist', 'ID'));
  });

  it('gets for another tenant\'s key exactly the 404 a missing key gets', async () => {
    const other = await asMe('GET', `/admin/v1/keys/${theirs.keyId}`);
    const missing = await asMe('GET', '/admin/v1/keys/key_doesnotexist');
    expect(other.status).toBe(404);
    expect(other.raw.replace(theirs.keyId, 'ID')).toBe(missing.raw.replace('key_doesnotexist', 'ID'));
  });

  it.each([
    ['create a tenant', 'POST', () => '/admin/v1/tenants', { name: 'x' }],
    ['add a workspace to its own tenant', 'POST', () => `/admin/v1/tenants/${mine.tenant}/workspaces`, { name: 'x' }],
    ['create a key in its own tenant', 'POST', () => `/admin/v1/tenants/${mine.tenant}/keys`, { name: 'x' }],
    ['create a key in another tenant', 'POST', () => `/admin/v1/tenants/${theirs.tenant}/keys`, { name: 'x' }],
    ['create a key in a missing tenant', 'POST', () => '/admin/v1/tenants/ten_doesnotexist/keys', { name: 'x' }],
    ['revoke its own key', 'POST', () => `/admin/v1/keys/${mine.keyId}/revoke`, undefined],
    ['revoke another tenant\'s key', 'POST', () => `/admin/v1/keys/${theirs.keyId}/revoke`, undefined],
    ['delete its own key', 'DELETE', () => `/admin/v1/keys/${mine.keyId}`, undefined],
    ['change its own tenant', 'PATCH', () => `/admin/v1/tenants/${mine.tenant}`, { tier: 'gold' }],
    ['change its own workspace', 'PATCH', () => `/admin/v1/workspaces/${mine.workspace}`, { spend_limit_usd: null }],
    ['change its own key', 'PATCH', () => `/admin/v1/keys/${mine.keyId}`, { priority: 'interactive' }],
    ['change another tenant\'s key', 'PATCH', () => `/admin/v1/keys/${theirs.keyId}`, { priority: 'interactive' }],
  ])('is refused with the same 403 when it tries to %s', async (_what, method, path, body) => {
    const r = await asMe(method, path(), body);
    expect(r.status).toBe(403);
    expect(r.json).toEqual({ type: 'error', error: { type: 'permission_error', message: expect.stringMatching(/read-only/) }, request_id: null });
  });

  it('changed nothing by those attempts', async () => {
    expect((await rig.store.getKey(mine.keyId))?.revokedAt).toBeNull();
    expect((await rig.store.getKey(theirs.keyId))?.revokedAt).toBeNull();
    expect((await rig.store.getKey(mine.keyId))?.priority).toBeNull();
    expect((await rig.store.getTenant(mine.tenant))?.tier).toBe('default');
    expect(await rig.store.listTenants()).toHaveLength(2);
    expect(await rig.store.listAudit({})).toEqual([]);
  });
});
