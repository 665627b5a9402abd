import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from '../gateway/support.js';

// The admin API in the real gateway on a real socket, against inputs that crashed or corrupted it.

const KEY = 'sk-sy-admin-armour-test-key-00000000000000';
const ADMIN = 'armour-admin-token';
const MODEL = 'llama-3.1-8b';

let p: Platform;
const logLines: Array<Record<string, any>> = [];

beforeAll(async () => {
  const sink = new Writable({ write(chunk, _enc, done) { logLines.push(JSON.parse(String(chunk))); done(); } });
  p = await scriptedPlatform({ key: KEY, adminToken: ADMIN, log: pino({ level: 'info' }, sink), replica: (_q, s) => void s.end(), replicaId: 'r1' });
});

afterAll(async () => {
  await p?.close();
});

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; requestId: string | null }> {
  const res = await fetch(`${p.url}${path}`, {
    method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json(), requestId: res.headers.get('request-id') };
}

const fleetIds = async () => (await call('GET', '/admin/v1/fleet')).json.data.map((r: any) => r.id);
const healthy = async () => (await fetch(`${p.url}/healthz`)).status;

describe('a fleet replica id in the path', () => {
  it.each([
    ['GET', '/admin/v1/fleet/replicas/%E0%A4%A'],
    ['POST', '/admin/v1/fleet/replicas/%E0%A4%A/drain'],
    ['DELETE', '/admin/v1/fleet/replicas/%'],
  ])('#11 – with a malformed %%-escape (%s %s) is a 400, and the gateway keeps serving', async (method, path) => {
    const r = await call(method, path);
    expect(r.status).toBe(400);
    expect(r.json.error).toMatchObject({ type: 'invalid_request_error', message: expect.stringContaining('not valid percent-encoding') });
    expect(await healthy()).toBe(200);
    expect(await fleetIds()).toEqual(['r1']);
  });

  it.each(['/admin/v1/fleet?limit=1', '/admin/v1/fleet/replicas/r1?x=1'])('takes no query parameter: %s is a 400 naming it', async (path) => {
    const r = await call('GET', path);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/^(limit|x): not a parameter of this route; it takes none$/);
  });

  it('decoded, finds a replica whose id holds a slash', async () => {
    expect((await call('POST', '/admin/v1/fleet/replicas', { id: 'us-east/x/0', model: MODEL, region: 'us-east', url: 'http://127.0.0.1:9' })).status).toBe(201);
    expect((await call('GET', `/admin/v1/fleet/replicas/${encodeURIComponent('us-east/x/0')}`)).json.id).toBe('us-east/x/0');
    expect((await call('DELETE', `/admin/v1/fleet/replicas/${encodeURIComponent('us-east/x/0')}`)).status).toBe(200);
    expect(await fleetIds()).toEqual(['r1']);
  });
});

describe('adding a fleet replica', () => {
  const base = { model: MODEL, region: 'us-east' };

  it('#11 – without an id gets the lowest free REGION/MODEL/N, even where ids are numbered across regions', async () => {
    // a replica already holds the name a count of this region's replicas would mint
    expect((await call('POST', '/admin/v1/fleet/replicas', { ...base, region: 'eu-west', id: 'eu-west/llama-3.1-8b/0', url: 'http://127.0.0.1:9' })).status).toBe(201);
    const a = await call('POST', '/admin/v1/fleet/replicas', { ...base, region: 'eu-west', url: 'http://127.0.0.1:9' });
    const b = await call('POST', '/admin/v1/fleet/replicas', { ...base, region: 'eu-west', url: 'http://127.0.0.1:9' });
    expect([a.status, b.status]).toEqual([201, 201]);
    expect([a.json.id, b.json.id]).toEqual(['eu-west/llama-3.1-8b/1', 'eu-west/llama-3.1-8b/2']);
    for (const id of ['eu-west/llama-3.1-8b/0', a.json.id, b.json.id]) {
      expect((await call('DELETE', `/admin/v1/fleet/replicas/${encodeURIComponent(id)}`)).status).toBe(200);
    }
    expect(await fleetIds()).toEqual(['r1']);
  });

  it.each(['mailto:x@y', 'file:///etc/passwd', 'data:text/plain,hi', 'javascript:alert(1)', 'http://', 'ftp://host/'])(
    '#11 – refuses the URL %s, which has no origin to dial, with a 400 before anything is added',
    async (url) => {
      const r = await call('POST', '/admin/v1/fleet/replicas', { ...base, id: 'bad', url });
      expect(r.status).toBe(400);
      expect(r.json.error.message).toBe('url: must be an http:// or https:// URL with a host, such as http://10.0.0.1:8000/v1');
      // nothing half-added: not in the fleet, not in the audit trail, and the gateway still serves
      expect(await fleetIds()).toEqual(['r1']);
      expect(await p.store.listAudit({ action: 'fleet.replica.add', target: 'bad' })).toEqual([]);
      expect(await healthy()).toBe(200);
    },
  );

  it.each([
    { why: 'an unknown field, named', body: { ...base, url: 'http://h:1', servedModel: 'm' }, says: 'servedModel: Extra inputs are not permitted' },
    { why: 'a missing field', body: { model: MODEL, url: 'http://h:1' }, says: 'region: Field required' },
    { why: 'a field of the wrong type', body: { ...base, model: 5, url: 'http://h:1' }, says: 'model: model must be a string' },
    { why: 'a protocol nobody speaks', body: { ...base, url: 'http://h:1', protocol: 'grpc' }, says: 'protocol: protocol must be openai or anthropic' },
    { why: 'an id with control characters', body: { ...base, url: 'http://h:1', id: 'a\nb' }, says: 'id: id must not contain control characters' },
    { why: 'an id too long', body: { ...base, url: 'http://h:1', id: 'x'.repeat(201) }, says: 'id: id must be at most 200 characters' },
    { why: 'a URL too long', body: { ...base, url: `http://h:1/${'x'.repeat(2048)}` }, says: 'url: url must be at most 2048 characters' },
    // GET /fleet shows the URL and the audit trail keeps it: a password in it would be published
    { why: 'a URL with a user and password', body: { ...base, url: 'http://ops:s3cret@h:1/v1' }, says: 'url: must not carry a user or password; give the replica\'s key as apiKey (api_key in the admin API)' },
    { why: 'a body that is not an object', body: '[1,2]', says: 'the body must be a JSON object' },
    { why: 'a body that is not JSON', body: '{', says: 'the body must be JSON' },
  ])('refuses $why with a 400 saying so', async ({ body, says }) => {
    const r = await call('POST', '/admin/v1/fleet/replicas', body);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toContain(says);
    expect(await fleetIds()).toEqual(['r1']);
  });
});

describe('routes that act on their path alone', () => {
  it.each([
    ['POST', '/admin/v1/fleet/replicas/r1/drain'],
    ['POST', '/admin/v1/fleet/replicas/r1/readmit'],
    ['DELETE', '/admin/v1/fleet/replicas/r1'],
  ])('refuse a body on %s %s (a field there would be silently ignored), and change nothing', async (method, path) => {
    const r = await call(method, path, { force: true });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('this route takes no body; send none, or {}');
    expect((await call('GET', '/admin/v1/fleet/replicas/r1')).json).toMatchObject({ draining: false, state: expect.any(String) });
  });

  it('take an empty body or {} as no body', async () => {
    expect((await call('POST', '/admin/v1/fleet/replicas/r1/drain', {})).status).toBe(200);
    expect((await call('POST', '/admin/v1/fleet/replicas/r1/undrain')).status).toBe(200);
  });

  it('refuse a body on a key revocation, and leave the key working', async () => {
    const t = await call('POST', '/admin/v1/tenants', { name: 'armour' });
    const k = await call('POST', `/admin/v1/tenants/${t.json.id}/keys`, {});
    const r = await call('POST', `/admin/v1/keys/${k.json.id}/revoke`, { reason: 'x' });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('reason: Extra inputs are not permitted');
    expect((await call('GET', `/admin/v1/keys/${k.json.id}`)).json.revoked_at).toBeNull();
    expect((await call('DELETE', `/admin/v1/keys/${k.json.id}`, {})).json.revoked_at).not.toBeNull();
  });
});

describe('an admin id in the path', () => {
  it('#11 – with a malformed %-escape is a 404 like any unknown route, and the gateway keeps serving', async () => {
    const r = await call('GET', '/admin/v1/tenants/%E0%A4%A');
    expect(r.status).toBe(404);
    expect(r.json.error.type).toBe('not_found_error');
    expect(await healthy()).toBe(200);
  });
});

describe('an admin request that fails inside the gateway', () => {
  it('#11 – answers 500 naming its request id, and logs the stack under that id', async () => {
    const getTenant = p.store.getTenant;
    p.store.getTenant = async () => { throw new Error('disk on fire'); };
    try {
      const r = await call('GET', '/admin/v1/tenants/ten_x');
      expect(r.status).toBe(500);
      expect(r.json).toMatchObject({ type: 'error', error: { type: 'api_error' }, request_id: r.requestId });
      expect(r.json.error.message).toContain(`request id ${r.requestId}`);
      expect(JSON.stringify(r.json)).not.toContain('disk on fire');
      const line = logLines.find((l) => l.requestId === r.requestId);
      expect(line?.msg).toBe('admin request failed');
      expect(line?.err.stack).toContain('disk on fire');
    } finally {
      p.store.getTenant = getTenant;
    }
    expect((await call('GET', '/admin/v1/tenants')).status).toBe(200);
  });
});
