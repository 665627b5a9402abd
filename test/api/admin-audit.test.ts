import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN, adminRig, type AdminRig } from './admin-harness.js';

// The audit trail through the admin API: every change made with the admin token is recorded, with
// who made it; GET /admin/v1/audit reads it back, the admin token all of it, a tenant key its own.

const T0 = Date.parse('2026-03-01T00:00:00Z');

describe('the audit trail on the admin API', () => {
  let rig: AdminRig;
  let clock: number;
  beforeEach(async () => {
    clock = T0;
    rig = await adminRig({ now: () => clock });
  });
  afterEach(async () => { await rig.close(); });

  async function call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
    clock += 1000;
    const r = await rig.call(method, path, { body, headers });
    expect(r.status, r.raw).toBeLessThan(300);
    return r.json;
  }
  const audit = async (q = '', as?: string | null, headers?: Record<string, string>) => {
    const r = await rig.call('GET', `/admin/v1/audit${q}`, { as, headers });
    expect(r.status, r.raw).toBe(200);
    return r.json;
  };

  it('records every change with the actor `admin`, the row before and after, newest first', async () => {
    const t = await call('POST', '/admin/v1/tenants', { name: 'Acme' });
    const ws = await call('POST', `/admin/v1/tenants/${t.id}/workspaces`, { name: 'research' });
    const { secret, ...k } = await call('POST', `/admin/v1/tenants/${t.id}/keys`, { name: 'ci', workspace_id: ws.id });
    const t2 = await call('PATCH', `/admin/v1/tenants/${t.id}`, { name: 'Acme Inc' });
    const ws2 = await call('PATCH', `/admin/v1/workspaces/${ws.id}`, { spend_limit_usd: 50 });
    const k2 = await call('PATCH', `/admin/v1/keys/${k.id}`, { priority: 'batch' });
    const k3 = await call('POST', `/admin/v1/keys/${k.id}/revoke`);
    const r = await audit(`?tenant_id=${t.id}`);
    expect(r).toMatchObject({ has_more: false, next_page: null });
    expect(r.data.map((a: any) => [a.action, a.target, a.before, a.after])).toEqual([
      ['key.revoke', k.id, k2, k3],
      ['key.update', k.id, k, k2],
      ['workspace.update', ws.id, ws, ws2],
      ['tenant.update', t.id, t, t2],
      ['key.create', k.id, null, k],
      ['workspace.create', ws.id, null, ws],
      ['workspace.create', expect.stringMatching(/^wrk_/), null, expect.objectContaining({ name: 'default' })],
      ['tenant.create', t.id, null, t],
    ]);
    expect(r.data[0]).toEqual({
      id: expect.stringMatching(/^aud_/), at: new Date(clock).toISOString(), actor: 'admin', action: 'key.revoke', target: k.id,
      tenant_id: t.id, request_id: null, reason: null, before: k2, after: k3,
    });
    const raw = (await rig.call('GET', '/admin/v1/audit')).raw;
    for (const leak of [secret.slice(6), (await rig.store.getKey(k.id))!.hash, '"hash"']) expect(raw).not.toContain(leak);
  });

  it('names the person or tool from x-switchyard-actor, trimmed', async () => {
    const t = await call('POST', '/admin/v1/tenants', { name: 'a' }, { 'x-switchyard-actor': '  alice@example.com ' });
    await call('PATCH', `/admin/v1/tenants/${t.id}`, { name: 'b' }, { 'x-switchyard-actor': '' });
    expect((await audit(`?tenant_id=${t.id}`)).data.map((a: any) => a.actor)).toEqual(['admin', 'admin:alice@example.com', 'admin:alice@example.com']);
  });

  it('refuses an actor longer than 200 characters, changing nothing', async () => {
    const r = await rig.call('POST', '/admin/v1/tenants', { body: { name: 'a' }, headers: { 'x-switchyard-actor': 'x'.repeat(201) } });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('x-switchyard-actor: at most 200 characters, got 201');
    expect(await rig.store.listTenants()).toEqual([]);
    expect((await audit()).data).toEqual([]);
  });

  it('records nothing for a change that is refused', async () => {
    const t = await call('POST', '/admin/v1/tenants', { name: 'a' });
    expect((await rig.call('POST', `/admin/v1/tenants/${t.id}/workspaces`, { body: { name: 'default' } })).status).toBe(409);
    expect((await rig.call('PATCH', `/admin/v1/tenants/${t.id}`, { body: { name: '' } })).status).toBe(400);
    expect((await rig.call('PATCH', '/admin/v1/keys/key_missing', { body: { name: 'x' } })).status).toBe(404);
    expect((await audit()).data.map((a: any) => a.action)).toEqual(['workspace.create', 'tenant.create']);
  });

  it('filters by action, target and time, and pages with next_page', async () => {
    const t = await call('POST', '/admin/v1/tenants', { name: 'a' });
    for (let i = 0; i < 4; i++) await call('PATCH', `/admin/v1/tenants/${t.id}`, { name: `a${i}` });
    expect((await audit('?action=tenant.update')).data).toHaveLength(4);
    expect((await audit(`?target=${t.id}`)).data).toHaveLength(5);
    const since = new Date(T0 + 3000).toISOString();
    expect((await audit(`?action=tenant.update&since=${since}`)).data.map((a: any) => a.after.name)).toEqual(['a3', 'a2', 'a1']);
    expect((await audit(`?action=tenant.update&before=${since}`)).data.map((a: any) => a.after.name)).toEqual(['a0']);
    const p1 = await audit('?action=tenant.update&limit=3');
    expect(p1.has_more).toBe(true);
    const p2 = await audit(`?action=tenant.update&limit=3&page=${p1.next_page}`);
    expect([...p1.data, ...p2.data].map((a: any) => a.after.name)).toEqual(['a3', 'a2', 'a1', 'a0']);
    expect(p2).toMatchObject({ has_more: false, next_page: null });
  });

  it.each([
    ['since=yesterday', /since: expected an RFC 3339 time/],
    ['limit=0', /limit: expected an integer from 1 to 1000/],
    ['page=garbage', /page: not a cursor/],
  ])('refuses ?%s with 400', async (q, message) => {
    const r = await rig.call('GET', `/admin/v1/audit?${q}`);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  });

  it('shows changes recorded elsewhere (the fleet) as they were written', async () => {
    const rec = await rig.store.appendAudit({ actor: 'admin:bob', action: 'fleet.replica.drain', target: 'us-east/m/0', after: { draining: true } });
    expect(rec.ok).toBe(true);
    expect((await audit('?action=fleet.replica.drain')).data).toEqual([{
      id: expect.stringMatching(/^aud_/), at: new Date(clock).toISOString(), actor: 'admin:bob', action: 'fleet.replica.drain', target: 'us-east/m/0',
      tenant_id: null, request_id: null, reason: null, before: null, after: { draining: true },
    }]);
  });

  it('shows a key rotation (two key ids, not a key row) as written, and the rest of the trail beside it', async () => {
    // `switchyard keys rotate` writes this shape; read as a key row it once made every listing a 500
    const t = await call('POST', '/admin/v1/tenants', { name: 'Acme' });
    const { secret: _, ...k } = await call('POST', `/admin/v1/tenants/${t.id}/keys`, {});
    const rec = await rig.store.appendAudit({ actor: 'cli', action: 'key.rotate', target: k.id, tenantId: t.id, before: { key_id: k.id }, after: { key_id: 'key_new' } });
    expect(rec.ok).toBe(true);
    const all = await audit();
    expect(all.data.map((a: any) => [a.action, a.before, a.after]).slice(0, 2)).toEqual([
      ['key.rotate', { key_id: k.id }, { key_id: 'key_new' }],
      ['key.create', null, k],
    ]);
    expect((await audit('?action=key.rotate')).data).toHaveLength(1);
  });

  it('tells the gateway who is acting, for the changes it records itself', () => {
    expect(rig.api.actor({})).toBe('admin');
    expect(rig.api.actor({ 'x-switchyard-actor': 'carol' })).toBe('admin:carol');
    expect(rig.api.actor({ 'x-switchyard-actor': 'x'.repeat(300) })).toMatchObject({ status: 400 });
  });

  describe('read with a tenant key', () => {
    let mine: { id: string; secret: string };
    let theirs: string;
    beforeEach(async () => {
      const a = await call('POST', '/admin/v1/tenants', { name: 'mine' });
      const k = await call('POST', `/admin/v1/tenants/${a.id}/keys`, { name: 'k' });
      theirs = (await call('POST', '/admin/v1/tenants', { name: 'theirs' })).id;
      await call('PATCH', `/admin/v1/tenants/${theirs}`, { name: 'theirs 2' });
      await rig.store.appendAudit({ actor: 'admin', action: 'fleet.replica.add', target: 'r' });
      mine = { id: a.id, secret: k.secret };
    });
    const asMe = (q = '') => audit(q, null, { 'x-api-key': mine.secret });

    it('sees its own tenant\'s records and no one else\'s, nor the fleet\'s', async () => {
      const r = await asMe();
      expect(r.data.map((a: any) => a.action)).toEqual(['key.create', 'workspace.create', 'tenant.create']);
      expect(r.data.every((a: any) => a.tenant_id === mine.id)).toBe(true);
      expect((await asMe(`?tenant_id=${mine.id}`)).data).toHaveLength(3);
    });

    it('finds nothing when it names another tenant, exactly as for a tenant with no records', async () => {
      const other = await asMe(`?tenant_id=${theirs}`);
      const missing = await asMe('?tenant_id=ten_doesnotexist');
      expect(other).toEqual({ data: [], has_more: false, next_page: null });
      expect(missing).toEqual(other);
    });

    it('sees every tenant\'s records and the fleet\'s with the admin token', async () => {
      expect((await audit()).data.map((a: any) => a.action)).toEqual([
        'fleet.replica.add', 'tenant.update', 'workspace.create', 'tenant.create', 'key.create', 'workspace.create', 'tenant.create',
      ]);
      expect((await audit(`?tenant_id=${theirs}`, ADMIN)).data).toHaveLength(3);
    });
  });
});
