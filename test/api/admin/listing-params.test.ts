import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRig, type AdminRig } from '../admin-harness.js';

// The listings of the admin API (tenants, workspaces, keys, usage and its summary, the audit trail)
// take only their own query parameters, each once: a misspelt, unknown or repeated one is a 400
// naming it, as /spend and /traffic answer, never the default page (`sinse=` would otherwise answer
// for the whole history). `limit` is a plain decimal integer.

let rig: AdminRig;
let tenant: string;
let workspace: string;
let tenantKey: string;

beforeAll(async () => {
  rig = await adminRig();
  const t = await rig.call('POST', '/admin/v1/tenants', { body: { name: 'acme' } });
  tenant = t.json.id;
  workspace = (await rig.call('GET', `/admin/v1/tenants/${tenant}/workspaces`)).json.data[0].id;
  tenantKey = (await rig.call('POST', `/admin/v1/tenants/${tenant}/keys`, { body: {} })).json.secret;
});
afterAll(async () => { await rig.close(); });

const listings = () => ({
  usage: `/admin/v1/tenants/${tenant}/usage`,
  summary: `/admin/v1/tenants/${tenant}/usage/summary`,
  audit: '/admin/v1/audit',
  tenants: '/admin/v1/tenants',
  keys: `/admin/v1/tenants/${tenant}/keys`,
  workspaces: `/admin/v1/tenants/${tenant}/workspaces`,
});
type Listing = keyof ReturnType<typeof listings>;

async function refused(path: string, as?: string) {
  const r = await rig.call('GET', path, as === undefined ? {} : { as });
  expect(r.status, r.raw).toBe(400);
  expect(r.json.error.type).toBe('invalid_request_error');
  return r.json.error.message as string;
}

describe('a parameter a listing does not take is a 400 naming it', () => {
  it.each<[Listing, string, string]>([
    ['usage', 'limt=5', 'limt: not a parameter of this route; it takes since, before, limit, page, workspace_id'],
    ['usage', 'sinse=2026-03-01T00:00:00Z', 'sinse: not a parameter of this route'],
    ['summary', 'sinse=2026-03-01T00:00:00Z', 'sinse: not a parameter of this route; it takes since, before, workspace_id'],
    ['audit', 'limt=2', 'limt: not a parameter of this route; it takes since, before, limit, page, tenant_id, action, target'],
    ['audit', 'actor=cli', 'actor: not a parameter of this route'],
    ['tenants', 'afterid=ten_x', 'afterid: not a parameter of this route; it takes limit, after_id'],
    ['keys', 'workspace=wrk_x', 'workspace: not a parameter of this route; it takes workspace_id'],
    ['workspaces', 'limit=5', 'limit: not a parameter of this route; it takes none'],
  ])('%s ?%s', async (route, q, says) => {
    expect(await refused(`${listings()[route]}?${q}`)).toMatch(new RegExp('^' + says.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('says so to a tenant key on its own tenant too', async () => {
    expect(await refused(`${listings().usage}?limt=5`, tenantKey)).toMatch(/^limt: not a parameter/);
    expect(await refused('/admin/v1/audit?limt=5', tenantKey)).toMatch(/^limt: not a parameter/);
  });
});

describe('a parameter given twice is a 400 naming it, not the first one silently', () => {
  it.each<[Listing, string, string]>([
    ['usage', 'limit=2&limit=3', 'limit'],
    ['audit', 'limit=2&limit=3', 'limit'],
    ['audit', 'action=tenant.create&action=key.create', 'action'],
    ['summary', 'since=2026-03-01T00:00:00Z&since=2026-03-02T00:00:00Z', 'since'],
    ['tenants', 'limit=1&limit=1', 'limit'],
  ])('%s ?%s', async (route, q, name) => {
    expect(await refused(`${listings()[route]}?${q}`)).toBe(`${name}: given twice; give it once`);
  });
});

describe('limit is a plain decimal integer', () => {
  it.each<[Listing, string]>(
    (['usage', 'audit', 'tenants'] as const).flatMap((route) => ['1e2', '0x10', ' 5', '5 ', '+5', '5.0', '-1', '1001'].map((v): [Listing, string] => [route, v])),
  )('%s refuses limit=%j', async (route, v) => {
    expect(await refused(`${listings()[route]}?limit=${encodeURIComponent(v)}`)).toBe(`limit: expected an integer from 1 to 1000, got '${v}'`);
  });

  it('and still takes what it always took: digits, or nothing for the default', async () => {
    const { usage, audit, tenants } = listings();
    for (const path of [`${usage}?limit=1000`, `${audit}?limit=1`, `${audit}?limit=`, `${tenants}?limit=007`, `${usage}?workspace_id=${workspace}&since=2026-03-01T00:00:00Z`]) {
      const r = await rig.call('GET', path);
      expect(r.status, `${path}: ${r.raw}`).toBe(200);
    }
    const one = await rig.call('GET', `${audit}?tenant_id=${tenant}&action=tenant.create&limit=1`);
    expect(one.json.data.map((a: any) => a.action)).toEqual(['tenant.create']);
  });
});
