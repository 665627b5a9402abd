import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Histogram, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observe/index.js';
import { startOtlpMetrics } from '../../src/observe/otlp-metrics.js';
import { scriptedPlatform } from '../gateway/support.js';
import { sample } from './metrics-text.js';

// The OTLP push: a collector (a node:http server reading OTLP/JSON on /v1/metrics) receives the
// registry's values — histograms with per-bucket counts, counters as cumulative sums, the GenAI
// series under their semconv names — and the endpoint's headers, which never reach a log.

interface Point { attributes: Record<string, unknown>; value?: number; count?: number; sum?: number; bucketCounts?: number[]; explicitBounds?: number[] }
interface Received { name: string; unit: string; kind: string; monotonic?: boolean; temporality?: number; points: Point[] }

/** A fake collector: every metric of every export, the last export's last; the headers it was sent. */
class Collector {
  readonly exports: Received[][] = [];
  readonly headers: Array<Record<string, string | string[] | undefined>> = [];
  #server: Server | null = null;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c)).on('end', () => {
        if (req.url !== '/v1/metrics' || req.method !== 'POST') return void res.writeHead(404).end();
        this.headers.push(req.headers);
        this.exports.push(parse(JSON.parse(body)));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => this.#server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}/v1/metrics`;
  }

  /** a metric in the latest export that has it */
  last(name: string): Received | undefined {
    for (let i = this.exports.length - 1; i >= 0; i--) {
      const m = this.exports[i].find((x) => x.name === name);
      if (m) return m;
    }
    return undefined;
  }

  close(): void {
    this.#server?.closeAllConnections();
    this.#server?.close();
  }
}

type Any = Record<string, any>;
function attrValue(v: Any): unknown {
  return v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : undefined) ?? v.doubleValue ?? v.boolValue;
}
function parse(body: Any): Received[] {
  const out: Received[] = [];
  for (const rm of body.resourceMetrics ?? []) for (const sm of rm.scopeMetrics ?? []) for (const m of sm.metrics ?? []) {
    const kind = ['sum', 'gauge', 'histogram'].find((k) => m[k] !== undefined) ?? 'other';
    const data = m[kind] ?? {};
    out.push({
      name: m.name, unit: m.unit ?? '', kind, monotonic: data.isMonotonic, temporality: data.aggregationTemporality,
      points: (data.dataPoints ?? []).map((p: Any) => ({
        attributes: Object.fromEntries((p.attributes ?? []).map((a: Any) => [a.key, attrValue(a.value)])),
        value: p.asDouble ?? (p.asInt !== undefined ? Number(p.asInt) : undefined),
        count: p.count !== undefined ? Number(p.count) : undefined, sum: p.sum,
        bucketCounts: p.bucketCounts?.map(Number), explicitBounds: p.explicitBounds,
      })),
    });
  }
  return out;
}

const quiet = { warn: vi.fn(), error: vi.fn() };
const config = (endpoint: string, headers: Record<string, string> = {}) => ({ enabled: true, endpoint, headers, intervalMs: 60_000 });

describe('the OTLP metrics push', () => {
  const c = new Collector();
  beforeAll(() => c.start());
  afterAll(() => c.close());

  it('is off unless enabled: nothing is started', () => {
    expect(startOtlpMetrics(new Registry(), { ...config(c.url), enabled: false }, { log: quiet })).toBeNull();
  });

  it('sends a histogram\'s buckets as per-bucket counts, a counter as a cumulative monotonic sum', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'x_seconds', help: 'x', labelNames: ['a'], buckets: [0.1, 1, 10], registers: [registry] });
    for (const v of [0.05, 0.5, 0.7, 5, 50]) h.observe({ a: 'one' }, v);
    new Counter({ name: 'y_total', help: 'y', registers: [registry] }).inc(7);
    const push = startOtlpMetrics(registry, config(c.url, { authorization: 'Bearer collector-secret' }), { log: quiet })!;
    await push.flush();
    await push.close();
    const x = c.last('x_seconds')!;
    expect(x).toMatchObject({ kind: 'histogram', unit: 's', temporality: 2 });
    expect(x.points).toEqual([expect.objectContaining({ attributes: { a: 'one' }, count: 5, sum: 56.25, explicitBounds: [0.1, 1, 10], bucketCounts: [1, 2, 1, 1] })]);
    expect(c.last('y_total')).toMatchObject({ kind: 'sum', monotonic: true, temporality: 2, points: [expect.objectContaining({ value: 7 })] });
    expect(c.headers.at(-1)!.authorization).toBe('Bearer collector-secret');
  });

  it('takes OTEL_EXPORTER_OTLP_METRICS_ENDPOINT over the configured endpoint', async () => {
    const registry = new Registry();
    new Counter({ name: 'z_total', help: 'z', registers: [registry] }).inc();
    const push = startOtlpMetrics(registry, config('http://127.0.0.1:9/v1/metrics'), { log: quiet, env: { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: c.url } })!;
    await push.close();
    expect(c.last('z_total')?.points[0].value).toBe(1);
  });

  it('logs a collector that refuses once, without its headers or the secrets of its URL, and never throws', async () => {
    const log = { warn: vi.fn(), error: vi.fn() };
    const registry = new Registry();
    new Counter({ name: 'w_total', help: 'w', registers: [registry] }).inc();
    // a short interval: an export (with its retries) gives up within it
    const push = startOtlpMetrics(registry, { ...config('http://collector-user:url-secret@127.0.0.1:9/v1/metrics?api-key=query-secret', { 'x-token': 'very-secret-token' }), intervalMs: 1_000 }, { log, env: {} })!;
    await push.flush().catch(() => {});
    await push.flush().catch(() => {});
    await push.close();
    expect(log.warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(log.warn.mock.calls)).toContain('127.0.0.1:9');
    const logged = JSON.stringify([...log.warn.mock.calls, ...log.error.mock.calls]);
    for (const secret of ['very-secret-token', 'url-secret', 'query-secret', 'collector-user']) expect(logged).not.toContain(secret);
  });
});

describe('a gateway pushing its metrics over OTLP', () => {
  const c = new Collector();
  beforeAll(() => c.start());
  afterAll(() => c.close());

  it('delivers gen_ai.server.time_to_first_token with the requests\' count and sum, and switchyard_requests_total', async () => {
    const KEY = 'sk-sy-otlp-metrics-test-key-000000000000000';
    const usage = { prompt_tokens: 20, completion_tokens: 3, total_tokens: 23 };
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;
    const p = await scriptedPlatform({
      key: KEY,
      log: createLogger('silent'),
      configure: (cfg) => { cfg.observability.metrics.otlp = config(c.url); },
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end('');
        q.resume().on('end', () => {
          s.writeHead(200, { 'content-type': 'text/event-stream' });
          s.end(chunk({ role: 'assistant', content: 'a' }) + chunk({ content: ' b c' }, 'stop') + 'data: [DONE]\n\n');
        });
      },
    });
    let text: string;
    try {
      for (let i = 0; i < 3; i++) {
        const r = await fetch(p.url + '/v1/chat/completions', {
          method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'llama-3.1-8b', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(r.status).toBe(200);
        await r.text();
      }
      text = await (await fetch(p.url + '/metrics')).text();
    } finally {
      await p.close(); // its last export
    }
    const labels = { gen_ai_operation_name: 'chat', gen_ai_provider_name: 'openai', gen_ai_request_model: 'llama-3.1-8b', tenant: 'all', region: 'us-east', input_size: '1k' };
    const ttft = c.last('gen_ai.server.time_to_first_token')!;
    expect(ttft).toMatchObject({ kind: 'histogram', unit: 's' });
    expect(ttft.points).toHaveLength(1);
    expect(ttft.points[0].attributes).toEqual({ 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'openai', 'gen_ai.request.model': 'llama-3.1-8b', tenant: 'all', region: 'us-east', input_size: '1k' });
    expect(ttft.points[0].count).toBe(3);
    expect(ttft.points[0].sum).toBeCloseTo(sample(text, 'gen_ai_server_time_to_first_token_seconds_sum', labels)!, 9);
    expect(ttft.points[0].bucketCounts!.reduce((a, b) => a + b, 0)).toBe(3);
    // error.type is set only on failures, as semconv has it
    const duration = c.last('gen_ai.server.request.duration')!;
    expect(duration.points[0].attributes).not.toHaveProperty('error.type');
    const requests = c.last('switchyard_requests_total')!;
    expect(requests).toMatchObject({ kind: 'sum', monotonic: true });
    expect(requests.points.find((x) => x.attributes.status === '200')?.value).toBe(3);
  });
});
