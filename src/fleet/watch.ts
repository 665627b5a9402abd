import { ReplicaMetrics } from '../observe/replica-metrics.js';
import { wall, type TimePorts, type TimerHandle } from '../time/index.js';
import { HealthProber } from './health.js';
import type { OutlierPolicy, OutlierStats } from './outlier.js';
import { OutlierPools } from './outlier-pools.js';
import type { FleetRegistry, Replica } from './registry.js';
import { MetricsScraper } from './scraper.js';

// Everything that keeps the fleet picture true while the gateway serves: health probes, /metrics
// scrapes (vLLM names) stamped for the router's staleness rule, and outlier detection fed by the
// outcome of every request, with ejections applied to the registry and undone when they expire.

export interface FleetWatchOptions {
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** probes in a row without an answer before a replica leaves rotation; default 1 */
  readonly unhealthyThreshold?: number;
  /** 0 = no scraping */
  readonly scrapeIntervalMs: number;
  /** null = no outlier detection */
  readonly outlier: OutlierPolicy | null;
  readonly onEvent?: (e: FleetEvent) => void;
  /** the clock the outlier detector and scrape stamps read, and the sweep's timer (default: the wall's) */
  readonly ports?: TimePorts;
  /** keep each replica's last /metrics text for `replicaExposition()` (default true; needs scraping on) */
  readonly replicaMetrics?: boolean;
}

/** The most of a replica's /metrics text kept for re-export; a longer one is not re-exported. */
const MAX_KEPT_TEXT = 256 * 1024;
/** A replica's re-exported metrics go stale after this many scrape intervals without a good scrape. */
const STALE_INTERVALS = 3;

export type FleetEvent =
  | { kind: 'health'; replica: Replica; healthy: boolean }
  | { kind: 'ejected'; replica: Replica; reason: string; forMs: number; ejections: number }
  | { kind: 'readmitted'; replica: Replica };

export class FleetWatch {
  readonly #fleet: FleetRegistry;
  readonly #opts: FleetWatchOptions;
  readonly #prober: HealthProber;
  readonly #scraper: MetricsScraper | null;
  /** one detector per pool: a model's replicas in one region (latency is only comparable there) */
  readonly #pools: OutlierPools<Replica> | null;
  /** the registry's version the pools were grouped at */
  #version = -1;
  #sweeper: TimerHandle | null = null;
  readonly #ports: TimePorts;

  readonly #exported: ReplicaMetrics | null;

  /** every replica's last scraped metrics (vLLM names) with `replica`, `model` and `region` labels, as Prometheus text; '' when none */
  replicaExposition(): string {
    if (this.#exported === null) return '';
    try {
      return this.#exported.render(this.#fleet.all, this.#ports.clock.monoMs());
    } catch {
      // what a replica printed must never break the gateway's own /metrics
      return '';
    }
  }

  constructor(fleet: FleetRegistry, opts: FleetWatchOptions) {
    this.#fleet = fleet;
    this.#opts = opts;
    const ports = (this.#ports = opts.ports ?? wall);
    this.#pools = opts.outlier === null ? null : new OutlierPools<Replica>(opts.outlier, {
      eject: (r, e) => {
        fleet.eject(r, e.untilMs);
        opts.onEvent?.({ kind: 'ejected', replica: r, reason: e.reason, forMs: e.untilMs - ports.clock.nowMs(), ejections: e.ejections });
      },
      readmit: (r) => {
        if (r.ejectedUntilMs === 0) return;
        fleet.readmit(r);
        opts.onEvent?.({ kind: 'readmitted', replica: r });
      },
    }, (r) => r.model);
    this.#prober = new HealthProber(fleet, {
      intervalMs: opts.healthIntervalMs, timeoutMs: opts.healthTimeoutMs, unhealthyThreshold: opts.unhealthyThreshold, clock: ports.clock, timers: ports.timers,
      onChange: (replica, healthy) => {
        opts.onEvent?.({ kind: 'health', replica, healthy });
        // a replica that was down and answers again is a fresh process: lift its ejection (Envoy's
        // successful_active_health_check_uneject_host; a slow but live one stays ejected), and mark
        // when, so requests stuck through the outage do not eject it again when they time out
        if (healthy) this.readmit(replica);
      },
    });
    // a replica added while the gateway runs and waiting for its first probe gets it at once, not
    // an interval later: until then it takes no traffic
    fleet.onJoin((r) => {
      if (!r.healthy && r.probedAtMs === 0) void this.#prober.probe(r);
    });
    const exported = (this.#exported = opts.scrapeIntervalMs > 0 && opts.replicaMetrics !== false
      ? new ReplicaMetrics({ maxAgeMs: STALE_INTERVALS * opts.scrapeIntervalMs })
      : null);
    this.#scraper = opts.scrapeIntervalMs > 0
      // an Anthropic-protocol upstream publishes no vLLM metrics: nothing to scrape there
      ? new MetricsScraper(() => fleet.all.filter((r) => r.protocol !== 'anthropic'), {
        intervalMs: opts.scrapeIntervalMs,
        timeoutMs: Math.min(opts.scrapeIntervalMs, opts.healthTimeoutMs),
        clock: ports.clock, timers: ports.timers,
        ...(exported === null ? {} : { keepTextBytes: MAX_KEPT_TEXT }),
        onSample: (target, t) => {
          const r = target as Replica;
          if (exported !== null && t.text !== undefined) exported.keep(r, t.text, ports.clock.monoMs());
          // stamped on the router's clock, with what this gateway had in flight then
          r.scraped = { waiting: t.waiting, running: t.running, kvUsage: t.kvUsage, atS: ports.clock.monoMs() / 1000, inflightAtScrape: r.inflight };
        },
      })
      : null;
  }

  /** One round of probes and scrapes, then the timers. */
  async start(): Promise<void> {
    await Promise.all([this.#prober.probeAll(), this.#scraper?.scrapeAll()]);
    this.#prober.start();
    this.#scraper?.start();
    if (this.#opts.outlier !== null) {
      this.#sweeper = this.#ports.timers.every(Math.min(1_000, this.#opts.outlier.intervalMs), FleetWatch.#sweepNow, this);
    }
  }

  stop(): void {
    this.#prober.stop();
    this.#scraper?.stop();
    this.#ports.timers.cancel(this.#sweeper);
    this.#sweeper = null;
  }

  static #sweepNow(w: FleetWatch): void {
    w.sweep(w.#ports.clock.nowMs());
  }

  /** A request to the replica went well; `latencyMs` is its time to first byte. */
  success(r: Replica, latencyMs: number): void {
    this.#grouped()?.success(r, latencyMs, this.#ports.clock.nowMs());
  }

  /** A request failed because of the replica (refused, reset, 5xx, timed out); `sentAtMs`: when it was sent (ms epoch). */
  failure(r: Replica, sentAtMs?: number): void {
    const now = this.#ports.clock.nowMs();
    this.#grouped()?.failure(r, now, sentAtMs ?? now);
  }

  /** Judges failure rates and latency, and re-admits replicas whose ejection has run out. */
  sweep(nowMs: number): void {
    this.#grouped()?.sweep(nowMs);
  }

  /** An operator re-admits an ejected replica early, or it passes its health check again. */
  readmit(r: Replica): void {
    const pools = this.#grouped();
    if (pools !== null) pools.readmit(r, this.#ports.clock.nowMs());
    else if (r.ejectedUntilMs !== 0) {
      this.#fleet.readmit(r);
      this.#opts.onEvent?.({ kind: 'readmitted', replica: r });
    }
  }

  stats(r: Replica): OutlierStats | null {
    return this.#grouped()?.stats(r, this.#ports.clock.nowMs()) ?? null;
  }

  /** The pools, regrouped if replicas were added or removed since; null when detection is off. */
  #grouped(): OutlierPools<Replica> | null {
    const pools = this.#pools;
    if (pools !== null && this.#version !== this.#fleet.version) {
      this.#version = this.#fleet.version;
      pools.regroup(this.#fleet.all);
    }
    return pools;
  }
}
