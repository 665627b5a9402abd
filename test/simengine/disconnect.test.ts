import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';

// Real time (timeScale 1): a 2000-token answer would take ~15 s, so the request is surely
// in flight when the client goes away.
let server: EngineServer;

beforeAll(async () => {
  server = await startEngineServer({ model: 'm', profile: 'llama-3.1-8b-h100' });
});
afterAll(() => server.close());

const LONG = JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'a long answer please '.repeat(40) }], max_tokens: 2000, ignore_eos: true });

function open(stream: boolean) {
  const body = stream ? LONG.replace('"ignore_eos":true', '"ignore_eos":true,"stream":true') : LONG;
  const req = request(`${server.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
  req.on('error', () => {}); // we destroy it on purpose
  req.end(body);
  return req;
}

async function until(cond: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + '{'))!;
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('a client that goes away', () => {
  it('mid-stream: its request is aborted and its KV blocks freed at once', async () => {
    const req = open(true);
    const firstChunk = await new Promise<string>((resolve) => req.on('response', (res) => res.once('data', (d: Buffer) => resolve(d.toString()))));
    expect(firstChunk).toContain('"role":"assistant"');
    expect(await metric('vllm:num_requests_running')).toBe(1);
    expect(await metric('vllm:kv_cache_usage_perc')).toBeGreaterThan(0);
    req.destroy();
    await until(() => server.stats().running === 0, 500);
    expect(await metric('vllm:num_requests_running')).toBe(0);
    expect(await metric('vllm:kv_cache_usage_perc')).toBe(0);
    expect(server.stats().aborted).toBe(1);
  });

  it('before a non-streamed answer: the same', async () => {
    const req = open(false);
    await until(() => server.stats().running === 1);
    expect(server.stats().kvUsage).toBeGreaterThan(0);
    req.destroy();
    await until(() => server.stats().running === 0, 500);
    expect(server.stats()).toMatchObject({ kvUsage: 0, aborted: 2, waiting: 0 });
    const text = await (await fetch(`${server.url}/metrics`)).text();
    expect(text).toMatch(/^vllm:request_success_total\{model_name="m",engine="0",finished_reason="abort"\} 2\.0$/m);
  });
});
