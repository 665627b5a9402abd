import { ExportResultCode } from '@opentelemetry/core';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { loadConfig, type TracingConfig } from '../../src/config/index.js';
import { createLogger } from '../../src/observe/index.js';
import { createTracing } from '../../src/observe/tracing/index.js';
import type { Tracing } from '../../src/observe/types.js';
import { ManualTime } from '../../src/time/index.js';

// The tracer on its own, against an in-memory exporter: who is sampled, what context a call
// carries, how a trace ends; and the OTEL_* variables over the file.

const cfg = (over: Partial<TracingConfig> = {}): TracingConfig => ({ ...loadConfig(undefined, { env: {} }).observability.tracing, enabled: true, exportIntervalMs: 1, ...over });
const log = createLogger('silent');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';
const replica = { id: 'us-east/r/0', region: 'us-east', url: 'http://10.0.0.7:8000/v1', protocol: 'openai', servedModel: 'm' };

/** An exporter that keeps what it is sent (past its shutdown, unlike the SDK's in-memory one). */
class Kept implements SpanExporter {
  readonly spans: ReadableSpan[] = [];
  export(s: ReadableSpan[], done: (r: { code: ExportResultCode }) => void): void {
    this.spans.push(...s);
    done({ code: ExportResultCode.SUCCESS });
  }
  async shutdown(): Promise<void> {}
}

async function spans(t: Tracing, mem: Kept): Promise<ReadableSpan[]> {
  await t.close();
  return mem.spans;
}

describe('sampling', () => {
  it('follows the client’s sampled flag whatever the rate, and the rate for a trace of its own', () => {
    const all = createTracing(cfg({ sampleRate: 1 }), { log, exporter: new Kept() })!;
    const none = createTracing(cfg({ sampleRate: 0 }), { log, exporter: new Kept() })!;
    expect(all.start({ traceparent: `00-${TRACE}-${PARENT}-00` }, 'openai', 0, 1e12)).toBeNull();
    expect(none.start({ traceparent: `00-${TRACE}-${PARENT}-01` }, 'openai', 0, 1e12)).not.toBeNull();
    expect(all.start({}, 'openai', 0, 1e12)).not.toBeNull();
    expect(none.start({}, 'openai', 0, 1e12)).toBeNull();
  });

  it('samples about the configured share of new traces', () => {
    const t = createTracing(cfg({ sampleRate: 0.1 }), { log, exporter: new Kept() })!;
    let n = 0;
    for (let i = 0; i < 20_000; i++) if (t.start({}, 'openai', 0, 1e12) !== null) n++;
    expect(n).toBeGreaterThan(1_700);
    expect(n).toBeLessThan(2_300);
  });

  it('is off: no tracer at all', () => {
    expect(createTracing(cfg({ enabled: false }), { log })).toBeNull();
  });
});

describe('a request’s trace', () => {
  it('gives each call a context of its own span, the client’s tracestate kept', async () => {
    const mem = new Kept();
    const t = createTracing(cfg(), { log, exporter: mem })!;
    const r = t.start({ traceparent: `00-${TRACE}-${PARENT}-01`, tracestate: 'a=1,b=2' }, 'anthropic', 100, 1_700_000_000_000)!;
    const call = r.attempt(replica, 1, 110);
    expect(call.headers.traceparent).toMatch(new RegExp(`^00-${TRACE}-[0-9a-f]{16}-01$`));
    expect(call.headers.tracestate).toBe('a=1,b=2');
    call.end(130);
    r.end({ requestId: 'req_1', status: 200, outcome: 'ok', record: null, maxTokens: null, priority: null }, 150);
    const got = await spans(t, mem);
    const client = got.find((s) => s.name === 'chat m')!;
    expect(client.spanContext().spanId).toBe(call.headers.traceparent.split('-')[2]);
    expect(client.attributes).toMatchObject({ 'server.address': '10.0.0.7', 'server.port': 8000, 'switchyard.attempt': 1 });
    const root = got.find((s) => s.name === 'chat')!;
    expect(root.parentSpanContext?.spanId).toBe(PARENT);
    // monotonic readings, placed on the arrival's epoch: 50 ms long, starting at arrival
    expect(root.startTime).toEqual([1_700_000_000, 0]);
    expect(root.endTime).toEqual([1_700_000_000, 50_000_000]);
    expect(client.startTime).toEqual([1_700_000_000, 10_000_000]);
  });

  it('ends the calls nobody heard the end of with the request, as cancelled, and ends once', async () => {
    const mem = new Kept();
    const t = createTracing(cfg(), { log, exporter: mem })!;
    const r = t.start({}, 'openai', 0, 1e12)!;
    r.attempt(replica, 1, 1);
    r.attempt(replica, 2, 2);
    r.firstByte(5);
    r.answered('m', 'id-1', null);
    r.answered('m', 'id-1', 'stop');
    const ending = { requestId: 'req_2', status: 499, outcome: 'cancelled', record: null, maxTokens: 9, priority: 'batch' } as const;
    r.end(ending, 9);
    r.end(ending, 12);
    r.stage('auth', 0, 1);
    const got = await spans(t, mem);
    expect(got.map((s) => s.name).sort()).toEqual(['chat', 'chat m', 'chat m', 'relay']);
    for (const s of got.filter((x) => x.name === 'chat m')) expect(s.attributes['error.type']).toBe('cancelled');
    const root = got.find((s) => s.name === 'chat')!;
    expect(root.attributes).toMatchObject({ 'error.type': 'cancelled', 'gen_ai.response.finish_reasons': ['stop'], 'gen_ai.response.id': 'id-1', 'gen_ai.request.max_tokens': 9, 'switchyard.priority': 'batch', 'http.response.status_code': 499 });
    expect(root.status.code).toBe(2);
  });
});

describe('closing', () => {
  it('is bounded when the exporter never answers', async () => {
    const time = new ManualTime();
    const stuck: SpanExporter = { export: () => {}, shutdown: () => new Promise(() => {}) };
    const t = createTracing(cfg(), { log, exporter: stuck, time: { clock: time, timers: time, rng: Math.random } })!;
    t.start({}, 'openai', 0, 1e12)!.end({ requestId: 'r', status: 200, outcome: 'ok', record: null, maxTokens: null, priority: null }, 1);
    let closed = false;
    const p = t.close().then(() => { closed = true; });
    await Promise.resolve();
    expect(closed).toBe(false);
    time.advance(3_000);
    await p;
    expect(closed).toBe(true);
    expect(t.start({}, 'openai', 0, 1e12)).toBeNull();
  });

  it('tells the log of failed exports at most once a minute, without the collector’s headers', async () => {
    const time = new ManualTime();
    const lines: Array<Record<string, unknown>> = [];
    const spy = { warn: (o: Record<string, unknown>) => void lines.push(o) } as unknown as ReturnType<typeof createLogger>;
    const failing: SpanExporter = { export: (_s, done) => done({ code: ExportResultCode.FAILED, error: new Error('ECONNREFUSED') }), shutdown: async () => {} };
    const t = createTracing(cfg({ headers: { authorization: 'Bearer very-secret' }, maxBatchSize: 1 }), { log: spy, exporter: failing, time: { clock: time, timers: time, rng: Math.random } })!;
    for (let i = 0; i < 5; i++) t.start({}, 'openai', 0, 1e12)!.end({ requestId: `r${i}`, status: 200, outcome: 'ok', record: null, maxTokens: null, priority: null }, 1);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => globalThis.setTimeout(r, 20));
    expect(lines.length).toBe(1);
    time.advance(60_000);
    await t.close();
    expect(lines.length).toBe(2);
    expect(lines.reduce((n, l) => n + Number(l.failedBatches), 0)).toBe(5);
    expect(JSON.stringify(lines)).not.toContain('very-secret');
  });
});

describe('the OTEL_* variables', () => {
  const tracing = (env: Record<string, string>, file?: object) => loadConfig(undefined, { env }).observability.tracing;

  it('take the traces endpoint as is, or the base endpoint with /v1/traces', () => {
    expect(tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/custom' }).endpoint).toBe('http://c:4318/custom');
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' }).endpoint).toBe('http://c:4318/v1/traces');
    expect(tracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://t:4318/v1/traces' }).endpoint).toBe('http://t:4318/v1/traces');
    expect(tracing({}).endpoint).toBe('http://127.0.0.1:4318/v1/traces');
  });

  it('set the sample rate, the service name, and turn tracing on or off', () => {
    const t = tracing({ OTEL_TRACES_SAMPLER_ARG: '0.25', OTEL_SERVICE_NAME: 'edge-gw', OTEL_TRACES_EXPORTER: 'otlp' });
    expect(t).toMatchObject({ sampleRate: 0.25, serviceName: 'edge-gw', enabled: true });
    expect(tracing({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' }).enabled).toBe(false);
    expect(tracing({ OTEL_TRACES_EXPORTER: 'none' }).enabled).toBe(false);
    expect(tracing({}).enabled).toBe(false);
  });

  it('say what is wrong with a bad value', () => {
    expect(() => tracing({ OTEL_TRACES_SAMPLER_ARG: '2' })).toThrow(/OTEL_TRACES_SAMPLER_ARG must be a number from 0 to 1/);
    expect(() => tracing({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER must be otlp or none/);
    expect(() => tracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'not a url' })).toThrow(/observability\.tracing\.endpoint/);
  });
});
