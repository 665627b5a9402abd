import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SLO_LATENCY_BOUNDS_MS } from '../../src/config/index.js';
import type { Platform } from '../../src/gateway/index.js';
import type { UsageRecord } from '../../src/ledger/index.js';
import { createGenAiMetrics, GENAI_DURATION_BUCKETS, GENAI_TOKEN_BUCKETS, GENAI_TPOT_BUCKETS, GENAI_TTFT_BUCKETS } from '../../src/observe/genai.js';
import { scriptedPlatform } from '../gateway/support.js';
import { sample } from './metrics-text.js';

// The GenAI semantic-convention metrics: what one settled request adds to each series, the label
// rules that keep the series bounded, and the buckets that reach long generations and every SLO bound.

function record(over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: 'req', startedAt: 0, tenantId: 'ten_a', workspaceId: 'wrk_a', keyId: 'key_a', tier: 'default',
    model: 'm', replica: 'r1', region: 'us-east', wire: 'openai', stream: true, status: 200, outcome: 'ok',
    inputTokens: 2_000, cachedInputTokens: 0, outputTokens: 11, ttftMs: 300, latencyMs: 1_300, costUsd: 0, ...over,
  };
}

/** The distinct values of `label` over the samples of `name`. */
function values(text: string, name: string, label: string): Set<string> {
  const out = new Set<string>();
  const re = new RegExp(`[{,]${label}="([^"]*)"`);
  for (const line of text.split('\n')) if (line.startsWith(name + '{')) out.add(re.exec(line)?.[1] ?? '');
  return out;
}

const base = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'm', tenant: 'all', region: 'us-east' };

function observer(o: { perTenant?: boolean; maxTenantSeries?: number } = {}) {
  const registry = new Registry();
  const obs = createGenAiMetrics(registry, {
    options: { maxTenantSeries: o.maxTenantSeries ?? 100, replicaMetrics: true, otlp: { enabled: false, endpoint: 'http://127.0.0.1:4318/v1/metrics', headers: {}, intervalMs: 15_000 } },
    served: (m) => m === 'm',
    ...(o.perTenant === undefined ? {} : { perTenant: o.perTenant }),
  });
  return { registry, obs, text: () => registry.metrics() };
}

describe('the GenAI buckets', () => {
  it('hold every SLO latency bound on TTFT and both durations, so an SLO can be read off a bucket', () => {
    for (const ms of SLO_LATENCY_BOUNDS_MS) {
      expect(GENAI_TTFT_BUCKETS).toContain(ms / 1000);
      expect(GENAI_DURATION_BUCKETS).toContain(ms / 1000);
    }
  });

  it('start at the semconv advice and reach long generations: TTFT to 10 minutes, durations past 20 minutes', () => {
    expect(GENAI_TTFT_BUCKETS[0]).toBe(0.001);
    expect(GENAI_TTFT_BUCKETS.at(-1)).toBeGreaterThanOrEqual(600);
    expect(GENAI_DURATION_BUCKETS.slice(0, 3)).toEqual([0.01, 0.02, 0.04]);
    expect(GENAI_DURATION_BUCKETS).toContain(81.92);
    expect(GENAI_DURATION_BUCKETS.at(-1)).toBeGreaterThanOrEqual(1_200);
    expect(GENAI_TPOT_BUCKETS.at(-1)).toBe(2.5);
    expect(GENAI_TOKEN_BUCKETS.slice(0, 4)).toEqual([1, 4, 16, 64]);
    for (const b of [GENAI_TTFT_BUCKETS, GENAI_DURATION_BUCKETS, GENAI_TPOT_BUCKETS, GENAI_TOKEN_BUCKETS]) {
      expect([...b].sort((x, y) => x - y)).toEqual(b);
      expect(new Set(b).size).toBe(b.length);
    }
  });
});

describe('a settled request', () => {
  it('streamed: adds its TTFT by input size, its time per output token, its duration under both names, and its tokens by type', async () => {
    const { obs, text } = observer();
    obs.settled(record(), 'default');
    const t = await text();
    const ttft = { ...base, input_size: '8k' };
    expect(sample(t, 'gen_ai_server_time_to_first_token_seconds_count', ttft)).toBe(1);
    expect(sample(t, 'gen_ai_server_time_to_first_token_seconds_sum', ttft)).toBeCloseTo(0.3);
    expect(sample(t, 'gen_ai_server_time_to_first_token_seconds_bucket', { ...ttft, le: '0.25' })).toBe(0);
    expect(sample(t, 'gen_ai_server_time_to_first_token_seconds_bucket', { ...ttft, le: '0.5' })).toBe(1);
    // (1300 − 300) ms ÷ (11 − 1) tokens
    expect(sample(t, 'gen_ai_server_time_per_output_token_seconds_sum', base)).toBeCloseTo(0.1);
    for (const name of ['gen_ai_server_request_duration_seconds', 'gen_ai_client_operation_duration_seconds']) {
      expect(sample(t, `${name}_sum`, { ...base, error_type: 'none' })).toBeCloseTo(1.3);
      expect(sample(t, `${name}_bucket`, { ...base, error_type: 'none', le: '1' })).toBe(0);
      expect(sample(t, `${name}_bucket`, { ...base, error_type: 'none', le: '2' })).toBe(1);
    }
    expect(sample(t, 'gen_ai_client_token_usage_sum', { ...base, gen_ai_token_type: 'input' })).toBe(2_000);
    expect(sample(t, 'gen_ai_client_token_usage_sum', { ...base, gen_ai_token_type: 'output' })).toBe(11);
  });

  it('sorts TTFT by prompt size: up to 1k, 8k, 32k tokens, and more', async () => {
    const { obs, text } = observer();
    for (const inputTokens of [1_024, 1_025, 8_192, 32_768, 32_769, 500_000]) obs.settled(record({ inputTokens }), 'default');
    const t = await text();
    const count = (input_size: string) => sample(t, 'gen_ai_server_time_to_first_token_seconds_count', { ...base, input_size });
    expect([count('1k'), count('8k'), count('32k'), count('more')]).toEqual([1, 2, 1, 2]);
  });

  it('not streamed: has no TTFT nor time per output token, but its duration and tokens', async () => {
    const { obs, text } = observer();
    obs.settled(record({ stream: false, ttftMs: null, wire: 'anthropic' }), 'default');
    const t = await text();
    const a = { ...base, gen_ai_provider_name: 'anthropic' };
    expect(t).not.toMatch(/^gen_ai_server_time_to_first_token_seconds_count/m);
    expect(t).not.toMatch(/^gen_ai_server_time_per_output_token_seconds_count/m);
    expect(sample(t, 'gen_ai_server_request_duration_seconds_count', { ...a, error_type: 'none' })).toBe(1);
    expect(sample(t, 'gen_ai_client_token_usage_count', { ...a, gen_ai_token_type: 'output' })).toBe(1);
  });

  it('with one output token: has no time per output token (there is no second token to time)', async () => {
    const { obs, text } = observer();
    obs.settled(record({ outputTokens: 1 }), 'default');
    expect(await text()).not.toMatch(/^gen_ai_server_time_per_output_token_seconds_count/m);
  });

  it('failed: is timed with its outcome as error_type, and without tokens has no token observation', async () => {
    const { obs, text } = observer();
    obs.settled(record({ status: 502, outcome: 'upstream_error', inputTokens: 0, outputTokens: 0, ttftMs: null }), 'default');
    obs.settled(record({ status: 504, outcome: 'timeout', outputTokens: 0, ttftMs: null }), 'default');
    const t = await text();
    expect(sample(t, 'gen_ai_server_request_duration_seconds_count', { ...base, error_type: 'upstream_error' })).toBe(1);
    expect(sample(t, 'gen_ai_client_operation_duration_seconds_count', { ...base, error_type: 'timeout' })).toBe(1);
    expect(sample(t, 'gen_ai_client_token_usage_count', { ...base, gen_ai_token_type: 'input' })).toBe(1);
    expect(t).not.toMatch(/^gen_ai_client_token_usage_count\{[^}]*gen_ai_token_type="output"/m);
  });

  it('refused before a model or replica was known: model `unknown`, region `none`; a model not served is `unknown` too', async () => {
    const { obs, text } = observer();
    obs.settled(record({ model: '', replica: null, region: null, status: 400, outcome: 'client_error', stream: false, ttftMs: null, inputTokens: 0, outputTokens: 0 }), 'default');
    obs.settled(record({ model: 'no-such-model', region: null, status: 404, outcome: 'client_error', stream: false, ttftMs: null }), 'default');
    const t = await text();
    expect(sample(t, 'gen_ai_server_request_duration_seconds_count', { ...base, gen_ai_request_model: 'unknown', region: 'none', error_type: 'client_error' })).toBe(2);
    expect(values(t, 'gen_ai_server_request_duration_seconds_count', 'gen_ai_request_model')).toEqual(new Set(['unknown']));
  });
});

describe('the tenant label', () => {
  it('is `all` unless per-tenant series are asked for (an open /metrics is anyone\'s to read)', async () => {
    const { obs, text } = observer();
    obs.settled(record({ tenantId: 'ten_a' }), 'default');
    obs.settled(record({ tenantId: 'ten_b' }), 'default');
    const t = await text();
    expect(values(t, 'gen_ai_server_request_duration_seconds_count', 'tenant')).toEqual(new Set(['all']));
    expect(sample(t, 'gen_ai_server_request_duration_seconds_count', { ...base, error_type: 'none' })).toBe(2);
  });

  it('takes at most maxTenantSeries + 1 values over 10,000 tenants: the first ones seen, then `other`', async () => {
    const { obs, text } = observer({ perTenant: true, maxTenantSeries: 50 });
    for (let i = 0; i < 10_000; i++) obs.settled(record({ tenantId: `ten_${i}` }), 'default');
    obs.settled(record({ tenantId: 'ten_3' }), 'default');
    const t = await text();
    for (const name of ['gen_ai_server_time_to_first_token_seconds_count', 'gen_ai_server_request_duration_seconds_count', 'gen_ai_client_token_usage_count']) {
      const tenants = values(t, name, 'tenant');
      expect(tenants.size).toBe(51);
      expect(tenants.has('other')).toBe(true);
      expect(tenants.has('ten_49')).toBe(true);
      expect(tenants.has('ten_50')).toBe(false);
    }
    const dur = (tenant: string) => sample(t, 'gen_ai_server_request_duration_seconds_count', { ...base, tenant, error_type: 'none' });
    expect(dur('ten_3')).toBe(2);
    expect(dur('other')).toBe(10_000 - 50);
  });

  it('with maxTenantSeries 0: every tenant is `other`', async () => {
    const { obs, text } = observer({ perTenant: true, maxTenantSeries: 0 });
    obs.settled(record({ tenantId: 'ten_a' }), 'default');
    expect(values(await text(), 'gen_ai_server_request_duration_seconds_count', 'tenant')).toEqual(new Set(['other']));
  });
});

describe('the GenAI series on a real gateway\'s /metrics', () => {
  const KEY = 'sk-sy-genai-metrics-test-key-0000000000000000';
  const usage = { prompt_tokens: 1_500, completion_tokens: 5, total_tokens: 1_505 };
  const chunk = (delta: object, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
  let p: Platform;
  beforeAll(async () => {
    p = await scriptedPlatform({
      key: KEY,
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end('');
        let body = '';
        q.on('data', (c) => (body += c)).on('end', () => {
          if (JSON.parse(body).stream === true) {
            s.writeHead(200, { 'content-type': 'text/event-stream' });
            s.end(chunk({ role: 'assistant', content: 'a b c' }) + chunk({ content: ' d e' }, 'stop') + 'data: [DONE]\n\n');
          } else {
            s.writeHead(200, { 'content-type': 'application/json' });
            s.end(JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage }));
          }
        });
      },
    });
  });
  afterAll(async () => {
    await p?.close();
  });

  it('count a streamed OpenAI request and a non-streamed Anthropic one, under the wire each client spoke', async () => {
    const post = (path: string, body: object, headers: Record<string, string>) =>
      fetch(p.url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const o = await post('/v1/chat/completions', { model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }, { authorization: `Bearer ${KEY}` });
    expect(o.status).toBe(200);
    const a = await post('/v1/messages', { model: 'llama-3.1-8b', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }, { 'x-api-key': KEY, 'anthropic-version': '2023-06-01' });
    expect(a.status).toBe(200);
    const t = await (await fetch(p.url + '/metrics')).text();
    const at = { gen_ai_operation_name: 'chat', gen_ai_request_model: 'llama-3.1-8b', tenant: 'all', region: 'us-east' };
    expect(sample(t, 'gen_ai_server_time_to_first_token_seconds_count', { ...at, gen_ai_provider_name: 'openai', input_size: '8k' })).toBe(1);
    expect(sample(t, 'gen_ai_server_time_per_output_token_seconds_count', { ...at, gen_ai_provider_name: 'openai' })).toBe(1);
    expect(sample(t, 'gen_ai_server_request_duration_seconds_count', { ...at, gen_ai_provider_name: 'anthropic', error_type: 'none' })).toBe(1);
    expect(sample(t, 'gen_ai_client_token_usage_sum', { ...at, gen_ai_provider_name: 'anthropic', gen_ai_token_type: 'output' })).toBe(5);
    expect(sample(t, 'gen_ai_client_token_usage_sum', { ...at, gen_ai_provider_name: 'openai', gen_ai_token_type: 'input' })).toBe(1_500);
    // the gateway's own series stay beside them
    expect(t).toMatch(/^switchyard_requests_total\{/m);
  });
});
