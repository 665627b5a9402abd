import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Store, UsageRecord } from '../../src/ledger/index.js';
import { ADMIN, adminRig, type AdminRig } from './admin-harness.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');

function record(tenantId: string, i: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: `req_${tenantId}_${String(i).padStart(4, '0')}`, startedAt: T0 + i * 1000, tenantId, workspaceId: 'wrk_a', keyId: 'key_a',
    tier: 'default', model: 'llama-3.1-8b', replica: 'r0', region: 'us-east', wire: 'anthropic', stream: false, status: 200, outcome: 'ok',
    inputTokens: 10, cachedInputTokens: 2, outputTokens: 5, ttftMs: null, latencyMs: 40, costUsd: 0.001, ...over,
  };
}

describe('the admin API', () => {
  let rig: AdminRig;
  beforeEach(async () => { rig = await adminRig(); });
  afterEach(async () => { await rig.close(); });

  async function tenant(body: unknown = { name: 'Acme' }): Promise<any> {
    const r = await rig.call('POST', '/admin/v1/tenants', { body });
    expect(r.status).toBe(201);
    return r.json;
  }

  describe('authentication', () => {
    it.each([
      ['no credentials at all', {}, /missing credentials/],
      ['a wrong admin token in x-admin-token', { 'x-admin-token': 'nope' }, /invalid admin token/],
      ['a Bearer that is neither the admin token nor a key', { authorization: 'Bearer nope' }, /invalid admin token or API key/],
      ['an unknown x-api-key', { 'x-api-key': 'sk-sy-unknown' }, /invalid admin token or API key/],
    ])('answers 401 in the Anthropic envelope for %s', async (_why, headers, message) => {
      const r = await rig.call('GET', '/admin/v1/tenants', { as: null, headers });
      expect(r.status).toBe(401);
      expect(r.json).toEqual({ type: 'error', error: { type: 'authentication_error', message: expect.stringMatching(message) }, request_id: null });
    });

    it('accepts the admin token as Bearer and as x-admin-token', async () => {
      expect((await rig.call('GET', '/admin/v1/tenants')).status).toBe(200);
      expect((await rig.call('GET', '/admin/v1/tenants', { as: null, headers: { 'x-admin-token': ADMIN } })).status).toBe(200);
    });

    it('with no admin token configured, refuses admin calls but serves a tenant key', async () => {
      const open = await adminRig({ adminToken: null });
      try {
        const t = await open.store.createTenant({ name: 'solo' });
        if (!t.ok) throw new Error('setup');
        const k = await open.store.createKey({ tenantId: t.value.tenant.id, name: 'k' });
        if (!k.ok) throw new Error('setup');
        expect((await open.call('GET', '/admin/v1/tenants', { as: null, headers: { 'x-admin-token': ADMIN } })).json.error.message).toMatch(/no admin token configured/);
        expect((await open.call('GET', '/admin/v1/tenants', { as: ADMIN })).status).toBe(401);
        expect((await open.call('POST', '/admin/v1/tenants', { as: '', body: { name: 'x' } })).status).toBe(401);
        const mine = await open.call('GET', '/admin/v1/tenants', { as: null, headers: { 'x-api-key': k.value.secret } });
        expect(mine.status).toBe(200);
        expect(mine.json.data.map((x: any) => x.id)).toEqual([t.value.tenant.id]);
      } finally {
        await open.close();
      }
    });
  });

  describe('tenants', () => {
    it('creates a tenant with snake_case fields and RFC 3339 times', async () => {
      const t = await tenant({ name: 'Acme', tier: 'gold', allowed_regions: ['eu-west', 'eu-west', 'eu-central'] });
      expect(t).toEqual({
        id: expect.stringMatching(/^ten_/), type: 'tenant', name: 'Acme', tier: 'gold',
        allowed_regions: ['eu-west', 'eu-central'], created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      });
      expect((await rig.call('GET', `/admin/v1/tenants/${t.id}`)).json).toEqual(t);
    });

    it('defaults the tier to default and the regions to any (null)', async () => {
      expect(await tenant()).toMatchObject({ tier: 'default', allowed_regions: null });
    });

    it.each([
      ['a missing name', {}, 'name: Field required'],
      ['an empty name', { name: '  ' }, 'name: tenant name must not be empty'],
      ['a name that is not a string', { name: 7 }, 'name: tenant name must be a string'],
      ['an unknown field', { name: 'a', allowed_region: ['x'] }, 'allowed_region: Extra inputs are not permitted'],
      ['an empty region list', { name: 'a', allowed_regions: [] }, 'allowed_regions: allowed_regions must name at least one region; use null to allow any region'],
      ['a tier with spaces', { name: 'a', tier: 'gold plus' }, 'tier: tier must be 1–64 letters'],
      ['a body that is an array', [], 'body: the request body must be a JSON object'],
      ['a body that is not JSON', '{"name":', 'the request body is not valid JSON'],
    ])('refuses %s with 400 and a message naming the field', async (_why, body, message) => {
      const r = await rig.call('POST', '/admin/v1/tenants', { body });
      expect(r.status).toBe(400);
      expect(r.json.error.type).toBe('invalid_request_error');
      expect(r.json.error.message).toContain(message);
    });

    it('answers 404 not_found_error for a tenant that does not exist', async () => {
      const r = await rig.call('GET', '/admin/v1/tenants/ten_missing');
      expect(r.status).toBe(404);
      expect(r.json).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'tenant ten_missing not found' }, request_id: null });
    });

    it('lists tenants in creation order, in pages', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await tenant({ name: `t${i}` })).id);
      const first = await rig.call('GET', '/admin/v1/tenants?limit=2');
      expect(first.json).toMatchObject({ has_more: true, first_id: ids[0], last_id: ids[1] });
      const rest = await rig.call('GET', `/admin/v1/tenants?limit=10&after_id=${first.json.last_id}`);
      expect(rest.json.data.map((t: any) => t.id)).toEqual(ids.slice(2));
      expect(rest.json.has_more).toBe(false);
      expect((await rig.call('GET', '/admin/v1/tenants?limit=0')).status).toBe(400);
    });
  });

  describe('workspaces', () => {
    it('lists the default workspace, adds one, and refuses a duplicate name with 409', async () => {
      const t = await tenant();
      const created = await rig.call('POST', `/admin/v1/tenants/${t.id}/workspaces`, { body: { name: 'research' } });
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ id: expect.stringMatching(/^wrk_/), type: 'workspace', tenant_id: t.id, name: 'research' });
      expect((await rig.call('POST', `/admin/v1/tenants/${t.id}/workspaces`, { body: { name: 'research' } })).status).toBe(409);
      const list = await rig.call('GET', `/admin/v1/tenants/${t.id}/workspaces`);
      expect(list.json.data.map((w: any) => w.name)).toEqual(['default', 'research']);
      expect((await rig.call('POST', '/admin/v1/tenants/ten_missing/workspaces', { body: { name: 'x' } })).status).toBe(404);
    });
  });

  describe('keys', () => {
    it('returns the secret once, never stored or listed, and the key works at once', async () => {
      const t = await tenant({ name: 'Acme', tier: 'gold' });
      const r = await rig.call('POST', `/admin/v1/tenants/${t.id}/keys`, { body: { name: 'ci' } });
      expect(r.status).toBe(201);
      expect(r.headers).toEqual({ 'cache-control': 'no-store' });
      const { secret, ...key } = r.json;
      expect(secret).toMatch(/^sk-sy-[A-Za-z0-9_-]{40}$/);
      expect(key).toEqual({
        id: expect.stringMatching(/^key_/), type: 'api_key', tenant_id: t.id, workspace_id: expect.stringMatching(/^wrk_/), name: 'ci',
        hint: `sk-sy-…${secret.slice(-4)}`, priority: null, created_at: expect.any(String), revoked_at: null,
      });
      const list = await rig.call('GET', `/admin/v1/tenants/${t.id}/keys`);
      expect(list.json.data).toEqual([key]);
      expect(list.raw).not.toContain(secret.slice(6));
      expect((await rig.call('GET', `/admin/v1/keys/${key.id}`)).json).toEqual(key);
      expect(rig.auth.authenticate(secret)).toMatchObject({ keyId: key.id, tenantId: t.id, tier: 'gold' });
    });

    it('places a key in a named workspace of the same tenant only', async () => {
      const a = await tenant({ name: 'a' });
      const b = await tenant({ name: 'b' });
      const ws = (await rig.call('POST', `/admin/v1/tenants/${a.id}/workspaces`, { body: { name: 'prod' } })).json;
      const ok = await rig.call('POST', `/admin/v1/tenants/${a.id}/keys`, { body: { name: 'p', workspace_id: ws.id } });
      expect(ok.json.workspace_id).toBe(ws.id);
      const listed = await rig.call('GET', `/admin/v1/tenants/${a.id}/keys?workspace_id=${ws.id}`);
      expect(listed.json.data.map((k: any) => k.id)).toEqual([ok.json.id]);
      const wrong = await rig.call('POST', `/admin/v1/tenants/${b.id}/keys`, { body: { name: 'p', workspace_id: ws.id } });
      expect(wrong.status).toBe(404);
      expect(wrong.json.error.message).toMatch(/workspace .* not found/);
    });

    it.each([
      ['POST', (id: string) => `/admin/v1/keys/${id}/revoke`],
      ['DELETE', (id: string) => `/admin/v1/keys/${id}`],
    ])('revokes with %s: the key fails at once and stays listed with revoked_at', async (method, path) => {
      const t = await tenant();
      const created = (await rig.call('POST', `/admin/v1/tenants/${t.id}/keys`, { body: { name: 'k' } })).json;
      expect(rig.auth.authenticate(created.secret)).not.toBeNull();
      const r = await rig.call(method, path(created.id));
      expect(r.status).toBe(200);
      expect(r.json.revoked_at).toEqual(expect.any(String));
      expect(await rig.auth.authenticate(created.secret)).toBeNull();
      expect((await rig.call('GET', `/admin/v1/tenants/${t.id}/keys`)).json.data[0].revoked_at).toBe(r.json.revoked_at);
      expect((await rig.call('GET', '/admin/v1/tenants', { as: created.secret })).status).toBe(401);
    });

    it('answers 404 when revoking a key that does not exist', async () => {
      expect((await rig.call('POST', '/admin/v1/keys/key_missing/revoke')).json.error).toEqual({ type: 'not_found_error', message: 'key key_missing not found' });
    });
  });

  describe('usage', () => {
    let store: Store;
    let id: string;
    beforeEach(async () => {
      store = rig.store;
      id = (await tenant()).id;
      await store.insertUsage(Array.from({ length: 5 }, (_, i) => record(id, i, i === 4 ? { outcome: 'timeout', status: 504, workspaceId: 'wrk_b' } : {})));
    });

    it('lists records newest first, snake_case, with RFC 3339 start times', async () => {
      const r = await rig.call('GET', `/admin/v1/tenants/${id}/usage`);
      expect(r.status).toBe(200);
      expect(r.json.data).toHaveLength(5);
      expect(r.json.data[0]).toEqual({
        request_id: `req_${id}_0004`, started_at: '2026-03-01T00:00:04.000Z', tenant_id: id, workspace_id: 'wrk_b', key_id: 'key_a',
        model: 'llama-3.1-8b', replica: 'r0', region: 'us-east', wire: 'anthropic', stream: false, status: 504, outcome: 'timeout',
        input_tokens: 10, cached_input_tokens: 2, output_tokens: 5, ttft_ms: null, latency_ms: 40, cost_usd: 0.001,
      });
      expect(r.json).toMatchObject({ has_more: false, next_page: null });
    });

    it('filters by since and workspace, and pages with next_page', async () => {
      const since = await rig.call('GET', `/admin/v1/tenants/${id}/usage?since=2026-03-01T00:00:03Z`);
      expect(since.json.data.map((x: any) => x.request_id)).toEqual([`req_${id}_0004`, `req_${id}_0003`]);
      const ws = await rig.call('GET', `/admin/v1/tenants/${id}/usage?workspace_id=wrk_b`);
      expect(ws.json.data).toHaveLength(1);
      const p1 = await rig.call('GET', `/admin/v1/tenants/${id}/usage?limit=3`);
      expect(p1.json.has_more).toBe(true);
      const p2 = await rig.call('GET', `/admin/v1/tenants/${id}/usage?limit=3&page=${p1.json.next_page}`);
      expect([...p1.json.data, ...p2.json.data].map((x: any) => x.request_id)).toEqual([4, 3, 2, 1, 0].map((i) => `req_${id}_000${i}`));
      expect(p2.json.has_more).toBe(false);
    });

    it.each([
      ['since=yesterday', /since: expected an RFC 3339 time/],
      ['limit=5000', /limit: expected an integer from 1 to 1000/],
      ['limit=2.5', /limit: expected an integer/],
      ['page=garbage', /page: not a cursor/],
    ])('refuses ?%s with 400', async (q, message) => {
      const r = await rig.call('GET', `/admin/v1/tenants/${id}/usage?${q}`);
      expect(r.status).toBe(400);
      expect(r.json.error.message).toMatch(message);
    });

    it('sums usage, by outcome and by model', async () => {
      const r = await rig.call('GET', `/admin/v1/tenants/${id}/usage/summary?since=2026-03-01T00:00:01Z`);
      expect(r.json).toMatchObject({
        type: 'usage_summary', tenant_id: id, workspace_id: null, since: '2026-03-01T00:00:01.000Z', before: null,
        requests: 4, input_tokens: 40, cached_input_tokens: 8, output_tokens: 20, by_outcome: { ok: 3, timeout: 1 },
        by_model: [{ model: 'llama-3.1-8b', requests: 4, input_tokens: 40 }],
      });
      expect(r.json.cost_usd).toBeCloseTo(0.004, 10);
    });
  });

  describe('routing', () => {
    it('answers 404 for a path it does not serve', async () => {
      const r = await rig.call('GET', '/admin/v1/nothing');
      expect(r.status).toBe(404);
      expect(r.json.error.type).toBe('not_found_error');
    });

    it('answers 405 with an allow header for a method a path does not take', async () => {
      const r = await rig.call('DELETE', '/admin/v1/tenants');
      expect(r.status).toBe(405);
      expect(r.headers).toEqual({ allow: 'GET, POST' });
      expect(r.json.error.message).toBe('DELETE is not allowed here; use GET or POST');
    });

    it('tolerates a trailing slash', async () => {
      expect((await rig.call('GET', '/admin/v1/tenants/')).status).toBe(200);
    });

    it('answers 500 api_error without detail when the store fails, and reports the error', async () => {
      rig.store.getTenant = async () => { throw new Error('disk on fire'); };
      const r = await rig.call('GET', '/admin/v1/tenants/ten_x');
      expect(r.status).toBe(500);
      expect(r.json.error.type).toBe('api_error');
      expect(r.raw).not.toContain('disk on fire');
      expect(rig.errors.map((e) => e.message)).toEqual(['disk on fire']);
    });
  });
});
