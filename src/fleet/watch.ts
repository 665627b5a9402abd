import { HealthProber } from './health.js';
import { OutlierDetector, type OutlierEvent, type OutlierPolicy, type OutlierStats } from './outlier.js';
import type { FleetRegistry, Replica } from './registry.js';
import { MetricsScraper } from './scraper.js';

// Everything that keeps the fleet picture true while the gateway serves: health probes, /metrics
// scrapes (vLLM names) stamped for the router's staleness rule, and outlier detection fed by the
// outcome of every request, with ejections applied to the registry and undone when they expire.

export interface FleetWatchOptions {
  readonly healthIntervalMs: number;
  readonly healthTimeoutMs: number;
  /** 0 = no scraping */
  readonly scrapeIntervalMs: number;
  /** null = no outlier detection */
  readonly outlier: OutlierPolicy | null;
  readonly onEvent?: (e: FleetEvent) => void;
}

export type FleetEvent =
  | { kind: 'health'; replica: Replica; healthy: boolean }
  | { kind: 'ejected'; replica: Replica; reason: string; forMs: number; ejections: number }
  | { kind: 'readmitted'; replica: Replica };

interface Pool {
  detector: OutlierDetector;
  hosts: Replica[];
}

export class FleetWatch {
  readonly #fleet: FleetRegistry;
  readonly #opts: FleetWatchOptions;
  readonly #prober: HealthProber;
  readonly #scraper: MetricsScraper | null;
  /** one detector per pool: a model's replicas in one region (latency is only comparable there) */
  readonly #pools = new Map<string, Pool>();
  readonly #host = new Map<Replica, number>();
  readonly #poolOf = new Map<Replica, Pool>();
  /** the registry's version the pools were grouped at */
  #version = -1;
  #sweeper: NodeJS.Timeout | null = null;

  constructor(fleet: FleetRegistry, opts: FleetWatchOptions) {
    this.#fleet = fleet;
    this.#opts = opts;
    this.#prober = new HealthProber(fleet, {
      intervalMs: opts.healthIntervalMs, timeoutMs: opts.healthTimeoutMs,
      onChange: (replica, healthy) => {
        opts.onEvent?.({ kind: 'health', replica, healthy });
        // a replica that was down and answers again is a fresh process: lift its ejection (Envoy's
        // successful_active_health_check_uneject_host; a slow but live one stays ejected), and mark
        // when, so requests stuck through the outage do not eject it again when they time out
        if (healthy) this.readmit(replica);
      },
    });
    this.#scraper = opts.scrapeIntervalMs > 0
      // an Anthropic-protocol upstream publishes no vLLM metrics: nothing to scrape there
      ? new MetricsScraper(() => fleet.all.filter((r) => r.protocol !== 'anthropic'), {
        intervalMs: opts.scrapeIntervalMs,
        timeoutMs: Math.min(opts.scrapeIntervalMs, opts.healthTimeoutMs),
        onSample: (target, t) => {
          const r = target as Replica;
          // stamped on the router's clock, with what this gateway had in flight then
          r.scraped = { waiting: t.waiting, running: t.running, kvUsage: t.kvUsage, atS: performance.now() / 1000, inflightAtScrape: r.inflight };
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
      this.#sweeper = setInterval(() => this.sweep(Date.now()), Math.min(1_000, this.#opts.outlier.intervalMs));
      this.#sweeper.unref();
    }
  }

  stop(): void {
    this.#prober.stop();
    this.#scraper?.stop();
    if (this.#sweeper) clearInterval(this.#sweeper);
    this.#sweeper = null;
  }

  /** A request to the replica went well; `latencyMs` is its time to first byte. */
  success(r: Replica, latencyMs: number): void {
    const p = this.#pool(r);
    if (p !== null) p.detector.success(this.#host.get(r)!, latencyMs, Date.now());
  }

  /** A request failed because of the replica (refused, reset, 5xx, timed out); `sentAtMs`: when it was sent (ms epoch). */
  failure(r: Replica, sentAtMs?: number): void {
    const p = this.#pool(r);
    if (p === null) return;
    const now = Date.now();
    const e = p.detector.failure(this.#host.get(r)!, now, sentAtMs ?? now);
    if (e !== null) this.#apply(p, e);
  }

  /** Judges failure rates and latency, and re-admits replicas whose ejection has run out. */
  sweep(nowMs: number): void {
    for (const p of this.#pools.values()) for (const e of p.detector.sweep(nowMs)) this.#apply(p, e);
  }

  /** An operator re-admits an ejected replica early, or it passes its health check again. */
  readmit(r: Replica): void {
    const p = this.#pool(r);
    if (p !== null) p.detector.readmit(this.#host.get(r)!, Date.now());
    if (r.ejectedUntilMs !== 0) {
      this.#fleet.readmit(r);
      this.#opts.onEvent?.({ kind: 'readmitted', replica: r });
    }
  }

  stats(r: Replica): OutlierStats | null {
    const p = this.#pool(r);
    return p === null ? null : p.detector.stats(this.#host.get(r)!, Date.now());
  }

  #apply(p: Pool, e: OutlierEvent): void {
    const r = p.hosts[e.host];
    if (r === undefined) return;
    if (e.kind === 'ejected') {
      this.#fleet.eject(r, e.untilMs);
      this.#opts.onEvent?.({ kind: 'ejected', replica: r, reason: e.reason, forMs: e.untilMs - Date.now(), ejections: e.ejections });
    } else if (r.ejectedUntilMs !== 0) {
      this.#fleet.readmit(r);
      this.#opts.onEvent?.({ kind: 'readmitted', replica: r });
    }
  }

  /** The replica's pool, or null when detection is off or the replica has left the fleet. */
  #pool(r: Replica): Pool | null {
    if (this.#opts.outlier === null) return null;
    if (this.#version !== this.#fleet.version) this.#regroup(this.#opts.outlier);
    return this.#poolOf.get(r) ?? null;
  }

  /** Replicas were added or removed: pools whose members changed start afresh, the others keep their counts. */
  #regroup(policy: OutlierPolicy): void {
    this.#version = this.#fleet.version;
    const groups = new Map<string, Replica[]>();
    for (const r of this.#fleet.all) {
      const key = `${r.model}\u0000${r.region}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(r);
    }
    this.#poolOf.clear();
    for (const [key, hosts] of groups) {
      let p = this.#pools.get(key);
      if (p === undefined || p.hosts.length !== hosts.length || p.hosts.some((h, i) => h !== hosts[i])) {
        p = { detector: new OutlierDetector(policy, hosts.length), hosts };
        this.#pools.set(key, p);
      }
      p.hosts.forEach((h, i) => {
        this.#host.set(h, i);
        this.#poolOf.set(h, p);
      });
    }
  }
}
