import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type LabelValues } from 'prom-client';
import { wallClock } from '../time/index.js';

// The gateway's own metrics, Prometheus names with the `switchyard_` prefix. Histogram buckets
// follow vLLM's for TTFT and request latency, so gateway and replica figures line up on one chart.
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640, 2560];
const LATENCY_BUCKETS = [0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680];

// prom-client hashes, sorts and validates a label set on every inc/observe, even through a child
// from labels(). The two metrics every request touches remember each label set's own entry
// instead: labels() of the same values gives the same child, whose inc/observe update the entry in
// place. An entry the metric dropped (reset, remove) is looked up again through prom-client.

/** prom-client's per-label-set state (its `hashMap` values): what /metrics prints. */
interface CounterEntry { value: number }
interface HistogramEntry { sum: number; count: number; bucketValues: Record<number, number> }
type Entries<E> = { hashMap: Record<string, E> };

/** The entry prom-client keeps for `labels`, found once (an O(series) scan, at a child's creation or after a reset). */
function entryOf<E extends { labels: object }>(metric: Entries<E>, labels: Record<string, string>): E | null {
  for (const k in metric.hashMap) {
    const e = metric.hashMap[k];
    if (sameLabels(e.labels as Record<string, unknown>, labels)) return e;
  }
  return null;
}

function sameLabels(a: Record<string, unknown>, b: Record<string, string>): boolean {
  let n = 0;
  for (const k in a) {
    if (String(a[k]) !== b[k]) return false;
    n++;
  }
  return n === Object.keys(b).length;
}

function labelsOf(names: readonly string[], values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < names.length; i++) out[names[i]] = values[i];
  return out;
}

/** One label set of a SeriesCounter. */
class CounterChild {
  #map: object | null = null;
  #gen = -1;
  #entry: CounterEntry | null = null;

  constructor(private readonly metric: SeriesCounter<string>, private readonly labels: Record<string, string>) {}

  inc(value = 1): void {
    const m = this.metric as unknown as Entries<CounterEntry & { labels: object }>;
    if (this.#map !== m.hashMap || this.#gen !== this.metric.removals || this.#entry === null || value !== 1) {
      // the first time, after a reset or remove, and for other amounts: prom-client's own path
      this.metric.inc(this.labels as LabelValues<string>, value);
      this.#map = m.hashMap;
      this.#gen = this.metric.removals;
      this.#entry = entryOf(m, this.labels);
      return;
    }
    this.#entry.value += 1;
  }
}

/** A Counter whose labels(...values) children skip the per-call hashing. */
export class SeriesCounter<T extends string> extends Counter<T> {
  /** bumped by remove(): a child's remembered entry may be gone */
  removals = 0;
  readonly #children = new Map<string, CounterChild>();
  readonly #names: readonly string[];

  constructor(config: ConstructorParameters<typeof Counter<T>>[0]) {
    super(config);
    this.#names = config.labelNames ?? [];
  }

  override labels(...args: [LabelValues<T>] | string[]): Counter.Internal {
    if (args.length !== this.#names.length || args.some((a) => typeof a !== 'string')) return super.labels(...(args as string[]));
    const key = (args as string[]).join('\0');
    let c = this.#children.get(key);
    if (c === undefined) {
      super.labels(...(args as string[])); // prom-client's validation of the values, once
      this.#children.set(key, (c = new CounterChild(this as SeriesCounter<string>, labelsOf(this.#names, args as string[]))));
    }
    return c;
  }

  override remove(...args: [LabelValues<T>] | string[]): void {
    this.removals++;
    super.remove(...(args as string[]));
  }
}

/** One label set of a SeriesHistogram. */
class HistogramChild {
  #map: object | null = null;
  #gen = -1;
  #entry: HistogramEntry | null = null;

  constructor(private readonly metric: SeriesHistogram<string>, private readonly labels: Record<string, string>, private readonly bounds: readonly number[]) {}

  observe(value: number): void {
    const m = this.metric as unknown as Entries<HistogramEntry & { labels: object }>;
    const e = this.#entry;
    if (this.#map !== m.hashMap || this.#gen !== this.metric.removals || e === null || !Number.isFinite(value)) {
      this.metric.observe(this.labels as LabelValues<string>, value);
      this.#map = m.hashMap;
      this.#gen = this.metric.removals;
      this.#entry = entryOf(m, this.labels);
      return;
    }
    // prom-client's own update: the smallest bound at or above the value (none: only +Inf, from count)
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (value <= b[i]) {
        e.bucketValues[b[i]] += 1;
        break;
      }
    }
    e.sum += value;
    e.count += 1;
  }

  startTimer(): () => number {
    const t = wallClock.monoMs();
    return () => {
      const v = (wallClock.monoMs() - t) / 1000;
      this.observe(v);
      return v;
    };
  }
}

/** A Histogram whose labels(...values) children skip the per-call hashing. */
export class SeriesHistogram<T extends string> extends Histogram<T> {
  /** bumped by remove(): a child's remembered entry may be gone */
  removals = 0;
  readonly #children = new Map<string, HistogramChild>();
  readonly #names: readonly string[];
  readonly #bounds: readonly number[];

  constructor(config: ConstructorParameters<typeof Histogram<T>>[0] & { buckets: number[] }) {
    super(config);
    this.#names = config.labelNames ?? [];
    // in prom-client's order: the first bound at or above a value takes it
    this.#bounds = [...config.buckets];
  }

  override labels(...args: [LabelValues<T>] | string[]): Histogram.Internal<T> {
    if (args.length !== this.#names.length || args.some((a) => typeof a !== 'string')) return super.labels(...(args as string[]));
    const key = (args as string[]).join('\0');
    let c = this.#children.get(key);
    if (c === undefined) {
      super.labels(...(args as string[]));
      this.#children.set(key, (c = new HistogramChild(this as SeriesHistogram<string>, labelsOf(this.#names, args as string[]), this.#bounds)));
    }
    return c as unknown as Histogram.Internal<T>;
  }

  override remove(...args: [LabelValues<T>] | string[]): void {
    this.removals++;
    super.remove(...(args as string[]));
  }
}

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
  /** requests turned away by admission (the wait in their admission queue would break their deadline, or it is full) */
  readonly shed: Counter<'model' | 'priority' | 'reason'>;
  /** time admitted requests waited in the gateway's admission queue before they were dispatched */
  readonly wait: Histogram<'model' | 'priority'>;
  /** admissions the rate limiter decided on this instance's own buckets because its shared store failed */
  readonly limiterFallbacks: Counter<'mode'>;
  /** requests refused because their workspace reached its monthly spend limit */
  readonly spendLimited: Counter;
  /** throws and rejections the error boundary caught, by where they happened (`process`: escaped every handler) */
  readonly internalErrors: Counter<'stage'>;
  /** the autoscaler's decisions, every tick's, by pool and reason (hold included) */
  readonly autoscalerDecisions: Counter<'pool' | 'reason'>;
  /** decisions that changed a pool's size, by direction (up, down) */
  readonly autoscalerScaleEvents: Counter<'pool' | 'direction'>;
}

/** Live values read at scrape time, so the hot path never touches a gauge for them. */
export interface ScrapeSources {
  replicas(): Iterable<{ id: string; model: string; region: string; healthy: boolean; inflight: number }>;
  ledger(): { buffered: number; written: number; dropped: number; failedFlushes: number };
  /** per admission queue (one per model): requests waiting, dispatched and not yet finished, and how many may be */
  admission?(): Iterable<{ model: string; queued: number; inflight: number; capacity: number }>;
  /** per autoscaled pool: its replicas by phase, and the replicas its latest decision wants (null: none yet) */
  autoscaler?(): Iterable<{ pool: string; starting: number; ready: number; draining: number; desired: number | null }>;
  /** the cost meter's view (gateway/costs.ts) */
  costs?(): CostScrape;
}

/** What the cost meter shows: per pool its totals since start and its trailing hour; per tenant its trailing hour. */
export interface CostScrape {
  readonly pools: Iterable<{
    model: string; pool: string; region: string;
    /** since this gateway started */
    usd: number; upS: number; busyS: number;
    /** the trailing hour's; null when it had no replica time, or no tokens */
    utilisation: number | null; inputUsdPerM: number | null; outputUsdPerM: number | null;
  }>;
  readonly tenants: Iterable<{ tenant: string; inputUsdPerM: number | null; outputUsdPerM: number | null }>;
}

export function createMetrics(sources: ScrapeSources): GatewayMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'switchyard_process_' });
  const m: GatewayMetrics = {
    registry,
    requests: new SeriesCounter({ name: 'switchyard_requests_total', help: 'Inference requests by API, model, status and outcome', labelNames: ['api', 'model', 'status', 'outcome'], registers: [registry] }),
    latency: new SeriesHistogram({ name: 'switchyard_request_duration_seconds', help: 'End-to-end request latency at the gateway', labelNames: ['api', 'model'], buckets: LATENCY_BUCKETS, registers: [registry] }),
    ttft: new SeriesHistogram({ name: 'switchyard_time_to_first_token_seconds', help: 'Time to first token seen by the gateway (streamed requests)', labelNames: ['api', 'model'], buckets: TTFT_BUCKETS, registers: [registry] }),
    upstreamFailures: new Counter({ name: 'switchyard_upstream_failures_total', help: 'Failed calls to replicas by kind', labelNames: ['replica', 'kind'], registers: [registry] }),
    retries: new Counter({ name: 'switchyard_upstream_retries_total', help: 'Requests sent again to another replica', labelNames: ['model'], registers: [registry] }),
    hedges: new Counter({ name: 'switchyard_upstream_hedges_total', help: 'Second requests sent because the first had no first token in time', labelNames: ['model'], registers: [registry] }),
    retryOverflow: new Counter({ name: 'switchyard_upstream_retry_overflow_total', help: 'Retries not made because the retry budget was spent (Envoy upstream_rq_retry_overflow)', labelNames: ['model'], registers: [registry] }),
    inflight: new Gauge({ name: 'switchyard_inflight_requests', help: 'Requests being served now', registers: [registry] }),
    authFailures: new Counter({ name: 'switchyard_auth_failures_total', help: 'Requests refused for a missing, wrong or revoked key', registers: [registry] }),
    shed: new SeriesCounter({ name: 'switchyard_admission_shed_total', help: 'Requests shed by admission (529/503) by model, priority and reason (deadline, early, queue-full)', labelNames: ['model', 'priority', 'reason'], registers: [registry] }),
    wait: new SeriesHistogram({ name: 'switchyard_admission_queue_wait_seconds', help: 'Time admitted requests waited in the gateway before they were dispatched', labelNames: ['model', 'priority'], buckets: TTFT_BUCKETS, registers: [registry] }),
    limiterFallbacks: new Counter({ name: 'switchyard_ratelimit_store_fallbacks_total', help: 'Admissions decided without the shared rate-limit store (mode open: per-instance buckets; closed: refused)', labelNames: ['mode'], registers: [registry] }),
    spendLimited: new Counter({ name: 'switchyard_spend_limited_total', help: 'Requests refused because their workspace reached its monthly spend limit', registers: [registry] }),
    internalErrors: new Counter({ name: 'switchyard_internal_errors_total', help: 'Failures inside the gateway answered as 500 (or logged, for stage process), by stage', labelNames: ['stage'], registers: [registry] }),
    autoscalerDecisions: new SeriesCounter({ name: 'switchyard_autoscaler_decisions_total', help: 'Autoscaler decisions (one per pool per tick) by pool and reason', labelNames: ['pool', 'reason'], registers: [registry] }),
    autoscalerScaleEvents: new SeriesCounter({ name: 'switchyard_autoscaler_scale_events_total', help: 'Autoscaler decisions that changed a pool\'s replicas, by pool and direction (up, down)', labelNames: ['pool', 'direction'], registers: [registry] }),
  };
  const queues = (name: string, help: string, key: 'queued' | 'inflight' | 'capacity') => new Gauge({
    name, help, labelNames: ['model'], registers: [registry],
    collect() {
      this.reset();
      for (const p of sources.admission?.() ?? []) this.set({ model: p.model }, p[key]);
    },
  });
  queues('switchyard_admission_queued_requests', 'Requests waiting in their model\'s admission queue in the gateway', 'queued');
  queues('switchyard_admission_running_requests', 'Requests dispatched by their admission queue and not yet finished', 'inflight');
  queues('switchyard_admission_capacity_requests', 'Requests an admission queue may have dispatched at once: routable replicas × maxInflightPerReplica', 'capacity');
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
  new Gauge({
    name: 'switchyard_autoscaler_replicas', help: 'An autoscaled pool\'s replicas by phase (starting, ready, draining)', labelNames: ['pool', 'phase'], registers: [registry],
    collect() {
      this.reset();
      for (const p of sources.autoscaler?.() ?? []) {
        this.set({ pool: p.pool, phase: 'starting' }, p.starting);
        this.set({ pool: p.pool, phase: 'ready' }, p.ready);
        this.set({ pool: p.pool, phase: 'draining' }, p.draining);
      }
    },
  });
  new Gauge({
    name: 'switchyard_autoscaler_desired_replicas', help: 'The replicas an autoscaled pool\'s latest decision wants', labelNames: ['pool'], registers: [registry],
    collect() {
      this.reset();
      for (const p of sources.autoscaler?.() ?? []) if (p.desired !== null) this.set({ pool: p.pool }, p.desired);
    },
  });
  costMetrics(registry, sources);
  const ledgerGauge = (name: string, help: string, key: keyof ReturnType<ScrapeSources['ledger']>) =>
    new Gauge({ name, help, registers: [registry], collect() { this.set(sources.ledger()[key]); } });
  ledgerGauge('switchyard_ledger_buffered_records', 'Usage records waiting to be written', 'buffered');
  ledgerGauge('switchyard_ledger_written_records', 'Usage records written since start', 'written');
  ledgerGauge('switchyard_ledger_dropped_records', 'Usage records lost because the buffer was full', 'dropped');
  ledgerGauge('switchyard_ledger_failed_flushes', 'Ledger batches that failed to write (and were retried)', 'failedFlushes');
  return m;
}

const POOL_LABELS = ['model', 'pool', 'region'] as const;

/**
 * Unit economics: counters of each pool's replica time and GPU cost (the cost meter's totals, read
 * at scrape), and the trailing hour's cost per million tokens and utilisation. A figure with nothing
 * to divide by (no tokens, no replica time) is left out rather than shown as 0.
 */
function costMetrics(registry: Registry, sources: ScrapeSources): void {
  if (sources.costs === undefined) return;
  const read = sources.costs;
  // one read per scrape serves every series (the meter sums its windows once)
  let cached: { at: number; value: CostScrape } | null = null;
  const scrape = (): CostScrape => {
    const at = wallClock.monoMs();
    if (cached === null || at - cached.at > 100) cached = { at, value: read() };
    return cached.value;
  };
  const total = (name: string, help: string, key: 'usd' | 'upS' | 'busyS') => new Counter({
    name, help, labelNames: POOL_LABELS, registers: [registry],
    collect() {
      this.reset();
      for (const p of scrape().pools) this.inc({ model: p.model, pool: p.pool, region: p.region }, p[key]);
    },
  });
  total('switchyard_gpu_cost_usd_total', 'GPU cost of the pool\'s replicas while in the fleet, USD (this gateway\'s count since it started)', 'usd');
  total('switchyard_replica_up_seconds_total', 'Seconds the pool\'s replicas were in the fleet, draining included', 'upS');
  total('switchyard_replica_busy_seconds_total', 'Seconds the pool\'s replicas had at least one call of this gateway in flight', 'busyS');
  new Gauge({
    name: 'switchyard_cost_usd_per_million_tokens', help: 'The pool\'s GPU cost over the trailing hour per million tokens this gateway settled on it, by phase (input, output)',
    labelNames: [...POOL_LABELS, 'phase'], registers: [registry],
    collect() {
      this.reset();
      for (const p of scrape().pools) {
        if (p.inputUsdPerM !== null) this.set({ model: p.model, pool: p.pool, region: p.region, phase: 'input' }, p.inputUsdPerM);
        if (p.outputUsdPerM !== null) this.set({ model: p.model, pool: p.pool, region: p.region, phase: 'output' }, p.outputUsdPerM);
      }
    },
  });
  new Gauge({
    name: 'switchyard_tenant_cost_usd_per_million_tokens', help: 'A tenant\'s share of the pools\' GPU cost over the trailing hour (by the replica time its tokens took) per million of its tokens, by phase',
    labelNames: ['tenant', 'phase'], registers: [registry],
    collect() {
      this.reset();
      for (const t of scrape().tenants) {
        if (t.inputUsdPerM !== null) this.set({ tenant: t.tenant, phase: 'input' }, t.inputUsdPerM);
        if (t.outputUsdPerM !== null) this.set({ tenant: t.tenant, phase: 'output' }, t.outputUsdPerM);
      }
    },
  });
  new Gauge({
    name: 'switchyard_pool_utilisation_ratio', help: 'Busy ÷ up seconds of the pool\'s replicas over the trailing hour (busy: a call of this gateway in flight)',
    labelNames: POOL_LABELS, registers: [registry],
    collect() {
      this.reset();
      for (const p of scrape().pools) if (p.utilisation !== null) this.set({ model: p.model, pool: p.pool, region: p.region }, p.utilisation);
    },
  });
}
