import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adminRig, type AdminRig } from './admin-harness.js';

// Changing tenants, workspaces and keys through the admin API: what a PATCH takes, what it refuses
// and why, and that the change reaches this process's authenticator at once.

const TIERS = ['default', 'free', 'gold'];
const REGIONS = ['us-east', 'eu-west'];

describe('changing things with the admin API', () => {
  let rig: AdminRig;
  beforeEach(async () => { rig = await adminRig({ tiers: TIERS, regions: REGIONS }); });
  afterEach(async () => { await rig.close(); });

  async function post(path: string, body: unknown): Promise<any> {
    const r = await rig.call('POST', path, { body });
    expect(r.status, r.raw).toBe(201);
    return r.json;
  }
  const tenant = (body: unknown = { name: 'Acme' }) => post('/admin/v1/tenants', body);
  const key = (tenantId: string, body: unknown = { name: 'k' }) => post(`/admin/v1/tenants/${tenantId}/keys`, body);
  const patch = (path: string, body: unknown) => rig.call('PATCH', path, { body });

  describe('tiers', () => {
    it('creates and changes tenants with a configured tier', async () => {
      const t = await tenant({ name: 'a', tier: 'gold' });
      expect(t.tier).toBe('gold');
      expect((await patch(`/admin/v1/tenants/${t.id}`, { tier: 'free' })).json.tier).toBe('free');
    });

    it.each([
      ['creating', () => rig.call('POST', '/admin/v1/tenants', { body: { name: 'a', tier: 'platinum' } })],
      ['changing', async () => patch(`/admin/v1/tenants/${(await tenant()).id}`, { tier: 'platinum' })],
    ])('refuses %s a tenant with a tier the config does not define, listing the ones it does', async (_what, call) => {
      const r = await call();
      expect(r.status).toBe(400);
      expect(r.json.error).toEqual({ type: 'invalid_request_error', message: "tier: unknown tier 'platinum'; the configured tiers are default, free, gold" });
    });

    it.each([
      ['creating', () => rig.call('POST', '/admin/v1/tenants', { body: { name: 'a', allowed_regions: ['us-east', 'mars'] } })],
      ['changing', async () => patch(`/admin/v1/tenants/${(await tenant()).id}`, { allowed_regions: ['mars'] })],
    ])('refuses %s a tenant allowed only regions the config does not define, naming the region and its place', async (what, call) => {
      // accepted, a typo would answer every request of the tenant with "no replica; try again shortly"
      const r = await call();
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe(`allowed_regions.${what === 'creating' ? 1 : 0}: unknown region 'mars'; the configured regions are us-east, eu-west`);
      expect((await rig.call('GET', '/admin/v1/tenants')).json.data.every((t: any) => t.allowed_regions === null)).toBe(true);
    });

    it('takes any well-formed tier when no tiers are configured', async () => {
      const open = await adminRig();
      try {
        expect((await open.call('POST', '/admin/v1/tenants', { body: { name: 'a', tier: 'platinum' } })).status).toBe(201);
      } finally {
        await open.close();
      }
    });
  });

  describe('PATCH /admin/v1/tenants/{id}', () => {
    it('changes the name, tier and regions given and leaves the rest', async () => {
      const t = await tenant({ name: 'Acme', allowed_regions: ['us-east'] });
      const r = await patch(`/admin/v1/tenants/${t.id}`, { name: 'Acme EU', allowed_regions: ['eu-west', 'eu-west'] });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ ...t, name: 'Acme EU', allowed_regions: ['eu-west'] });
      expect((await rig.call('GET', `/admin/v1/tenants/${t.id}`)).json).toEqual(r.json);
      expect((await patch(`/admin/v1/tenants/${t.id}`, { allowed_regions: null })).json.allowed_regions).toBeNull();
    });

    it('moves the tenant\'s keys to the new tier and regions at once', async () => {
      const t = await tenant();
      const k = await key(t.id);
      expect(rig.auth.authenticate(k.secret)).toMatchObject({ tier: 'default', allowedRegions: null });
      await patch(`/admin/v1/tenants/${t.id}`, { tier: 'gold', allowed_regions: ['eu-west'] });
      expect(rig.auth.authenticate(k.secret)).toMatchObject({ tier: 'gold', allowedRegions: ['eu-west'] });
    });

    it.each([
      ['an empty body', {}, 'body: nothing to change; send at least one of name, tier, allowed_regions'],
      ['an unknown field', { tier: 'gold', region: 'x' }, 'region: Extra inputs are not permitted'],
      ['an empty name', { name: ' ' }, 'name: tenant name must not be empty'],
      ['an empty region list', { allowed_regions: [] }, 'allowed_regions: allowed_regions must name at least one region; use null to allow any region'],
      ['a tier that is not a string', { tier: 5 }, 'tier: tier must be a string'],
    ])('refuses %s with 400 and a message naming the field', async (_why, body, message) => {
      const t = await tenant();
      const r = await patch(`/admin/v1/tenants/${t.id}`, body);
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe(message);
    });

    it('answers 404 for a tenant that does not exist', async () => {
      expect((await patch('/admin/v1/tenants/ten_missing', { name: 'x' })).json.error).toEqual({ type: 'not_found_error', message: 'tenant ten_missing not found' });
    });
  });

  describe('/admin/v1/workspaces/{id}', () => {
    it('shows a workspace with its spend limit, null by default', async () => {
      const t = await tenant();
      const [ws] = (await rig.call('GET', `/admin/v1/tenants/${t.id}/workspaces`)).json.data;
      expect(ws).toEqual({ id: expect.stringMatching(/^wrk_/), type: 'workspace', tenant_id: t.id, name: 'default', spend_limit_usd: null, created_at: expect.any(String) });
      expect((await rig.call('GET', `/admin/v1/workspaces/${ws.id}`)).json).toEqual(ws);
      expect((await rig.call('GET', '/admin/v1/workspaces/wrk_missing')).json.error).toEqual({ type: 'not_found_error', message: 'workspace wrk_missing not found' });
    });

    it('sets and clears a spend limit, and the workspace\'s keys carry it at once', async () => {
      const t = await tenant();
      const ws = await post(`/admin/v1/tenants/${t.id}/workspaces`, { name: 'research' });
      const k = await key(t.id, { name: 'k', workspace_id: ws.id });
      const other = await key(t.id);
      const r = await patch(`/admin/v1/workspaces/${ws.id}`, { spend_limit_usd: 120.5 });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ ...ws, spend_limit_usd: 120.5 });
      expect(rig.auth.authenticate(k.secret)).toMatchObject({ spendLimitUsd: 120.5 });
      expect(rig.auth.authenticate(other.secret)).toMatchObject({ spendLimitUsd: null }); // another workspace
      expect((await patch(`/admin/v1/workspaces/${ws.id}`, { spend_limit_usd: null })).json.spend_limit_usd).toBeNull();
      expect(rig.auth.authenticate(k.secret)).toMatchObject({ spendLimitUsd: null });
      expect((await patch(`/admin/v1/workspaces/${ws.id}`, { name: 'lab', spend_limit_usd: 0 })).json).toMatchObject({ name: 'lab', spend_limit_usd: 0 });
    });

    it.each([
      ['a negative limit', { spend_limit_usd: -1 }, 400, "spend_limit_usd: spend_limit_usd must be at least 0; use null for the tier's limit"],
      ['a limit that is not a number', { spend_limit_usd: '10' }, 400, "spend_limit_usd: spend_limit_usd must be a number of USD, or null for the tier's limit"],
      ['an empty body', {}, 400, 'body: nothing to change; send at least one of name, spend_limit_usd'],
      ['an unknown field', { limit: 5 }, 400, 'limit: Extra inputs are not permitted'],
      ['a name another workspace has', { name: 'taken' }, 409, "already has a workspace named 'taken'"],
    ])('refuses %s', async (_why, body, status, message) => {
      const t = await tenant();
      await post(`/admin/v1/tenants/${t.id}/workspaces`, { name: 'taken' });
      const ws = await post(`/admin/v1/tenants/${t.id}/workspaces`, { name: 'mine' });
      const r = await patch(`/admin/v1/workspaces/${ws.id}`, body);
      expect(r.status).toBe(status);
      expect(r.json.error.message).toContain(message);
    });

    it('refuses to rename the default workspace, where keys without a workspace go', async () => {
      const t = await tenant();
      const [ws] = (await rig.call('GET', `/admin/v1/tenants/${t.id}/workspaces`)).json.data;
      const r = await patch(`/admin/v1/workspaces/${ws.id}`, { name: 'main' });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toMatch(/default workspace and keeps the name 'default'/);
    });
  });

  describe('keys and their priority', () => {
    it('creates a key with a priority, shows it, and the key carries it at once', async () => {
      const t = await tenant();
      const k = await key(t.id, { name: 'nightly', priority: 'batch' });
      expect(k.priority).toBe('batch');
      expect((await rig.call('GET', `/admin/v1/keys/${k.id}`)).json.priority).toBe('batch');
      expect(rig.auth.authenticate(k.secret)).toMatchObject({ priority: 'batch' });
      expect((await key(t.id)).priority).toBeNull();
    });

    it('changes and clears a key\'s priority and name with PATCH', async () => {
      const t = await tenant();
      const { secret, ...k } = await key(t.id);
      const r = await patch(`/admin/v1/keys/${k.id}`, { priority: 'interactive', name: 'chat' });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ ...k, name: 'chat', priority: 'interactive' });
      expect(rig.auth.authenticate(secret)).toMatchObject({ priority: 'interactive' });
      expect((await patch(`/admin/v1/keys/${k.id}`, { priority: null })).json.priority).toBeNull();
      expect(rig.auth.authenticate(secret)).toMatchObject({ priority: null });
    });

    it('leaves a revoked key revoked, and refused, when its priority changes', async () => {
      const t = await tenant();
      const k = await key(t.id);
      await rig.call('POST', `/admin/v1/keys/${k.id}/revoke`);
      expect((await patch(`/admin/v1/keys/${k.id}`, { priority: 'batch' })).json.revoked_at).toEqual(expect.any(String));
      expect(await rig.auth.authenticate(k.secret)).toBeNull();
    });

    it.each([
      ['an unknown priority', 'PATCH', { priority: 'urgent' }, "priority: priority must be one of interactive, standard, batch, or null for the tier's default"],
      ['a priority that is not a string', 'PATCH', { priority: 1 }, "priority: priority must be one of interactive, standard, batch, or null for the tier's default"],
      ['an empty body', 'PATCH', {}, 'body: nothing to change; send at least one of name, priority'],
      ['a workspace move', 'PATCH', { workspace_id: 'wrk_x' }, 'workspace_id: Extra inputs are not permitted'],
      ['a new key with an unknown priority', 'POST', { priority: 'low' }, "priority: priority must be one of interactive, standard, batch, or null for the tier's default"],
    ])('refuses %s with 400', async (_why, method, body, message) => {
      const t = await tenant();
      const k = await key(t.id);
      const path = method === 'PATCH' ? `/admin/v1/keys/${k.id}` : `/admin/v1/tenants/${t.id}/keys`;
      const r = await rig.call(method, path, { body });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe(message);
    });

    it('answers 404 for a key that does not exist', async () => {
      expect((await patch('/admin/v1/keys/key_missing', { name: 'x' })).json.error).toEqual({ type: 'not_found_error', message: 'key key_missing not found' });
    });
  });

  describe('methods', () => {
    it.each([
      ['PUT', '/admin/v1/tenants/ten_x', 'GET, PATCH'],
      ['DELETE', '/admin/v1/workspaces/wrk_x', 'GET, PATCH'],
      ['PUT', '/admin/v1/keys/key_x', 'GET, PATCH, DELETE'],
      ['POST', '/admin/v1/audit', 'GET'],
    ])('answers %s %s with 405 and allow: %s', async (method, path, allow) => {
      const r = await rig.call(method, path, { body: {} });
      expect(r.status).toBe(405);
      expect(r.headers).toEqual({ allow });
    });
  });
});
