import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminApi, type AdminApi } from '../../../src/api/index.js';
import { withRequestId } from '../../../src/api/admin/index.js';
import { openStore, type Store } from '../../../src/ledger/index.js';
import { createAuthenticator, type Authenticator } from '../../../src/tenancy/index.js';
import { fakeRollouts, rolloutState, T0, type FakeRollouts } from './fake-rollouts.js';

// /admin/v1/rollouts over a fake rollout service: the admin token only, strict bodies, every error in
// the admin envelope naming its request, and the actor and reason handed to the service.

const ADMIN = 'admin-token-for-rollouts';
const REQ = 'req_rollouts_spec';

let store: Store;
let auth: Authenticator;
let tenantKey: string;
let fake: FakeRollouts;
let api: AdminApi;
const errors: Error[] = [];

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  auth = createAuthenticator(store);
  await auth.ready;
  const t = await store.createTenant({ name: 'acme' });
  if (!t.ok) throw new Error(t.error.message);
  const k = await store.createKey({ tenantId: t.value.tenant.id, name: 'k' });
  if (!k.ok) throw new Error(k.error.message);
  tenantKey = k.value.secret;
});
afterAll(async () => {
  auth.close();
  await store.close();
});
beforeEach(() => {
  fake = fakeRollouts();
  errors.length = 0;
  api = createAdminApi({ store, authenticator: auth, adminToken: ADMIN, rollouts: fake, onError: (e) => errors.push(e) });
});

/** As the gateway's HTTP side answers: the handler's reply with the request id stamped into an error body. */
async function call(method: string, path: string, o: { body?: unknown; headers?: Record<string, string>; as?: 'admin' | 'tenant' | 'none' | string; via?: AdminApi } = {}) {
  const as = o.as ?? 'admin';
  const cred: Record<string, string> = as === 'admin' ? { authorization: `Bearer ${ADMIN}` } : as === 'tenant' ? { 'x-api-key': tenantKey } : as === 'none' ? {} : { authorization: `Bearer ${as}` };
  const u = new URL(path, 'http://gw');
  const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
  const r = withRequestId(await (o.via ?? api).handle(method, u.pathname, u.searchParams, { ...cred, ...o.headers }, body, REQ), REQ);
  return { status: r.status, json: JSON.parse(r.body), headers: r.headers };
}

/** An error in the admin envelope, naming this request. */
const refused = (type: string, message: string | RegExp) => ({
  type: 'error', error: { type, message: typeof message === 'string' ? message : expect.stringMatching(message) }, request_id: REQ,
});
const commands = () => fake.calls.filter((c) => c.method === 'start' || c.method === 'command');

describe('who may use the rollouts API', () => {
  it.each([
    ['no credentials', 'none', 401, 'authentication_error'],
    ['a wrong admin token', 'not-the-token', 401, 'authentication_error'],
    ['a tenant key', 'tenant', 403, 'permission_error'],
  ])('refuses %s on every route, reads included', async (_, as, status, type) => {
    for (const [method, path] of [['GET', '/admin/v1/rollouts'], ['GET', '/admin/v1/rollouts/rol_1'], ['POST', '/admin/v1/rollouts'], ['POST', '/admin/v1/rollouts/rol_1/pause']]) {
      const r = await call(method, path, { as, body: method === 'POST' ? { model: 'llama', candidate: 'v2' } : undefined });
      expect(r.status, `${method} ${path}`).toBe(status);
      expect(r.json).toEqual(refused(type, /./));
    }
    expect(fake.calls).toEqual([]);
  });

  it('tells a tenant key it needs the admin token', async () => {
    expect((await call('GET', '/admin/v1/rollouts', { as: 'tenant' })).json.error.message).toMatch(/needs the admin token/);
  });

  it('answers 404 naming the missing service when the gateway runs none', async () => {
    const bare = createAdminApi({ store, authenticator: auth, adminToken: ADMIN, onError: (e) => errors.push(e) });
    const r = await call('GET', '/admin/v1/rollouts', { via: bare });
    expect(r.status).toBe(404);
    expect(r.json).toEqual(refused('not_found_error', /runs no rollouts/));
  });
});

describe('the routes', () => {
  it.each([
    ['DELETE', '/admin/v1/rollouts/rol_1', 405, 'GET'],
    ['PATCH', '/admin/v1/rollouts', 405, 'GET, POST'],
    ['GET', '/admin/v1/rollouts/rol_1/pause', 405, 'POST'],
  ])('%s %s is %i with allow: %s', async (method, path, status, allow) => {
    const r = await call(method, path);
    expect(r.status).toBe(status);
    expect(r.headers?.allow).toBe(allow);
    expect(r.json).toEqual(refused('invalid_request_error', `${method} is not allowed here; use ${allow.replace(', ', ' or ')}`));
  });

  it.each(['/admin/v1/rollouts/rol_1/explode', '/admin/v1/rollouts/rol_1/pause/now', '/admin/v1/rollouts//pause', '/admin/v1/rollouts/%E0%A4%A'])('%s is no route (404)', async (path) => {
    const r = await call('POST', path);
    expect(r.status).toBe(404);
    expect(r.json).toEqual(refused('not_found_error', /^no admin route/));
  });

  it('a failure inside the service is a 500 naming the request id, and reaches onError', async () => {
    fake.failNext = new Error('store is down');
    const r = await call('GET', '/admin/v1/rollouts');
    expect(r.status).toBe(500);
    expect(r.json).toEqual(refused('api_error', `internal error; the server log has the details under request id ${REQ}`));
    expect(errors.map((e) => e.message)).toEqual(['store is down']);
  });
});

describe('POST /admin/v1/rollouts starts one', () => {
  it('answers 201 with the view, and hands the spec (without reason), the actor, the request id and "by hand" to the service', async () => {
    const r = await call('POST', '/admin/v1/rollouts', { body: { model: 'llama', candidate: 'v2', steps: [{ setWeight: 10 }, { pause: {} }] } });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({ id: 'rol_new1', type: 'rollout', model: 'llama', candidate: 'v2', phase: 'pending', created_by: 'admin' });
    expect(commands()).toEqual([{ method: 'start', args: [{ model: 'llama', candidate: 'v2', steps: [{ setWeight: 10 }, { pause: {} }] }, { actor: 'admin', requestId: REQ, reason: 'by hand' }] }]);
  });

  it('names the person from x-switchyard-actor and keeps their reason', async () => {
    const r = await call('POST', '/admin/v1/rollouts', { body: { model: 'llama', candidate: 'v2', reason: '  new weights  ' }, headers: { 'x-switchyard-actor': 'alice' } });
    expect(r.status).toBe(201);
    expect(commands()[0].args).toEqual([{ model: 'llama', candidate: 'v2' }, { actor: 'admin:alice', requestId: REQ, reason: 'new weights' }]);
  });

  it.each([
    ['a step of no known shape', { model: 'llama', candidate: 'v2', steps: [{ setWeight: 5 }, { wait: 3 }] }, 'steps.1: a step has exactly one key, one of setWeight, pause, analysis; got wait'],
    ['a weight over 100', { model: 'llama', candidate: 'v2', steps: [{ setWeight: 150 }] }, /^steps\.0\.setWeight: /],
    ['a bad duration', { model: 'llama', candidate: 'v2', steps: [{ pause: { duration: 'soon' } }] }, /^steps\.0\.pause\.duration: /],
    ['an unknown field', { model: 'llama', candidate: 'v2', colour: 'red' }, 'colour: Extra inputs are not permitted'],
    ['an unknown analysis knob', { model: 'llama', candidate: 'v2', analysis: { alpah: 0.1 } }, 'analysis.alpah: Extra inputs are not permitted'],
    ['no candidate', { model: 'llama' }, 'candidate: Field required'],
    ['steps that are no list', { model: 'llama', candidate: 'v2', steps: 'x' }, /^steps: Invalid input: expected array/],
    ['a step with two keys', { model: 'llama', candidate: 'v2', steps: [{ setWeight: 1, pause: {} }] }, 'steps.0: a step has exactly one key, one of setWeight, pause, analysis; got setWeight, pause'],
    ['a negative analysis duration', { model: 'llama', candidate: 'v2', steps: [{ analysis: { minDuration: -1 } }] }, /^steps\.0\.analysis\.minDuration: /],
    ['stable = candidate', { model: 'llama', candidate: 'v2', stable: 'v2' }, 'candidate: the candidate must differ from the stable version'],
    ['a region in two waves', { model: 'llama', candidate: 'v2', waves: [['eu'], ['eu']] }, 'waves.1.0: region "eu" is in two waves'],
    ['an empty reason', { model: 'llama', candidate: 'v2', reason: ' ' }, /^reason: reason must not be empty/],
    ['a reason that is no string', { model: 'llama', candidate: 'v2', reason: 7 }, 'reason: reason must be a string'],
    ['a body that is not JSON', '{"model":', /^the request body is not valid JSON/],
    ['a body that is an array', [], /^body: the request body must be a JSON object/],
    ['no body', undefined, /^the request body is not valid JSON/],
  ])('refuses %s with 400 naming the field, before the service is asked', async (_, body, message) => {
    const r = await call('POST', '/admin/v1/rollouts', { body });
    expect(r.status).toBe(400);
    expect(r.json).toEqual(refused('invalid_request_error', message));
    expect(commands()).toEqual([]);
  });

  it.each([
    ['an unknown model', { model: 'mistral', candidate: 'v2' }, 404, 'not_found_error', 'model mistral is not served by this gateway'],
    ['an unknown version', { model: 'llama', candidate: 'ghost' }, 404, 'not_found_error', 'model llama has no version ghost'],
    ['a version the fleet cannot roll out', { model: 'llama', candidate: 'nowhere' }, 400, 'invalid_request_error', 'candidate: version nowhere has no replicas'],
  ])('answers %s with %i and the service\'s message', async (_, body, status, type, message) => {
    const r = await call('POST', '/admin/v1/rollouts', { body });
    expect(r.status).toBe(status);
    expect(r.json).toEqual(refused(type, message));
  });

  it('answers 409 naming the active rollout when the model already has one', async () => {
    fake.put(rolloutState({ id: 'rol_busy' }));
    const r = await call('POST', '/admin/v1/rollouts', { body: { model: 'llama', candidate: 'v3' } });
    expect(r.status).toBe(409);
    expect(r.json).toEqual(refused('invalid_request_error', 'model llama already has an active rollout, rol_busy'));
  });
});

describe('GET /admin/v1/rollouts/{id}', () => {
  it('on a gateway that follows, names no leader: it cannot know which gateway holds the lease', async () => {
    fake.put(rolloutState({ id: 'rol_f' }));
    fake.leadership = () => ({ leader: false, holder: 'gw-test-2', sinceMs: T0 - 5_000 });
    const r = await call('GET', '/admin/v1/rollouts/rol_f');
    expect(r.status).toBe(200);
    expect((r.json as { leader: unknown }).leader).toEqual({ holder: null, this_gateway: false, since: '2026-03-01T11:59:55.000Z' });
  });

  it('shows where the rollout stands: phase, pause, wave, step, weights, failure, evidence, times as RFC 3339, and the leader', async () => {
    fake.put(rolloutState({
      id: 'rol_x', phase: 'paused', pause: { kind: 'step', message: 'pause step', untilMs: T0 + 600_000 },
      spec: { model: 'llama', candidate: 'v2', steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { analysis: {} }] },
      wave: 1, step: 1, weights: { eu: 100, us: 10 },
      failure: { metric: 'ttft', reason: 'ttft worse by 30 %', atMs: T0 + 90_000 },
      evidence: {
        method: 'sequential', candidateCalls: 250, stableCalls: 2000, candidateFailures: 3, stableFailures: 10,
        metrics: [
          { metric: 'errors', comparisons: 250, statistic: 1.5, threshold: 600, ratio: 1.2 },
          { metric: 'ttft', comparisons: 240, statistic: Number.POSITIVE_INFINITY, threshold: 600, ratio: null },
        ],
      },
    }), 7);
    const r = await call('GET', '/admin/v1/rollouts/rol_x');
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      id: 'rol_x', type: 'rollout', revision: 7, model: 'llama', stable: 'v1', candidate: 'v2', phase: 'paused',
      pause: { kind: 'step', message: 'pause step', until: '2026-03-01T12:10:00.000Z' },
      wave: { index: 1, of: 2, regions: ['us'] }, waves: [['eu'], ['us']],
      step: { index: 1, of: 3, step: { pause: { duration: 600_000 } }, started_at: '2026-03-01T12:01:00.000Z' },
      weights: { eu: 100, us: 10 },
      failure: { metric: 'ttft', reason: 'ttft worse by 30 %', at: '2026-03-01T12:01:30.000Z' },
      evidence: {
        method: 'sequential', candidate: { calls: 250, failures: 3 }, stable: { calls: 2000, failures: 10 },
        metrics: [
          { metric: 'errors', comparisons: 250, statistic: 1.5, threshold: 600, ratio: 1.2 },
          { metric: 'ttft', comparisons: 240, statistic: null, threshold: 600, ratio: null },
        ],
      },
      spec: expect.objectContaining({ model: 'llama', candidate: 'v2', maxShare: 100 }),
      created_by: 'admin', created_at: '2026-03-01T12:00:00.000Z', updated_at: '2026-03-01T12:01:00.000Z',
      leader: { holder: 'gw-test-1', this_gateway: true, since: '2026-03-01T11:59:55.000Z' },
    });
  });

  it('answers 404 for an unknown id', async () => {
    const r = await call('GET', '/admin/v1/rollouts/rol_nope');
    expect(r.status).toBe(404);
    expect(r.json).toEqual(refused('not_found_error', 'rollout rol_nope not found; GET /admin/v1/rollouts lists them'));
  });
});

describe('GET /admin/v1/rollouts lists them', () => {
  beforeEach(() => {
    fake.put(rolloutState({ id: 'rol_a', model: 'llama', phase: 'aborted', createdAtMs: T0 }));
    fake.put(rolloutState({ id: 'rol_b', model: 'qwen', phase: 'progressing', createdAtMs: T0 + 1 }));
    fake.put(rolloutState({ id: 'rol_c', model: 'llama', phase: 'paused', createdAtMs: T0 + 2 }));
  });
  const ids = (j: any) => j.data.map((v: any) => v.id);

  it.each([
    ['', ['rol_c', 'rol_b', 'rol_a'], false],
    ['?active=true', ['rol_c', 'rol_b'], false],
    ['?active=false', ['rol_a'], false],
    ['?model=llama', ['rol_c', 'rol_a'], false],
    ['?model=llama&active=true', ['rol_c'], false],
    ['?limit=2', ['rol_c', 'rol_b'], true],
    ['?limit=3', ['rol_c', 'rol_b', 'rol_a'], false],
  ])('%s → newest first, has_more as the page says', async (q, want, more) => {
    const r = await call('GET', `/admin/v1/rollouts${q}`);
    expect(r.status).toBe(200);
    expect(ids(r.json)).toEqual(want);
    expect(r.json.has_more).toBe(more);
  });

  it('asks the service for one row past the page, to know whether there is more', async () => {
    await call('GET', '/admin/v1/rollouts?limit=2&model=qwen&active=true');
    expect(fake.calls).toEqual([{ method: 'list', args: [{ model: 'qwen', active: true, limit: 3 }] }]);
  });

  it.each([
    ['?active=yes', "active: expected true or false, got 'yes'"],
    ['?limit=0', "limit: expected an integer from 1 to 1000, got '0'"],
    ['?limit=ten', "limit: expected an integer from 1 to 1000, got 'ten'"],
    ['?model=', /^model: expected a model name/],
  ])('refuses %s with 400', async (q, message) => {
    const r = await call('GET', `/admin/v1/rollouts${q}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(refused('invalid_request_error', message));
  });
});

describe('a person\'s hands on a rollout: pause, resume, promote, abort', () => {
  beforeEach(() => fake.put(rolloutState({ id: 'rol_1' })));
  const lastCommand = () => commands().at(-1)?.args;

  it.each([
    ['pause', undefined, { kind: 'pause' }, 'paused'],
    ['abort', { reason: 'p99 looks off' }, { kind: 'abort' }, 'aborted'],
    ['promote', undefined, { kind: 'promote', full: false }, 'progressing'],
    ['promote', { full: true }, { kind: 'promote', full: true }, 'succeeded'],
    ['promote', { full: false, reason: 'looks fine' }, { kind: 'promote', full: false }, 'progressing'],
  ])('%s %j → 200 with the view; the service gets the command, the actor and the reason', async (name, body, command, phase) => {
    const r = await call('POST', `/admin/v1/rollouts/rol_1/${name}`, { body, headers: { 'x-switchyard-actor': 'bob' } });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ id: 'rol_1', phase, revision: 2 });
    expect(lastCommand()).toEqual(['rol_1', command, { actor: 'admin:bob', requestId: REQ, reason: (body as { reason?: string } | undefined)?.reason ?? 'by hand' }]);
  });

  it('resume after pause → 200 progressing; resume of a rollout that is not paused → 409 saying so', async () => {
    expect((await call('POST', '/admin/v1/rollouts/rol_1/resume')).json).toEqual(refused('invalid_request_error', 'rollout rol_1 is not paused'));
    expect((await call('POST', '/admin/v1/rollouts/rol_1/pause', { body: {} })).status).toBe(200);
    const r = await call('POST', '/admin/v1/rollouts/rol_1/resume');
    expect(r.status).toBe(200);
    expect(r.json.phase).toBe('progressing');
  });

  it('a command on a rollout that is over → 409 with why', async () => {
    await call('POST', '/admin/v1/rollouts/rol_1/promote', { body: { full: true } });
    const r = await call('POST', '/admin/v1/rollouts/rol_1/abort');
    expect(r.status).toBe(409);
    expect(r.json).toEqual(refused('invalid_request_error', 'rollout rol_1 has already succeeded'));
  });

  it('an unknown id → 404', async () => {
    const r = await call('POST', '/admin/v1/rollouts/rol_nope/pause');
    expect(r.status).toBe(404);
    expect(r.json).toEqual(refused('not_found_error', 'rollout rol_nope not found'));
  });

  it.each([
    ['pause', { full: true }, 'full: Extra inputs are not permitted'],
    ['abort', { reason: 'x', why: 'y' }, 'why: Extra inputs are not permitted'],
    ['promote', { full: 'yes' }, 'full: full must be true or false'],
    ['resume', { reason: 'a\u0007b' }, 'reason: reason must not contain control characters'],
    ['pause', '[1]', 'body: the request body must be a JSON object'],
    ['pause', 'nope', /^the request body is not valid JSON/],
  ])('%s with %j → 400 before the service is asked', async (name, body, message) => {
    const r = await call('POST', `/admin/v1/rollouts/rol_1/${name}`, { body });
    expect(r.status).toBe(400);
    expect(r.json).toEqual(refused('invalid_request_error', message));
    expect(commands()).toEqual([]);
  });

  it('refuses an x-switchyard-actor that is too long (400), before the service is asked', async () => {
    const r = await call('POST', '/admin/v1/rollouts/rol_1/pause', { headers: { 'x-switchyard-actor': 'a'.repeat(201) } });
    expect(r.status).toBe(400);
    expect(commands()).toEqual([]);
  });
});

describe('a pause carries its reason to the rollout, not only to the audit trail', () => {
  beforeEach(() => fake.put(rolloutState({ id: 'rol_1' })));
  const lastCommand = () => commands().at(-1)?.args;

  it('hands the service a pause with the reason given, and one without when none is', async () => {
    expect((await call('POST', '/admin/v1/rollouts/rol_1/pause', { body: { reason: 'p99 looks odd' } })).status).toBe(200);
    expect(lastCommand()).toEqual(['rol_1', { kind: 'pause', reason: 'p99 looks odd' }, { actor: 'admin', requestId: REQ, reason: 'p99 looks odd' }]);
    fake.put(rolloutState({ id: 'rol_1' }));
    expect((await call('POST', '/admin/v1/rollouts/rol_1/pause')).status).toBe(200);
    expect(lastCommand()).toEqual(['rol_1', { kind: 'pause' }, { actor: 'admin', requestId: REQ, reason: 'by hand' }]);
  });

  it('keeps the other commands as they were: their reason is the audit trail\'s alone', async () => {
    expect((await call('POST', '/admin/v1/rollouts/rol_1/abort', { body: { reason: 'not today' } })).status).toBe(200);
    expect(lastCommand()?.[1]).toEqual({ kind: 'abort' });
  });
});

describe('GET /admin/v1/rollouts takes only model, active and limit, each once', () => {
  it.each([
    ['?limt=2', "limt: not a parameter of this route; it takes model, active, limit"],
    ['?state=active', "state: not a parameter of this route; it takes model, active, limit"],
    ['?limit=2&limit=3', 'limit: given twice; give it once'],
    ['?active=true&active=false', 'active: given twice; give it once'],
    ['?limit=1e2', "limit: expected an integer from 1 to 1000, got '1e2'"],
    ['?limit=0x10', "limit: expected an integer from 1 to 1000, got '0x10'"],
    ['?limit=%205', "limit: expected an integer from 1 to 1000, got ' 5'"],
  ])('refuses %s with 400, asking the service nothing', async (q, message) => {
    const r = await call('GET', `/admin/v1/rollouts${q}`);
    expect(r.status).toBe(400);
    expect(r.json).toEqual(refused('invalid_request_error', message));
    expect(fake.calls).toEqual([]);
  });
});
