import { z } from 'zod';

// What the platform shows of itself: traces (OpenTelemetry, OTLP/HTTP), the metrics' options, and
// service level objectives with their error budgets and burn-rate alerts (docs/observability.md).

/** An OTLP/HTTP endpoint: the collector's full signal path, such as http://collector:4318/v1/traces. */
const otlpUrl = z.url({ protocol: /^https?$/, hostname: /^.+$/, error: 'must be an http:// or https:// URL, such as http://127.0.0.1:4318/v1/traces' });

/** Header values sent to the collector (an auth token, a tenant id); never logged. */
const otlpHeaders = z.record(z.string().min(1), z.string()).default({});

export const tracingSchema = z.strictObject({
  /** off by default: an untraced gateway does no tracing work at all */
  enabled: z.boolean().default(false),
  /** OTLP/HTTP (JSON) traces endpoint; OTEL_EXPORTER_OTLP_TRACES_ENDPOINT overrides it */
  endpoint: otlpUrl.default('http://127.0.0.1:4318/v1/traces'),
  headers: otlpHeaders,
  /**
   * the share of requests that start a trace of their own (0–1); a request whose client sent a
   * sampled `traceparent` is traced whatever this says (parent-based sampling)
   */
  sampleRate: z.number().min(0).max(1).default(1),
  /** the `service.name` resource attribute */
  serviceName: z.string().min(1).max(200).default('switchyard'),
  /** spans are sent in batches of up to this many, at least every `exportIntervalMs` */
  maxBatchSize: z.number().int().positive().max(10_000).default(512),
  exportIntervalMs: z.number().int().positive().default(5_000),
  /** spans kept while the collector is slow or down; beyond this the newest are dropped (and counted) */
  maxQueueSize: z.number().int().positive().max(1_000_000).default(4_096),
}).prefault({});

export const metricsOptionsSchema = z.strictObject({
  /**
   * the tenants that get their own label value on the per-tenant series; the rest are counted
   * under `tenant="other"`, so a tenant count in the thousands cannot blow up /metrics
   */
  maxTenantSeries: z.number().int().nonnegative().max(10_000).default(20),
  /** re-export each replica's last scraped vLLM metrics on /metrics, with `replica`, `model` and `region` labels */
  replicaMetrics: z.boolean().default(true),
  /** push the gateway's metrics to an OTLP/HTTP collector as well (they stay on /metrics) */
  otlp: z.strictObject({
    enabled: z.boolean().default(false),
    /** OTEL_EXPORTER_OTLP_METRICS_ENDPOINT overrides it */
    endpoint: otlpUrl.default('http://127.0.0.1:4318/v1/metrics'),
    headers: otlpHeaders,
    intervalMs: z.number().int().min(1_000).default(15_000),
  }).prefault({}),
}).prefault({});

export const observabilitySchema = z.strictObject({
  tracing: tracingSchema,
  metrics: metricsOptionsSchema,
}).prefault({});

/**
 * The latency thresholds a latency objective may use, in ms: each is a bucket bound of the
 * gateway's latency histograms and a column of the ledger's minute roll-up, so the gateway, its
 * restart back-fill and the Prometheus rules all count the same requests as good.
 */
export const SLO_LATENCY_BOUNDS_MS = [250, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000] as const;

const sloName = z.string().min(1).max(100).regex(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/, 'must be lower-case letters, digits, `-`, `_` or `.` (it names metrics labels and alerts)');

const sloCommon = {
  name: sloName,
  /** the model it holds for (its public id), or `*` for every model together */
  model: z.string().min(1).default('*'),
  /** the tier it holds for, or `*` for every tier together */
  tier: z.string().min(1).default('*'),
  /** the share of valid requests that must be good, such as 0.999 (three nines) */
  objective: z.number().gt(0).lt(1),
  /** the rolling window the error budget is counted over */
  windowDays: z.number().int().min(1).max(90).default(30),
};

export const sloSchema = z.discriminatedUnion('kind', [
  /** good: answered without a server-side failure (status < 500); client errors (4xx, 499) do not count */
  z.strictObject({ kind: z.literal('availability'), ...sloCommon }),
  /** good: a successful request that met the threshold; failed requests count against it too */
  z.strictObject({
    kind: z.literal('latency'),
    ...sloCommon,
    /** `ttft`: time to first token of streamed requests; `latency`: the whole request */
    signal: z.enum(['ttft', 'latency']).default('ttft'),
    thresholdMs: z.number().refine((v) => (SLO_LATENCY_BOUNDS_MS as readonly number[]).includes(v), {
      message: `must be one of ${SLO_LATENCY_BOUNDS_MS.join(', ')} (the latency histograms' bucket bounds)`,
    }),
  }),
], { error: 'each SLO needs `kind`: availability or latency' });

export type TracingConfig = z.infer<typeof tracingSchema>;
export type MetricsOptions = z.infer<typeof metricsOptionsSchema>;
export type ObservabilityConfig = z.infer<typeof observabilitySchema>;
export type SloConfig = z.infer<typeof sloSchema>;
