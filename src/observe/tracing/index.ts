import { readFileSync } from 'node:fs';
import { TraceFlags, type SpanContext } from '@opentelemetry/api';
import { parseTraceParent, TraceState } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, RandomIdGenerator, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { IncomingHttpHeaders } from 'node:http';
import type { TracingConfig } from '../../config/index.js';
import { wall, type TimePorts } from '../../time/index.js';
import type { Logger } from '../log.js';
import type { RequestTrace, Tracing } from '../types.js';
import { ReportingExporter } from './export.js';
import { OtelRequestTrace, type TraceShared } from './request.js';

// Traces of inference requests on the OpenTelemetry SDK, exported over OTLP/HTTP (JSON) in
// batches off the request path. Off (the default), there is no tracer at all: the gateway holds
// null, and nothing below runs.

/** How long `close()` may wait for the last batch before giving up on it. */
const CLOSE_BOUND_MS = 3_000;

export interface TracingOptions {
  readonly log: Logger;
  /** the clock failures are rate-limited on and the timers `close` is bounded by (default: the wall's) */
  readonly time?: TimePorts;
  /** where spans go instead of OTLP (a test's in-memory exporter) */
  readonly exporter?: SpanExporter;
}

/** The gateway's tracer, or null when tracing is off (then nothing is traced, at no cost). */
export function createTracing(cfg: TracingConfig, opts: TracingOptions): Tracing | null {
  if (!cfg.enabled) return null;
  const time = opts.time ?? wall;
  const inner = opts.exporter ?? new OTLPTraceExporter({ url: cfg.endpoint, headers: { ...cfg.headers }, timeoutMillis: Math.min(10_000, Math.max(1_000, cfg.exportIntervalMs)) });
  const exporter = new ReportingExporter(inner, opts.log, time.clock, withoutCredentials(cfg.endpoint));
  const processor = new BatchSpanProcessor(exporter, {
    maxExportBatchSize: Math.min(cfg.maxBatchSize, cfg.maxQueueSize),
    maxQueueSize: cfg.maxQueueSize,
    scheduledDelayMillis: cfg.exportIntervalMs,
    exportTimeoutMillis: 10_000,
  });
  const shared: TraceShared = {
    resource: resourceFromAttributes({ 'service.name': cfg.serviceName, 'service.version': VERSION }),
    scope: { name: 'switchyard', version: VERSION },
    processor,
    ids: new RandomIdGenerator(),
  };
  return new OtelTracing(shared, cfg.sampleRate, exporter, time);
}

/** The endpoint as logged: a user, password or query in the URL (where a token may ride) are not. */
function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '' && u.search === '') return url;
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString();
  } catch {
    return '(unparsable endpoint)';
  }
}

/** The package's version, read once: the `service.version` resource attribute. */
const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

/**
 * The client's span from its `traceparent` (and `tracestate`), or null when it sent none or a
 * malformed one (the request then starts a trace of its own). The W3C rules of the SDK's
 * propagator; its TraceState keeps at most 32 members and 512 characters of what came.
 */
function clientSpan(headers: IncomingHttpHeaders): SpanContext | null {
  const tp = headers.traceparent;
  if (typeof tp !== 'string') return null;
  const sc = parseTraceParent(tp);
  if (sc === null) return null;
  sc.isRemote = true;
  const ts = headers.tracestate;
  if (ts !== undefined) sc.traceState = new TraceState(Array.isArray(ts) ? ts.join(',') : ts);
  return sc;
}

/**
 * The tracer. Sampling is the SDK's ParentBased(TraceIdRatioBased(rate)) rule, decided here before
 * anything is made: a client's span decides by its sampled flag, a request of its own is sampled
 * with probability `rate` (the ratio sampler's trace ids are uniformly random, so this is the
 * same share). An unsampled request costs that decision and nothing else; a sampled one is a few
 * plain records sent to the batch processor when it ends (see request.ts).
 */
class OtelTracing implements Tracing {
  #closed = false;

  constructor(private readonly shared: TraceShared, private readonly rate: number, private readonly exporter: ReportingExporter, private readonly time: TimePorts) {}

  start(headers: IncomingHttpHeaders, wire: string, startMono: number, startEpochMs: number): RequestTrace | null {
    if (this.#closed) return null;
    let parent: SpanContext | null = null;
    if (headers.traceparent !== undefined) {
      parent = clientSpan(headers);
      if (parent !== null && (parent.traceFlags & TraceFlags.SAMPLED) === 0) return null;
    }
    // the ratio sampler's draw, from the Rng port (seeded in specs)
    if (parent === null && !(this.time.rng() < this.rate)) return null;
    return new OtelRequestTrace(this.shared, parent ?? undefined, wire, startMono, startEpochMs);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    let timer = null;
    const bound = new Promise<void>((resolve) => { timer = this.time.timers.after(CLOSE_BOUND_MS, resolve, undefined); });
    try {
      await Promise.race([this.shared.processor.shutdown().catch(() => undefined), bound]);
    } finally {
      this.time.timers.cancel(timer);
      this.exporter.closed();
    }
  }
}
