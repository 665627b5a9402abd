import type { Attributes } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { ExportResultCode, millisToHrTime, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality, DataPointType, MeterProvider, PeriodicExportingMetricReader,
  type CollectionResult, type DataPoint, type Histogram, type MetricData, type MetricProducer, type PushMetricExporter, type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { MetricObjectWithValues, MetricValue, MetricValueWithName, Registry } from 'prom-client';
import type { MetricsOptions } from '../config/index.js';
import { wallClock, type Clock } from '../time/index.js';
import { GENAI_ATTRIBUTES, GENAI_INSTRUMENTS } from './genai.js';
import type { Logger } from './log.js';

// The gateway's metrics pushed over OTLP/HTTP (JSON) as well as served on /metrics: the
// prom-client registry stays the one source, read at each export by a MetricProducer that turns its
// values into OTLP data — counters into cumulative monotonic sums, gauges into gauges, histograms
// into explicit-bucket histograms (per-bucket counts; Prometheus' are cumulative), and the GenAI
// series back into their semconv names and attributes.

export type OtlpMetricsConfig = MetricsOptions['otlp'];

export interface OtlpMetricsDeps {
  readonly log: Pick<Logger, 'warn' | 'error'>;
  /** stamps the points (default: the wall clock) */
  readonly clock?: Clock;
  /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT overrides the configured endpoint (default: process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** the `service.name` resource attribute; default `switchyard` */
  readonly serviceName?: string;
}

export interface OtlpMetrics {
  /** exports the current values now */
  flush(): Promise<void>;
  /** exports one last time and stops */
  close(): Promise<void>;
}

/** Starts the periodic push; null when `cfg.enabled` is off. */
export function startOtlpMetrics(registry: Registry, cfg: OtlpMetricsConfig, deps: OtlpMetricsDeps): OtlpMetrics | null {
  if (!cfg.enabled) return null;
  const env = deps.env ?? process.env;
  const url = env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT?.trim() || cfg.endpoint;
  // an export (its retries included) gives up before the next one is due
  const timeoutMillis = Math.min(cfg.intervalMs, 10_000);
  const exporter = new Reporting(new OTLPMetricExporter({ url, headers: { ...cfg.headers }, temporalityPreference: AggregationTemporality.CUMULATIVE, timeoutMillis }), loggable(url), deps.log);
  const reader = new PeriodicExportingMetricReader({
    exporter,
    exportIntervalMillis: cfg.intervalMs,
    exportTimeoutMillis: timeoutMillis,
    metricProducers: [new RegistryProducer(registry, deps.clock ?? wallClock)],
  });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ 'service.name': deps.serviceName ?? 'switchyard' }), readers: [reader] });
  let closing: Promise<void> | null = null;
  return {
    flush: () => reader.forceFlush(),
    close() {
      closing ??= provider.shutdown().catch((err: unknown) => {
        deps.log.warn({ err: String(err), endpoint: loggable(url) }, 'the last OTLP metrics export failed');
      });
      return closing;
    },
  };
}

/**
 * The endpoint as logged: without user info or query, which can carry a token just as the headers
 * can (`https://user:key@collector/v1/metrics`, `…?api-key=…`).
 */
function loggable(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}${u.search === '' ? '' : '?…'}`;
  } catch {
    return '(an endpoint that is not a URL)';
  }
}

/** Logs failed exports when they start and when they end (never the headers: they may carry a token). */
class Reporting implements PushMetricExporter {
  #failing = 0;
  constructor(private readonly inner: OTLPMetricExporter, private readonly url: string, private readonly log: OtlpMetricsDeps['log']) {}

  export(metrics: ResourceMetrics, done: (r: ExportResult) => void): void {
    this.inner.export(metrics, (r) => {
      if (r.code === ExportResultCode.SUCCESS) {
        if (this.#failing > 0) this.log.warn({ endpoint: this.url, failures: this.#failing }, 'OTLP metrics export works again');
        this.#failing = 0;
      } else if (this.#failing++ === 0) {
        this.log.warn({ endpoint: this.url, err: r.error?.message ?? 'unknown' }, 'OTLP metrics export failed; the metrics stay on /metrics, retrying each interval');
      }
      done(r);
    });
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  selectAggregationTemporality(): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }
}

/** Reads the prom-client registry's values as OTLP metric data, at each export. */
class RegistryProducer implements MetricProducer {
  readonly #start: ReturnType<typeof millisToHrTime>;

  constructor(private readonly registry: Registry, private readonly clock: Clock) {
    // cumulative points count from when this gateway started pushing (its counters from its start)
    this.#start = millisToHrTime(clock.nowMs());
  }

  async collect(): Promise<CollectionResult> {
    const errors: unknown[] = [];
    const metrics: MetricData[] = [];
    const end = millisToHrTime(this.clock.nowMs());
    for (const m of await this.registry.getMetricsAsJSON()) {
      try {
        const d = toOtlp(m, this.#start, end);
        if (d !== null) metrics.push(d);
      } catch (err) {
        errors.push(err);
      }
    }
    return {
      resourceMetrics: { resource: resourceFromAttributes({}), scopeMetrics: [{ scope: { name: 'switchyard' }, metrics }] },
      errors,
    };
  }
}

type Time = ReturnType<typeof millisToHrTime>;

/** One prom-client metric as OTLP data; null for a kind OTLP gets no point of (summaries). */
function toOtlp(m: MetricObjectWithValues<MetricValue<string>>, start: Time, end: Time): MetricData | null {
  const genai = GENAI_INSTRUMENTS[m.name];
  const attrs = genai === undefined ? plainAttributes : genAiAttributes;
  const descriptor = {
    name: genai?.name ?? m.name,
    description: m.help,
    unit: genai?.unit ?? (m.name.endsWith('_seconds') ? 's' : ''),
    valueType: ValueType.DOUBLE,
  };
  switch (m.type as unknown as string) {
    case 'counter':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.SUM, isMonotonic: true,
        dataPoints: m.values.map((v) => ({ startTime: start, endTime: end, attributes: attrs(v.labels), value: v.value })),
      };
    case 'gauge':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.GAUGE,
        dataPoints: m.values.map((v) => ({ startTime: end, endTime: end, attributes: attrs(v.labels), value: v.value })),
      };
    case 'histogram':
      return {
        descriptor, aggregationTemporality: AggregationTemporality.CUMULATIVE, dataPointType: DataPointType.HISTOGRAM,
        dataPoints: histogramPoints(m.name, m.values as MetricValueWithName<string>[], attrs, start, end),
      };
    default:
      return null;
  }
}

/**
 * prom-client prints a histogram as `_bucket{le}` (cumulative counts), `_sum` and `_count` per
 * label set; OTLP wants one point per label set with the count in each bucket alone.
 */
function histogramPoints(name: string, values: readonly MetricValueWithName<string>[], attrs: (l: object) => Attributes, start: Time, end: Time): DataPoint<Histogram>[] {
  const sets = new Map<string, { labels: Record<string, string | number>; bounds: Array<[number, number]>; sum: number; count: number }>();
  for (const v of values) {
    const { le, ...labels } = v.labels as Record<string, string | number>;
    const key = JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    let s = sets.get(key);
    if (s === undefined) sets.set(key, (s = { labels, bounds: [], sum: 0, count: 0 }));
    if (v.metricName === `${name}_bucket`) {
      if (le !== '+Inf' && le !== undefined) s.bounds.push([Number(le), v.value]);
    } else if (v.metricName === `${name}_sum`) s.sum = v.value;
    else if (v.metricName === `${name}_count`) s.count = v.value;
  }
  const out: DataPoint<Histogram>[] = [];
  for (const s of sets.values()) {
    s.bounds.sort((a, b) => a[0] - b[0]);
    const boundaries = s.bounds.map((b) => b[0]);
    const counts: number[] = [];
    let below = 0;
    for (const [, cumulative] of s.bounds) {
      counts.push(cumulative - below);
      below = cumulative;
    }
    counts.push(s.count - below); // above the last bound: +Inf's share
    out.push({ startTime: start, endTime: end, attributes: attrs(s.labels), value: { buckets: { boundaries, counts }, sum: s.sum, count: s.count } });
  }
  return out;
}

function plainAttributes(labels: object): Attributes {
  return { ...(labels as Attributes) };
}

function genAiAttributes(labels: object): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(labels as Record<string, string | number>)) {
    // `error_type="none"`: semconv sets error.type only when the operation failed
    if (k === 'error_type' && v === 'none') continue;
    out[GENAI_ATTRIBUTES[k] ?? k] = v;
  }
  return out;
}
