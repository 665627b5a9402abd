import { describe, expect, it } from 'vitest';
import { fleetAdmin, type FleetAdminDeps, type ReplicaBackend } from '../../../src/api/admin/fleet.js';
import { isVersionsPath } from '../../../src/api/admin/versions.js';
import { FleetRegistry, ModelVersions, PrefixIndex } from '../../../src/fleet/index.js';

// The fleet API and a model's versions, called directly (the gateway's HTTP side adds auth and the
// request id; test/api/admin-armour.test.ts covers it through a running gateway).

function rig(withVersions = true) {
  const fleet = new FleetRegistry();
  const versions = new ModelVersions([
    { id: 'm', versions: [{ id: 'v1', weights: 'ckpt-1' }, { id: 'v2', engine: 'vllm 0.11', warmup: { requests: 2, prompt: 'hi', maxTokens: 8 } }], stable: 'v1' },
  ]);
  const deps: FleetAdminDeps<ReplicaBackend> = {
    fleet, watch: null, prefixes: new PrefixIndex({ capacityBlocks: () => 64, maxBlocks: 8 }), backends: new Map(),
    models: new Set(['m']), regions: ['a', 'b'], createBackend: () => ({ client: { close: async () => {} } }),
    ...(withVersions ? { versions } : {}),
  };
  const call = (method: string, path: string, body?: unknown) => {
    const out = fleetAdmin(deps, method, path, body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)));
    return { status: out.status, json: JSON.parse(out.body), change: out.change, headers: out.headers };
  };
  return { fleet, versions, call };
}

const add = (over: Record<string, unknown> = {}) => ({ model: 'm', url: 'http://127.0.0.1:9', region: 'a', ...over });
const VERSIONS = '/admin/v1/models/m/versions';

describe('adding a replica of a version', () => {
  it('defaults to the model\'s stable version, which joins with weight 1', () => {
    const { call } = rig();
    const r = call('POST', '/admin/v1/fleet/replicas', add());
    expect(r.status).toBe(201);
    // weighted, but out of rotation until its first probe has passed
    expect(r.json).toMatchObject({ version: 'v1', weight: 1, ready: false, warm: true, routable: false });
    expect(r.change?.after).toMatchObject({ version: 'v1' });
  });

  it('takes no traffic until its first health probe passes, then joins the rotation', () => {
    const { call, fleet } = rig();
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'a1' }));
    const r = fleet.byId('a1')!;
    expect([r.healthy, r.routable]).toEqual([false, false]);
    fleet.markHealthy(r, 1_000);
    expect([r.healthy, r.routable]).toEqual([true, true]);
  });

  it('of another version joins with weight 0 (no traffic until a rollout gives it some) and not warm when it has a warm-up', () => {
    const { call, fleet } = rig();
    const r = call('POST', '/admin/v1/fleet/replicas', add({ version: 'v2' }));
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ version: 'v2', weight: 0, warm: false, routable: false });
    expect(fleet.all[0].versionWeight).toBe(0);
  });

  it('of the stable version joins at its region\'s current stable weight, so a rollout\'s split stays', () => {
    const { call, fleet } = rig();
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'first' }));
    fleet.setVersionWeight(fleet.byId('first')!, 90);
    expect(call('POST', '/admin/v1/fleet/replicas', add({ id: 'second' })).json.weight).toBe(90);
    expect(call('POST', '/admin/v1/fleet/replicas', add({ id: 'elsewhere', region: 'b' })).json.weight).toBe(1);
  });

  it('refuses a version the model does not have, naming the field and the versions it has', () => {
    const { call, fleet } = rig();
    const r = call('POST', '/admin/v1/fleet/replicas', add({ version: 'v9' }));
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({ type: 'invalid_request_error', message: expect.stringMatching(/^version: model m has no version v9; its versions are v1, v2/) });
    expect(fleet.all).toHaveLength(0);
  });

  it('refuses a version that is not a string', () => {
    const r = rig().call('POST', '/admin/v1/fleet/replicas', add({ version: 3 }));
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('version: version must be a string');
  });

  it('without a catalogue, knows only the version named like the model', () => {
    const { call } = rig(false);
    expect(call('POST', '/admin/v1/fleet/replicas', add()).json.version).toBe('m');
    expect(call('POST', '/admin/v1/fleet/replicas', add({ version: 'v2' })).status).toBe(400);
    expect(call('GET', VERSIONS).status).toBe(404);
  });

  it('shows each replica\'s version, weight and readiness in the fleet view', () => {
    const { call, fleet } = rig();
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'r' }));
    fleet.markHealthy(fleet.byId('r')!, 1_000);
    expect(call('GET', '/admin/v1/fleet').json.data).toEqual([expect.objectContaining({ id: 'r', version: 'v1', weight: 1, ready: true })]);
  });
});

describe('GET /admin/v1/models/{model}/versions', () => {
  it('lists the versions, which is stable, and their replicas per region', () => {
    const { call, fleet } = rig();
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'a1' }));
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'a2' }));
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'b1', region: 'b', version: 'v2' }));
    fleet.markHealthy(fleet.byId('a1')!, 1_000);
    const r = call('GET', VERSIONS);
    expect(r.status).toBe(200);
    expect(r.json.data).toEqual([
      { id: 'v1', type: 'model_version', model: 'm', weights: 'ckpt-1', engine: null, settings: {}, warmup: null, stable: true, replicas: { a: { replicas: 2, ready: 1, routable: 1 } } },
      { id: 'v2', type: 'model_version', model: 'm', weights: null, engine: 'vllm 0.11', settings: {}, warmup: { requests: 2, prompt: 'hi', max_tokens: 8 }, stable: false, replicas: { b: { replicas: 1, ready: 0, routable: 0 } } },
    ]);
  });

  it('answers 404 for an unknown model, in the admin envelope', () => {
    const r = rig().call('GET', '/admin/v1/models/ghost/versions');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({ type: 'error', error: { type: 'not_found_error', message: 'no model ghost; the models are m' }, request_id: null });
  });

  it('answers 405 with Allow for another method', () => {
    const r = rig().call('DELETE', VERSIONS);
    expect(r.status).toBe(405);
    expect(r.headers).toEqual({ allow: 'GET, POST' });
  });
});

describe('POST /admin/v1/models/{model}/versions', () => {
  it('registers a version (201), with warm-up defaults, and records the change for the audit trail', () => {
    const { call, versions } = rig();
    const r = call('POST', VERSIONS, { id: 'v3', weights: 'ckpt-3', settings: { temperature: 0.2 }, warmup: { max_tokens: 4 } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id: 'v3', weights: 'ckpt-3', stable: false, replicas: {}, warmup: { requests: 2, max_tokens: 4, prompt: expect.any(String) } });
    expect(r.change).toEqual({ action: 'model.version.register', target: 'm@v3', before: null, after: expect.objectContaining({ model: 'm', id: 'v3' }) });
    expect(versions.get('m', 'v3')?.warmup?.maxTokens).toBe(4);
    expect(call('GET', VERSIONS).json.data.map((v: { id: string }) => v.id)).toEqual(['v1', 'v2', 'v3']);
  });

  it('answers 409 for a version that exists, changing nothing', () => {
    const { call } = rig();
    const r = call('POST', VERSIONS, { id: 'v2', weights: 'other' });
    expect(r.status).toBe(409);
    expect(r.json.error.message).toMatch(/already has a version v2/);
    expect(r.change).toBeUndefined();
  });

  it('answers 404 for an unknown model', () => {
    expect(rig().call('POST', '/admin/v1/models/ghost/versions', { id: 'v1' }).status).toBe(404);
  });

  it.each([
    { why: 'no id', body: { weights: 'x' }, says: 'id: Field required' },
    { why: 'an empty id', body: { id: '' }, says: 'id: ' },
    { why: 'an unknown field', body: { id: 'v3', wieghts: 'x' }, says: 'wieghts: Extra inputs are not permitted' },
    { why: 'a warm-up of no requests', body: { id: 'v3', warmup: { requests: 0 } }, says: 'warmup.requests: ' },
    { why: 'an unknown warm-up field', body: { id: 'v3', warmup: { maxTokens: 4 } }, says: 'warmup.maxTokens: Extra inputs are not permitted' },
    { why: 'a warm-up that could never finish (the replica would never take traffic)', body: { id: 'v3', warmup: { requests: 1_000_000 } }, says: 'warmup.requests: ' },
    { why: 'a warm-up asking for long answers', body: { id: 'v3', warmup: { max_tokens: 100_000 } }, says: 'warmup.max_tokens: ' },
    { why: 'settings that are not an object', body: { id: 'v3', settings: [1] }, says: 'settings: ' },
    { why: 'a body that is an array', body: [1], says: 'the body must be a JSON object' },
    { why: 'a body that is not JSON', body: '{nope', says: 'the body must be JSON' },
  ])('answers 400 for $why, naming the field', ({ body, says }) => {
    const { call, versions } = rig();
    const r = call('POST', VERSIONS, body);
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('invalid_request_error');
    expect(r.json.error.message).toContain(says);
    expect(versions.list('m')).toHaveLength(2);
  });

  it('a model name is percent-decoded from the path', () => {
    expect(isVersionsPath('/admin/v1/models/a%2Fb/versions')).toBe(true);
    expect(rig().call('GET', '/admin/v1/models/%E0%A4%A/versions').status).toBe(400);
  });
});

describe('the audit record of a drain, undrain or readmit', () => {
  it('is written for a change, and not for a call that changes nothing', () => {
    const { call, fleet } = rig();
    call('POST', '/admin/v1/fleet/replicas', add({ id: 'a1' }));
    fleet.markHealthy(fleet.byId('a1')!, 1_000);
    const path = (what: string) => `/admin/v1/fleet/replicas/a1/${what}`;
    const actions = ['drain', 'drain', 'undrain', 'undrain', 'readmit'].map((what) => {
      const r = call('POST', path(what));
      expect(r.status).toBe(200);
      return r.change?.action ?? null;
    });
    expect(actions).toEqual(['fleet.replica.drain', null, 'fleet.replica.undrain', null, null]);
  });
});
