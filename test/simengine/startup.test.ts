import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { ManualTime } from '../../src/time/index.js';

const MODEL = 'llama-3.1-8b';
const MAIN = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

let server: EngineServer | null = null;
afterEach(async () => {
  await server?.close();
  server = null;
});

const post = (s: EngineServer, path: string, body: unknown) =>
  fetch(s.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const chat = { model: MODEL, messages: [{ role: 'user', content: 'hello' }], max_tokens: 2 };

describe('an engine in its start-up', () => {
  it('listens at once, answers loading on /health and 503 with a vLLM error body to requests, and serves /metrics', async () => {
    const time = new ManualTime(0);
    server = await startEngineServer({ model: MODEL, startupMs: 5_000, time: time.ports(() => 0.5) });
    expect(server.loading).toBe(true);

    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ status: 'loading' });

    time.advance(2_000);
    for (const res of [await post(server, '/v1/chat/completions', chat), await post(server, '/v1/completions', { model: MODEL, prompt: 'x' }),
      await post(server, '/tokenize', { model: MODEL, prompt: 'x' }), await fetch(`${server.url}/v1/models`)]) {
      expect(res.status).toBe(503);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(3);
      const j = await res.json();
      expect(j.error).toMatchObject({ type: 'ServiceUnavailableError', code: 503 });
      expect(j.error.message).toMatch(/still loading.*3\.0 s/);
    }
    const metrics = await fetch(`${server.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain('vllm:num_requests_running');
  });

  it('takes requests once its start-up time has passed on its clock', async () => {
    const time = new ManualTime(0);
    server = await startEngineServer({ model: MODEL, startupMs: 5_000, time: time.ports(() => 0.5) });
    time.advance(4_999);
    expect((await fetch(`${server.url}/health`)).status).toBe(503);
    time.advance(1);
    expect(server.loading).toBe(false);
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.text()).toBe('');
    const tok = await post(server, '/tokenize', { model: MODEL, prompt: 'the yard' });
    expect(tok.status).toBe(200);
    expect((await tok.json()).count).toBeGreaterThan(0);
  });

  it('is ready at once without a start-up, as before', async () => {
    server = await startEngineServer({ model: MODEL });
    expect(server.loading).toBe(false);
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
  });
});

/** Runs `switchyard engine` (built dist/) and resolves its URL once it says it listens. */
function runEngine(args: string[]): Promise<{ url: string; kill: () => Promise<void>; line: string }> {
  const proc = spawn(process.execPath, [MAIN, 'engine', '--port', '0', '--model', MODEL, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening on (http:\/\/\S+?)(,|\s)/.exec(out);
      if (m) resolve({ url: m[1], line: out.trim(), kill: () => new Promise((r) => { proc.once('exit', () => r()); proc.kill('SIGTERM'); }) });
    });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
    proc.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
  });
}

describe('switchyard engine --startup', () => {
  it('answers 503 loading until the given seconds have passed, then 200', async () => {
    const e = await runEngine(['--startup', '1']);
    try {
      expect(e.line).toMatch(/loading for 1\.0 s/);
      const t0 = performance.now();
      const first = await fetch(`${e.url}/health`);
      expect(first.status).toBe(503);
      let status = first.status;
      while (status !== 200 && performance.now() - t0 < 5_000) {
        await new Promise((r) => setTimeout(r, 50));
        status = (await fetch(`${e.url}/health`)).status;
      }
      expect(status).toBe(200);
      expect(performance.now() - t0).toBeGreaterThan(500);
    } finally {
      await e.kill();
    }
  });

  it('refuses a start-up that is not a profile or seconds, naming the choices', async () => {
    const err = await runEngine(['--startup', 'fast']).then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/exited 2/);
    expect(err?.message).toMatch(/cold, tuned, snapshot/);
  });
});
