import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createAdminApi, newRequestId } from '../../src/api/index.js';
import { withRequestId } from '../../src/api/admin/index.js';
import { rolloutCommand, rolloutStart, rolloutStatus, type Io } from '../../src/cli/rollout.js';
import { openStore, type Store } from '../../src/ledger/index.js';
import { createAuthenticator, type Authenticator } from '../../src/tenancy/index.js';
import { fakeRollouts, rolloutState, T0, type FakeRollouts } from '../api/admin/fake-rollouts.js';

// `switchyard rollout …` against a gateway stand-in: the real admin API over a fake rollout service,
// on a real HTTP port. Exit codes: 0 done, 1 refused (the API's message), 2 misused or unreachable.

const TOKEN = 'sekret-admin-token-9f2c';

let store: Store;
let auth: Authenticator;
let fake: FakeRollouts;
let server: Server;
let url: string;
const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  store = await openStore('sqlite::memory:');
  auth = createAuthenticator(store);
  await auth.ready;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers });
      const api = createAdminApi({ store, authenticator: auth, adminToken: TOKEN, rollouts: fake, onError: () => {} });
      const u = new URL(req.url!, 'http://x');
      const id = newRequestId();
      void api.handle(req.method!, u.pathname, u.searchParams, req.headers, Buffer.concat(chunks), id).then((r) => {
        const out = withRequestId(r, id);
        res.writeHead(out.status, { 'content-type': 'application/json', ...out.headers }).end(out.body);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  auth.close();
  await store.close();
});

let out: string;
let err: string;
const io = (env: Record<string, string | undefined> = {}, timeoutMs?: number): Io => ({
  out: (s) => void (out += s), err: (s) => void (err += s), env: { SWITCHYARD_URL: url, SWITCHYARD_ADMIN_TOKEN: TOKEN, ...env }, timeoutMs,
});
beforeEach(() => {
  fake = fakeRollouts();
  seen.length = 0;
  out = '';
  err = '';
});
// whatever a command does, the token is never printed
afterEach(() => {
  expect(out + err).not.toContain(TOKEN);
});
const commands = () => fake.calls.filter((c) => c.method === 'start' || c.method === 'command').map((c) => c.args);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-rollout-cli-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

describe('switchyard rollout start', () => {
  it('starts one from the flags, sends the token in a header, and prints the rollout', async () => {
    expect(await rolloutStart({ model: 'llama', candidate: 'v2' }, io())).toBe(0);
    expect(out).toBe('rollout rol_new1 started: llama v1 → v2, pending\n');
    expect(err).toContain('switchyard rollout status rol_new1');
    expect(commands()).toEqual([[{ model: 'llama', candidate: 'v2' }, { actor: 'admin', requestId: expect.stringMatching(/^req_/), reason: 'by hand' }]]);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/admin/v1/rollouts', headers: { 'x-admin-token': TOKEN } });
  });

  it('reads the spec from a YAML file; the flags override it; the actor and reason reach the audit trail', async () => {
    const spec = file('spec.yaml', 'model: llama\ncandidate: v9\nsteps:\n  - setWeight: 10\n  - pause: { duration: 10m }\n  - setWeight: 100\nmaxShare: 50\n');
    expect(await rolloutStart({ file: spec, candidate: 'v2', reason: 'new weights', actor: 'carol' }, io())).toBe(0);
    expect(commands()).toEqual([[
      { model: 'llama', candidate: 'v2', steps: [{ setWeight: 10 }, { pause: { duration: '10m' } }, { setWeight: 100 }], maxShare: 50 },
      { actor: 'admin:carol', requestId: expect.stringMatching(/^req_/), reason: 'new weights' },
    ]]);
  });

  it('reads a JSON file too, and prints the view with --json', async () => {
    const spec = file('spec.json', JSON.stringify({ model: 'qwen', candidate: 'v2', steps: [{ setWeight: 100 }] }));
    expect(await rolloutStart({ file: spec, json: true }, io())).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ id: 'rol_new1', model: 'qwen', candidate: 'v2', type: 'rollout' });
  });

  it.each([
    ['no model', { candidate: 'v2' }, '--model is required (or a `model` field in --file)'],
    ['no candidate', { model: 'llama' }, '--candidate is required (or a `candidate` field in --file)'],
    ['a file that is not there', { file: join(dir, 'missing.yaml') }, /^cannot read --file .*missing\.yaml/],
    ['a file that is not a mapping', { file: file('list.yaml', '- 1\n- 2\n') }, /must hold one rollout spec/],
    ['a file that is not YAML', { file: file('bad.yaml', 'model: [llama\n') }, /is not YAML or JSON/],
    ['a gateway that is no URL', { model: 'llama', candidate: 'v2', gateway: 'localhost:8080' }, /^--gateway must be an http:\/\/ or https:\/\/ URL/],
  ])('%s: exit 2 with why, and nothing sent', async (_, o, message) => {
    expect(await rolloutStart(o, io())).toBe(2);
    expect(err.trim().replace(/^switchyard: /, '')).toMatch(typeof message === 'string' ? new RegExp('^' + message.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$') : message);
    expect(seen).toEqual([]);
  });

  it('a spec the API refuses: exit 1 with its message (the field path) and the request id', async () => {
    const spec = file('over.yaml', 'model: llama\ncandidate: v2\nsteps: [{ setWeight: 150 }]\n');
    expect(await rolloutStart({ file: spec }, io())).toBe(1);
    expect(err).toMatch(/^switchyard: steps\.0\.setWeight: Too big: expected number to be <=100 \(request req_\w+\)\n$/);
    expect(out).toBe('');
  });

  it('a model with an active rollout: exit 1 naming it', async () => {
    fake.put(rolloutState({ id: 'rol_busy' }));
    expect(await rolloutStart({ model: 'llama', candidate: 'v3' }, io())).toBe(1);
    expect(err).toContain('model llama already has an active rollout, rol_busy');
  });
});

describe('switchyard rollout status', () => {
  beforeEach(() => {
    fake.put(rolloutState({ id: 'rol_old', model: 'llama', phase: 'aborted', createdAtMs: T0 - 1 }));
    fake.put(rolloutState({ id: 'rol_q', model: 'qwen', candidate: 'v5', phase: 'paused', pause: { kind: 'manual', message: 'by hand' }, createdAtMs: T0 + 1 }));
    fake.put(rolloutState({
      id: 'rol_l', model: 'llama', createdAtMs: T0, weights: { eu: 25, us: 0 },
      evidence: {
        method: 'sequential', candidateCalls: 250, stableCalls: 2000, candidateFailures: 3, stableFailures: 10,
        metrics: [{ metric: 'errors', comparisons: 250, statistic: 1.5, threshold: 600, ratio: 1.2 }, { metric: 'ttft', comparisons: 240, statistic: 0.25, threshold: 600, ratio: null }],
      },
    }));
  });

  it('without an id: a table of the active rollouts, newest first', async () => {
    expect(await rolloutStatus({}, io())).toBe(0);
    const lines = out.trimEnd().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['id', 'model', 'stable', 'candidate', 'phase', 'wave', 'step', 'weights', 'updated']);
    expect(lines.slice(2).map((l) => l.split(/\s+/)[0])).toEqual(['rol_q', 'rol_l']);
    expect(lines[2]).toContain('paused (manual: by hand)');
    expect(lines[3]).toContain('eu=25 us=0');
    expect(seen[0].url).toBe('/admin/v1/rollouts?active=true');
  });

  it('--model: only that model\'s; none active says so on stderr, exit 0', async () => {
    expect(await rolloutStatus({ model: 'qwen' }, io())).toBe(0);
    expect(out.split('\n').slice(2, -1).map((l) => l.split(/\s+/)[0])).toEqual(['rol_q']);
    out = '';
    expect(await rolloutStatus({ model: 'mistral' }, io())).toBe(0);
    expect([out, err]).toEqual(['', 'no active rollout of mistral\n']);
  });

  it('with an id: where it stands and its evidence table', async () => {
    expect(await rolloutStatus({ id: 'rol_l' }, io())).toBe(0);
    expect(out).toContain('rol_l  llama: v1 → v2');
    expect(out).toMatch(/^step +2 of 7: analysis \(at least 1m, at most 30m\) \(since 2026-03-01T12:01:00.000Z\)$/m);
    expect(out).toMatch(/^wave +1 of 2: eu$/m);
    expect(out).toMatch(/^leader +gw-test-1 \(the gateway asked\) since 2026-03-01T11:59:55.000Z$/m);
    expect(out).toContain('evidence (sequential): candidate 250 calls, 3 failed; stable 2000 calls, 10 failed');
    expect(out).toMatch(/^errors +250 +1\.500 +600 +1\.200$/m);
    expect(out).toMatch(/^ttft +240 +0\.250 +600 +-$/m);
  });

  it('with an id, asked of a gateway that follows: says another gateway leads, not the one asked', async () => {
    fake.leadership = () => ({ leader: false, holder: 'gw-test-2', sinceMs: T0 - 5_000 });
    expect(await rolloutStatus({ id: 'rol_l' }, io())).toBe(0);
    expect(out).toMatch(/^leader +another gateway \(the gateway asked follows since 2026-03-01T11:59:55.000Z\)$/m);
    expect(out).not.toContain('gw-test-2');
  });

  it('--json prints the API\'s view as is', async () => {
    expect(await rolloutStatus({ id: 'rol_l', json: true }, io())).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ id: 'rol_l', weights: { eu: 25, us: 0 }, evidence: { candidate: { calls: 250, failures: 3 } } });
  });

  it('an unknown id: exit 1 with the API\'s message', async () => {
    expect(await rolloutStatus({ id: 'rol_nope' }, io())).toBe(1);
    expect(err).toMatch(/^switchyard: rollout rol_nope not found; GET \/admin\/v1\/rollouts lists them \(request req_\w+\)\n$/);
  });
});

describe('switchyard rollout pause|resume|promote|abort', () => {
  beforeEach(() => fake.put(rolloutState({ id: 'rol_1' })));

  it('pause, resume, promote, abort: each reaches the service with the reason, and prints the new phase', async () => {
    expect(await rolloutCommand('pause', { id: 'rol_1', reason: 'p99 is odd' }, io())).toBe(0);
    expect(out).toBe('rollout rol_1: paused (manual: p99 is odd); weights eu=5\n');
    expect(await rolloutCommand('resume', { id: 'rol_1' }, io())).toBe(0);
    expect(await rolloutCommand('promote', { id: 'rol_1' }, io())).toBe(0);
    expect(await rolloutCommand('abort', { id: 'rol_1', actor: 'dave' }, io())).toBe(0);
    expect(commands()).toEqual([
      ['rol_1', { kind: 'pause', reason: 'p99 is odd' }, expect.objectContaining({ actor: 'admin', reason: 'p99 is odd' })],
      ['rol_1', { kind: 'resume' }, expect.objectContaining({ reason: 'by hand' })],
      ['rol_1', { kind: 'promote', full: false }, expect.objectContaining({ reason: 'by hand' })],
      ['rol_1', { kind: 'abort' }, expect.objectContaining({ actor: 'admin:dave' })],
    ]);
  });

  it('promote --full sends full: true', async () => {
    expect(await rolloutCommand('promote', { id: 'rol_1', full: true }, io())).toBe(0);
    expect(out).toBe('rollout rol_1: succeeded; weights eu=100 us=100\n');
    expect(commands()[0][1]).toEqual({ kind: 'promote', full: true });
  });

  it('a command that does not apply now: exit 1 saying why', async () => {
    expect(await rolloutCommand('resume', { id: 'rol_1' }, io())).toBe(1);
    expect(err).toMatch(/^switchyard: rollout rol_1 is not paused \(request req_\w+\)\n$/);
  });
});

describe('reaching the gateway', () => {
  it('--gateway and --admin-token win over the environment', async () => {
    expect(await rolloutStatus({ gateway: url, adminToken: TOKEN }, io({ SWITCHYARD_URL: 'http://127.0.0.1:1', SWITCHYARD_ADMIN_TOKEN: 'wrong' }))).toBe(0);
    expect(seen[0].headers['x-admin-token']).toBe(TOKEN);
  });

  it('a wrong token: exit 1 with the API\'s message and where to fix it, never the token', async () => {
    expect(await rolloutStatus({ adminToken: 'not-it' }, io())).toBe(1);
    expect(err).toMatch(/^switchyard: invalid admin token \(request req_\w+\); check --admin-token or SWITCHYARD_ADMIN_TOKEN\n$/);
    expect(err).not.toContain('not-it');
  });

  it('no token: exit 2 and nothing sent', async () => {
    expect(await rolloutStatus({}, io({ SWITCHYARD_ADMIN_TOKEN: undefined }))).toBe(2);
    expect(err).toBe('switchyard: no admin token: pass --admin-token or set SWITCHYARD_ADMIN_TOKEN\n');
    expect(seen).toEqual([]);
  });

  it('a token a header cannot carry: exit 2 without printing it, and nothing sent', async () => {
    expect(await rolloutStatus({ adminToken: `${TOKEN}\n` }, io())).toBe(2);
    expect(err).toBe('switchyard: the admin token must be printable ASCII without spaces (check for a stray newline or quote)\n');
    expect(seen).toEqual([]);
  });

  it('a gateway URL with credentials in it: exit 2, and they are not printed', async () => {
    expect(await rolloutStatus({ gateway: `http://bob:hunter2@127.0.0.1:1` }, io())).toBe(2);
    expect(err).toBe('switchyard: --gateway must not carry credentials (user:password@); the admin token goes in --admin-token or SWITCHYARD_ADMIN_TOKEN\n');
  });

  it('a gateway that is not listening: exit 2 saying it cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    expect(await rolloutStatus({ gateway: `http://127.0.0.1:${port}/` }, io())).toBe(2);
    expect(err).toBe(`switchyard: cannot reach the gateway at http://127.0.0.1:${port}: ECONNREFUSED; is it running? (--gateway or SWITCHYARD_URL)\n`);
  });

  it('a gateway that does not answer in time: exit 2', async () => {
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      expect(await rolloutStatus({ gateway: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` }, io({}, 200))).toBe(2);
      expect(err).toMatch(/cannot reach the gateway at .*: no answer in time/);
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('something that is not a gateway (a body that is not JSON): exit 1', async () => {
    const other = createServer((_, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<h1>nope</h1>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      expect(await rolloutStatus({ gateway: `http://127.0.0.1:${(other.address() as AddressInfo).port}` }, io())).toBe(1);
      expect(err).toMatch(/answered HTTP 404 with a body that is not JSON; is it a Switchyard gateway\?/);
    } finally {
      await new Promise((resolve) => other.close(resolve));
    }
  });
});
