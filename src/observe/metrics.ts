import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// The gateway's own metrics, Prometheus names with the `switchyard_` prefix. Histogram buckets
// follow vLLM's for TTFT and request latency, so gateway and replica figures line up on one chart.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'model' | 'status' | 'outcome'>;
  readonly latency: Histogram<'api' | 'model'>;
  readonly ttft: Histogram<'api' | 'model'>;
  readonly upstreamFailures: Counter<'replica' | 'kind'>;
  readonly retries: Counter<'model'>;
  readonly retryOverflow: Counter<'model'>;
  readonly hedges: Counter<'model'>;
  readonly inflight: Gauge;
  readonly authFailures: Counter;
  /** requests turned away by admission (the pool's wait would break their deadline, or its queue is full) */
  readonly shed: Counter<'model' | 'priority' | 'reason'>;
  /** time admitted requests waited in the gateway's queue for a slot */
  readonly wait: Histogram<'model' | 'priority'>;
  /** admissions the rate limiter decided on this instance's own buckets because its shared store failed */
  readonly limiterFallbacks: Counter<'mode'>;
  /** requests refused because their workspace reached its monthly spend limit */
  readonly spendLimited: Counter;
  /** throws and rejections the error boundary caught, by where they happened (`process`: escaped every handler) */
  readonly internalErrors: Counter<'stage'>;
}

/** Live values read at scrape time, so the hot path never touches a gauge for them. */
export interface ScrapeSources {
  replicas(): Iterable<{ id: string; model: string; region: string; healthy: boolean; inflight: number }>;
  ledger(): { buffered: number; written: number; dropped: number; failedFlushes: number };
  /** per pool: requests waiting in the gateway, running, and the pool's slots */
  admission?(): Iterable<{ model: string; queued: number; inflight: number; capacity: number }>;
}

export function createMetrics(sources: ScrapeSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchyard_process_' });
  const m: GatewayMetrics = {
    registry,
    requests: new Counter({ name: 'switchyard_requests_total', help: 'Inference requests by API, model, status and outcome', labelNames: ['api', 'model', 'status', 'outcome'], registers: [registry] }),
    latency: new Histogram({ name: 'switchyard_request_duration_seconds', help: 'End-to-end request latency at the gateway', labelNames: ['api', 'model'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    ttft: new Histogram({ name: 'switchyard_time_to_first_token_seconds', help: 'Time to first token seen by the gateway (streamed requests)', labelNames: ['api', 'model'], buckets: TTFT_BUCKETS, registers: [registry] }),
    upstreamFailures: new Counter({ name: 'switchyard_upstream_failures_total', help: 'Failed calls to replicas by kind', labelNames: ['replica', 'kind'], registers: [registry] }),
    retries: new Counter({ name: 'switchyard_upstream_retries_total', help: 'Requests sent again to another replica', labelNames: ['model'], registers: [registry] }),
    hedges: new Counter({ name: 'switchyard_upstream_hedges_total', help: 'Second requests sent because the first had no first token in time', labelNames: ['model'], registers: [registry] }),
    retryOverflow: new Counter({ name: 'switchyard_upstream_retry_overflow_total', help: 'Retries not made because the retry budget was spent (Envoy upstream_rq_retry_overflow)', labelNames: ['model'], registers: [registry] }),
    inflight: new Gauge({ name: 'switchyard_inflight_requests', help: 'Requests being served now', registers: [registry] }),
    authFailures: new Counter({ name: 'switchyard_auth_failures_total', help: 'Requests refused for a missing, wrong or revoked key', registers: [registry] }),
    shed: new Counter({ name: 'switchyard_admission_shed_total', help: 'Requests shed by admission (529/503) by model, priority and reason (deadline, early, queue-full)', labelNames: ['model', 'priority', 'reason'], registers: [registry] }),
    wait: new Histogram({ name: 'switchyard_admission_queue_wait_seconds', help: 'Time admitted requests waited in the gateway for a free slot', labelNames: ['model', 'priority'], buckets: TTFT_BUCKETS, registers: [registry] }),
    limiterFallbacks: new Counter({ name: 'switchyard_ratelimit_store_fallbacks_total', help: 'Admissions decided without the shared rate-limit store (mode open: per-instance buckets; closed: refused)', labelNames: ['mode'], registers: [registry] }),
    spendLimited: new Counter({ name: 'switchyard_spend_limited_total', help: 'Requests refused because their workspace reached its monthly spend limit', registers: [registry] }),
    internalErrors: new Counter({ name: 'switchyard_internal_errors_total', help: 'Failures inside the gateway answered as 500 (or logged, for stage process), by stage', labelNames: ['stage'], registers: [registry] }),
  };
  const pools = (name: string, help: string, key: 'queued' | 'inflight' | 'capacity') => new Gauge({
    name, help, labelNames: ['model'], registers: [registry],
    collect() {
      this.reset();
      for (const p of sources.admission?.() ?? []) this.set({ model: p.model }, p[key]);
    },
  });
  pools('switchyard_admission_queued_requests', 'Requests waiting in the gateway for a slot in their pool', 'queued');
  pools('switchyard_admission_running_requests', 'Requests holding a slot in their pool', 'inflight');
  pools('switchyard_admission_capacity_requests', 'Slots of the pool: routable replicas × maxInflightPerReplica', 'capacity');
  new Gauge({
    name: 'switchyard_replica_healthy', help: '1 when the replica is in rotation', labelNames: ['replica', 'model', 'region'], registers: [registry],
    collect() {
      this.reset();
      for (const r of sources.replicas()) this.set({ replica: r.id, model: r.model, region: r.region }, r.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'switchyard_replica_inflight_requests', help: 'Requests this gateway has outstanding on the replica', labelNames: ['replica', 'model', 'region'], registers: [registry],
    collect() {
      this.reset();
      for (const r of sources.replicas()) this.set({ replica: r.id, model: r.model, region: r.region }, r.inflight);
    },
  });
  const ledgerGauge = (name: string, help: string, key: keyof ReturnType<ScrapeSources['ledger']>) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(sources.ledger()[key]); } });
  ledgerGauge('switchyard_ledger_buffered_records', 'Usage records waiting to be written', 'buffered');
  ledgerGauge('switchyard_ledger_written_records', 'Usage records written since start', 'written');
  ledgerGauge('switchyard_ledger_dropped_records', 'Usage records lost because the buffer was full', 'dropped');
  ledgerGauge('switchyard_ledger_failed_flushes', 'Ledger batches that failed to write (and were retried)', 'failedFlushes');
  return m;
}
