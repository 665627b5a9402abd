import { join } from 'node:path';
import { Gauge } from 'prom-client';
import { createAdminApi } from '../api/index.js';
import { createCostRoutes } from '../api/admin/costs.js';
import { dashboardViews } from '../api/admin/dashboard.js';
import { sloView } from '../api/admin/slo.js';
import { profileWeights } from '../control/economics/index.js';
import type { Config } from '../config/index.js';
import { FleetRegistry, FleetWatch, ModelVersions, type ReplicaSpec } from '../fleet/index.js';
import { createLedgerWriter, openSpill, replaySpill, type LedgerWriter } from '../ledger/index.js';
import { MonthlySpend } from '../limits/index.js';
import { createLogger, createMetrics, type Logger } from '../observe/index.js';
import { createGenAiMetrics } from '../observe/genai.js';
import { createSloTracker, type SloTracker } from '../observe/slo/index.js';
import { createTracing } from '../observe/tracing/index.js';
import { startOtlpMetrics } from '../observe/otlp-metrics.js';
import { TrafficWindow } from '../observe/traffic.js';
import { createAuthenticator, openStore, type Store } from '../tenancy/index.js';
import { wall, type TimePorts } from '../time/index.js';
import { Admission } from './admission.js';
import { AutoscalerService, teeCalls, type AutoscalerHooks } from './autoscaler.js';
import { createBackend, createBackends } from './backends.js';
import { CostMeter } from './costs.js';
import { RateLimits } from './rate-limits.js';
import { RolloutService } from './rollouts.js';
import { Gateway } from './server.js';
import { createUi } from './ui.js';

export interface PlatformOptions {
  config: Config;
  /** the replicas to front, resolved to URLs (demo processes or `--replica` endpoints) */
  replicas: Array<ReplicaSpec & { apiKey?: string }>;
  storeUrl: string;
  /** where usage records the store cannot take in time are spilled (and replayed from on start); absent: none */
  dataDir?: string;
  adminToken: string | null;
  log?: Logger;
  /** the wall's by default */
  time?: TimePorts;
  /** with `autoscaler.enabled`: its process supervisor (`switchyard up --autoscale`), or actuators and policies of the caller's */
  autoscaler?: AutoscalerHooks;
}

export interface Platform {
  readonly gateway: Gateway;
  readonly store: Store;
  readonly ledger: LedgerWriter;
  readonly fleet: FleetRegistry;
  /** each model's versions and which is stable */
  readonly versions: ModelVersions;
  /** rollouts: a person's hands on them (the admin API's), and this gateway's part in leading or following them */
  readonly rollouts: RolloutService;
  /** sizes the autoscaled pools (null: `autoscaler.enabled` is off) */
  readonly autoscaler: AutoscalerService | null;
  /** what the fleet costs, live (null: `costs.enabled` is off) */
  readonly costs: CostMeter | null;
  /** the SLOs' budgets and burn (null: none configured) */
  readonly slo: SloTracker | null;
  /** the last minutes of traffic, for the dashboard */
  readonly traffic: TrafficWindow;
  readonly url: string;
  /** drains requests, flushes the ledger, closes everything; resolves when done */
  close(): Promise<{ cut: number }>;
}

/** Assembles the data plane and the live fleet picture, and starts listening. */
export async function startPlatform(opts: PlatformOptions): Promise<Platform> {
  const { config } = opts;
  const time = opts.time ?? wall;
  const log = opts.log ?? createLogger();
  const store = await openStore(opts.storeUrl, { timeoutMs: config.ledger.timeoutMs, clock: time.clock, timers: time.timers });
  // records an earlier run could not write go in before this one writes its own
  const spill = opts.dataDir === undefined ? null : openSpill(join(opts.dataDir, 'ledger-spill.jsonl'));
  if (spill !== null) {
    try {
      const r = await replaySpill(store, spill.path);
      if (r.replayed > 0 || r.skipped > 0) log.warn({ replayed: r.replayed, skipped: r.skipped, file: spill.path }, 'usage records spilled by an earlier run written to the store');
    } catch (err) {
      log.error({ err, file: spill.path }, 'replaying spilled usage records failed; the file is kept for the next start');
    }
  }
  const fleet = new FleetRegistry();
  const versions = new ModelVersions(config.models);
  const apiKeys = new Map<string, string | undefined>();
  for (const r of opts.replicas) {
    // until a rollout gives it traffic, a version other than the stable one gets none; one with a warm-up is cold until it ran
    const stable = versions.stableOf(r.model);
    const version = r.version ?? stable ?? r.model;
    const weight = stable === undefined || stable === version ? {} : { versionWeight: 0 };
    const cold = versions.get(r.model, version)?.warmup === undefined ? {} : { warm: false };
    fleet.add({ ...r, version, ...weight, ...cold });
    apiKeys.set(r.id, r.apiKey);
  }
  const backends = createBackends(config, fleet, apiKeys);
  const rollouts = new RolloutService({ config, store, fleet, versions, backends, log, time });
  const authenticator = createAuthenticator(store, { onError: (err: unknown) => log.error({ err }, 'key refresh failed'), clock: time.clock, timers: time.timers });
  await authenticator.ready;
  // the leader writes replica time (the rollouts lease, as the autoscaler follows it); tokens are tapped off the ledger's records
  const meter = config.costs.enabled
    ? new CostMeter({
      config, fleet, store, leading: () => rollouts.leadership().leader, log, clock: time.clock, timers: time.timers,
      // an autoscaled replica is paid for from the moment it is asked for, while its engine loads
      booting: () => autoscaler?.starting() ?? [],
    })
    : null;
  const written = createLedgerWriter(store, {
    spill, flushIntervalMs: config.ledger.flushIntervalMs, closeTimeoutMs: config.ledger.finalFlushMs, clock: time.clock, timers: time.timers,
    onError: (err: unknown) => log.error({ err }, 'ledger write failed; will retry'),
    onRecovered: (failedFlushes) => log.warn({ failedFlushes }, 'ledger writes succeed again'),
  });
  const ledger = meter === null ? written : meter.tap(written);
  let admission: Admission | null = null;
  let autoscaler: AutoscalerService | null = null;
  let gateway: Gateway | null = null;
  const metrics = createMetrics({
    replicas: () => fleet.all,
    ledger: () => ledger.stats(),
    admission: () => admission?.snapshot() ?? [],
    autoscaler: () => autoscaler?.gauges() ?? [],
    // per-tenant series only behind server.metricsToken: an open /metrics is anyone's to read
    ...(meter === null ? {} : { costs: () => meter.scrape({ tenants: config.server.metricsToken !== null }) }),
  });
  if (config.autoscaler.enabled) {
    autoscaler = new AutoscalerService({
      ...opts.autoscaler, config, store, metrics, log, time,
      fleet: { fleet, versions, backends, createBackend: (r, apiKey) => createBackend(config, r, apiKey) },
      queued: (model) => admission?.snapshot().find((q) => q.model === model)?.queued ?? 0,
      leading: () => rollouts.leadership().leader,
      replicaAdded: () => gateway?.models.serveNew(),
    });
  }
  const scaler = autoscaler;
  // what settled requests tell: the GenAI metrics, the SLOs' budgets, the dashboard's live traffic
  const obs = config.observability;
  const tracing = createTracing(obs.tracing, { log, time });
  const otlpMetrics = startOtlpMetrics(metrics.registry, obs.metrics.otlp, { log, clock: time.clock });
  const slo = createSloTracker(config.slos, { clock: time.clock, timers: time.timers, log, registry: metrics.registry, history: store });
  const traffic = new TrafficWindow(time.clock);
  const observers = [
    createGenAiMetrics(metrics.registry, { options: obs.metrics, served: (m) => gateway?.models.has(m) ?? false, perTenant: config.server.metricsToken !== null }),
    traffic,
    ...(slo === null ? [] : [slo]),
  ];
  admission = new Admission(config.admission, fleet, metrics, time, scaler === null ? null : (model) => scaler.shed(model));
  const onAdminError = (err: Error, requestId: string | null): void => log.error({ err, requestId }, 'admin request failed');
  const admin = createAdminApi({
    store, authenticator, adminToken: opts.adminToken, tiers: Object.keys(config.tiers), regions: config.regions.map((r) => r.name), rollouts, autoscaler, onError: onAdminError,
    costs: createCostRoutes({ store, clock: time.clock, weights: profileWeights(), live: meter }),
    views: [sloView(slo), ...dashboardViews({ traffic, fleet, store, tiers: config.tiers, spend: () => spend, rollouts, autoscaler, slo, clock: time.clock })],
  });
  const { outlier } = config.fleet;
  const watch = new FleetWatch(fleet, {
    replicaMetrics: obs.metrics.replicaMetrics,
    healthIntervalMs: config.fleet.healthIntervalMs,
    healthTimeoutMs: config.fleet.healthTimeoutMs,
    unhealthyThreshold: config.fleet.unhealthyThreshold,
    scrapeIntervalMs: config.fleet.scrapeIntervalMs,
    outlier: outlier.enabled ? outlier : null,
    ports: time,
    onEvent: (e) => {
      const at = { replica: e.replica.id, region: e.replica.region };
      if (e.kind === 'health') log.warn({ ...at, healthy: e.healthy }, e.healthy ? 'replica back in rotation' : 'replica failed its health probe');
      else if (e.kind === 'ejected') log.warn({ ...at, reason: e.reason, forMs: e.forMs, ejections: e.ejections }, 'replica ejected as an outlier');
      else log.warn(at, 'replica re-admitted after its ejection');
    },
  });
  const rateLimits = new RateLimits(config, log, { onFallback: (mode) => metrics.limiterFallbacks.inc({ mode }), clock: time.clock, timers: time.timers });
  if (config.limits.backend === 'redis') {
    new Gauge({
      name: 'switchyard_ratelimit_store_breaker_state', help: 'The rate-limit store circuit breaker: 0 closed, 1 half-open (probing), 2 open (Redis not asked)',
      registers: [metrics.registry], collect() { this.set(rateLimits.breakerState() ?? 0); },
    });
  }
  if (!(await rateLimits.ready(3_000))) {
    log.error({ redisUrl: config.limits.redisUrl.replace(/\/\/[^@/]*@/, '//***@') }, config.limits.failMode === 'open'
      ? 'the rate-limit store is unreachable; limiting per instance until it answers'
      : 'the rate-limit store is unreachable; refusing requests until it answers');
  }
  const spend = new MonthlySpend();
  // a store that stays down fails this every refresh: logged when it starts, then every 60th, and when it ends
  let spendFailures = 0;
  const readSpend = async (): Promise<void> => {
    const month = spend.beginRead(time.clock.nowMs());
    try {
      spend.endRead(month, await store.spendByWorkspace(month));
      if (spendFailures > 0) log.warn({ failures: spendFailures }, 'reading month-to-date spend works again');
      spendFailures = 0;
    } catch (err) {
      spend.failRead();
      if (spendFailures++ % 60 === 0) log.error({ err, failures: spendFailures }, 'reading month-to-date spend failed; counting this instance\'s own');
    }
  };
  await readSpend();
  const spendTimer = time.timers.every(config.spend.refreshMs, (read) => void read(), readSpend);
  const gw = gateway = new Gateway({
    config, fleet, watch, rateLimits, admission, spend, store, backends, authenticator, ledger, admin, metrics, log, time, versions,
    calls: autoscaler === null ? rollouts : teeCalls(rollouts, autoscaler), demand: autoscaler,
    observers, tracing, ui: createUi(),
    ...(obs.metrics.replicaMetrics ? { exposition: () => watch.replicaExposition() } : {}),
  });
  await watch.start();
  // after the first probes, so a rollout resumed at start-up finds its candidate's replicas ready
  await rollouts.run();
  // after the rollouts' first round: a gateway that leads them leads this
  await autoscaler?.start();
  meter?.start();
  const addr = await gw.listen(config.server.port, config.server.host);
  gw.markReady();
  const host = addr.host.includes(':') ? `[${addr.host}]` : addr.host;

  let closing: Promise<{ cut: number }> | null = null;
  return {
    gateway: gw, store, ledger, fleet, versions, rollouts, autoscaler, costs: meter, slo, traffic,
    url: `http://${host}:${addr.port}`,
    close() {
      closing ??= (async () => {
        // no replica is started or drained by a loop that is going away
        autoscaler?.close();
        const drained = await gw.drain(config.server.drainTimeoutMs);
        // while this gateway still holds the lead: its last seconds are its to write
        await meter?.close();
        // the lead goes before the store does, so another gateway takes it at once
        await rollouts.close();
        time.timers.cancel(spendTimer);
        admission.close();
        watch.stop();
        await rateLimits.close();
        await ledger.close();
        spill?.close();
        authenticator.close();
        slo?.close();
        // the last spans go out before the process does
        await tracing?.close();
        // and the last values, once every request has settled
        await otlpMetrics?.close();
        // Drained: whatever is still open was cut with its client, so nothing is lost by destroying.
        await Promise.all([...backends.values()].map((b) => b.client.destroy()));
        await store.close();
        return drained;
      })();
      return closing;
    },
  };
}
