import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';

let server: EngineServer;
const MODEL = 'llama-3.3-70b';

beforeAll(async () => {
  server = await startEngineServer({ model: MODEL, profile: 'llama-3.3-70b-fp8-h100-tp2', timeScale: 50 });
});
afterAll(() => server.close());

const post = (path: string, body: unknown) => fetch(server.url + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

/** The value of one sample line, e.g. `vllm:num_requests_running{…}`. */
function sample(text: string, name: string, extra = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{model_name="${MODEL}",engine="0"${extra}} `));
  if (!line) throw new Error(`no sample ${name}${extra}`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('vLLM info endpoints', () => {
  it('answers /health with an empty 200', async () => {
    const res = await fetch(`${server.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });

  it('lists the served model with owned_by vllm and max_model_len', async () => {
    const j = await (await fetch(`${server.url}/v1/models`)).json();
    expect(j.object).toBe('list');
    expect(j.data).toHaveLength(1);
    expect(j.data[0]).toMatchObject({ id: MODEL, object: 'model', owned_by: 'vllm', max_model_len: 131_072, parent: null });
  });

  it('answers /version', async () => {
    expect((await (await fetch(`${server.url}/version`)).json()).version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('tokenizes a prompt or chat messages like vLLM: count, max_model_len, tokens', async () => {
    const p = await (await post('/tokenize', { model: MODEL, prompt: 'the yard' })).json();
    expect(p).toMatchObject({ count: 3, max_model_len: 131_072 });
    expect(p.tokens[0]).toBe(128_000); // BOS
    const messages = [{ role: 'user', content: 'hello there' }];
    const m = await (await post('/tokenize', { model: MODEL, messages })).json();
    // the count is what a chat request with the same messages is billed
    const chat = await (await post('/v1/chat/completions', { model: MODEL, messages, max_tokens: 1 })).json();
    expect(m.count).toBe(chat.usage.prompt_tokens);
    expect((await post('/tokenize', { model: 'other', prompt: 'x' })).status).toBe(404);
  });

  it('answers unknown paths with FastAPI\'s 404', async () => {
    const res = await fetch(`${server.url}/v2/nothing`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ detail: 'Not Found' });
  });
});

describe('/metrics', () => {
  it('exposes vLLM\'s metric names with model_name and engine labels', async () => {
    await post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'warm up the counters' }], max_tokens: 4 });
    const res = await fetch(`${server.url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    for (const name of ['vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc']) {
      expect(text).toContain(`# TYPE ${name} gauge`);
      expect(sample(text, name)).toBe(0);
    }
    for (const name of ['vllm:prefix_cache_queries_total', 'vllm:prefix_cache_hits_total', 'vllm:num_preemptions_total', 'vllm:prompt_tokens_total', 'vllm:generation_tokens_total']) {
      expect(text).toContain(`# TYPE ${name} counter`);
    }
    expect(sample(text, 'vllm:generation_tokens_total')).toBeGreaterThanOrEqual(4);
    expect(sample(text, 'vllm:request_success_total', ',finished_reason="length"')).toBeGreaterThanOrEqual(1);
    for (const name of ['vllm:time_to_first_token_seconds', 'vllm:inter_token_latency_seconds', 'vllm:e2e_request_latency_seconds', 'vllm:request_queue_time_seconds']) {
      expect(text).toContain(`# TYPE ${name} histogram`);
      expect(sample(text, `${name}_count`)).toBeGreaterThanOrEqual(1);
    }
    expect(text).toMatch(/^vllm:cache_config_info\{block_size="16",.*enable_prefix_caching="True".*num_gpu_blocks="\d+".*engine="0"\} 1\.0$/m);
  });

  it('uses vLLM\'s exact histogram buckets', async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const les = (name: string) => [...text.matchAll(new RegExp(`^${name}_bucket\\{[^}]*le="([^"]+)"\\}`, 'gm'))].map((m) => m[1]);
    expect(les('vllm:time_to_first_token_seconds')).toEqual(
      ['0.001', '0.005', '0.01', '0.02', '0.04', '0.06', '0.08', '0.1', '0.25', '0.5', '0.75', '1.0', '2.5', '5.0', '7.5', '10.0', '20.0', '40.0', '80.0', '160.0', '640.0', '2560.0', '+Inf']);
    expect(les('vllm:inter_token_latency_seconds')).toEqual(
      ['0.01', '0.025', '0.05', '0.075', '0.1', '0.15', '0.2', '0.3', '0.4', '0.5', '0.75', '1.0', '2.5', '5.0', '7.5', '10.0', '20.0', '40.0', '80.0', '+Inf']);
    expect(les('vllm:e2e_request_latency_seconds')).toEqual(
      ['0.3', '0.5', '0.8', '1.0', '1.5', '2.0', '2.5', '5.0', '10.0', '15.0', '20.0', '30.0', '40.0', '50.0', '60.0', '120.0', '240.0', '480.0', '960.0', '1920.0', '7680.0', '+Inf']);
  });
});

describe('batching over HTTP', () => {
  it('serves concurrent requests in shared steps', async () => {
    const before = server.stats();
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      post('/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: `request ${i}` }], max_tokens: 20, ignore_eos: true }).then((r) => r.json())));
    expect(answers.every((a) => a.usage.completion_tokens === 20)).toBe(true);
    const after = server.stats();
    // 320 tokens in far fewer steps than one per token
    expect(after.steps - before.steps).toBeLessThan(120);
    expect(after.generationTokens - before.generationTokens).toBe(320);
  });

  it('does not step while idle', async () => {
    const steps = server.stats().steps;
    await new Promise((r) => setTimeout(r, 50));
    expect(server.stats().steps).toBe(steps);
    expect(process.getActiveResourcesInfo().filter((t) => t === 'Immediate')).toHaveLength(0);
  });
});
