import type { AutoscalerStatus, AutoscalerView, FleetJoinDeps, PoolStatus } from '../api/admin/index.js';
import type { Config } from '../config/index.js';
import {
  Autoscaler, KubernetesActuator, loadKubeConfig, ProcessActuator, switchyardPolicy,
  type Actuator, type FleetHands, type PoolName, type PoolSignals, type PoolSource, type PoolSpec, type ProcessSupervisor,
  type ReplicaReport, type ScaleDecision, type ScalePlan, type ScalingPolicy,
} from '../control/index.js';
import type { Store } from '../ledger/index.js';
import type { GatewayMetrics, Logger } from '../observe/index.js';
import type { TimePorts, TimerHandle } from '../time/index.js';
import type { CallReport, CallReportSink } from '../upstream/index.js';
import type { Backend } from './backends.js';
import type { MeteredReplica } from './costs.js';
import { fleetHands, replicaStats, type GatewayHands } from './autoscaler/hands.js';
import { autoscaledPools, type AutoscaledPool } from './autoscaler/pools.js';

// The autoscaler in the gateway: one driver (control/autoscaler) over every autoscaled pool, fed
// from the request path (arrivals and sheds from the pipeline, call ends from the call report) and
// acting through an actuator per pool — `switchyard engine` processes on this machine, or a
// Kubernetes Deployment. Only the gateway that leads the rollouts (the lease in the store) ticks;
// the others count what they see and decide nothing, so two gateways never scale one pool. Every
// decision reaches the metrics; one that changes a pool's size reaches the log and the audit trail.

export type { AutoscaledPool } from './autoscaler/pools.js';
export { teeCalls } from './autoscaler/calls.js';

/** What the request path tells the autoscaler: O(1), nothing awaited. */
export interface DemandSink {
  /** cheap: false means its requests are not counted (then neither is `arrived` called) */
  watching(model: string): boolean;
  arrived(model: string, promptTokens: number): void;
  /** admission shed a request of the model for want of capacity */
  shed(model: string): void;
}

/** An actuator that also reports its pool's replicas. */
export type PoolActuator = Actuator & PoolSource & { close?(): void };

/** The embedded actuator's side that only `switchyard up` has: its process supervisor and how it starts an engine. */
export interface ProcessHands {
  readonly supervisor: ProcessSupervisor;
  /** argv after the node binary for a `switchyard engine` of the pool on the port */
  engineArgs(pool: AutoscaledPool, port: number): string[];
  /** SIGTERM to SIGKILL when a replica is stopped; default 5 s */
  readonly graceMs?: number;
}

/** What the caller of startPlatform may give the autoscaler. */
export interface AutoscalerHooks {
  /** the demo fleet's processes (`switchyard up --autoscale`); absent, a pool without `kubernetes` has no actuator */
  readonly processes?: ProcessHands | null;
  /** how a pool is actuated, instead of the process or Kubernetes actuator (specs, other platforms) */
  actuatorFor?(pool: AutoscaledPool, hands: FleetHands): PoolActuator;
  /** a pool's policy; default switchyardPolicy with the configured knobs */
  policyFor?(pool: PoolSpec): ScalingPolicy;
}

export interface AutoscalerServiceOptions extends AutoscalerHooks {
  readonly config: Config;
  /** the gateway's fleet, versions and backends (the map the proxy uses) */
  readonly fleet: FleetJoinDeps<Backend>;
  /** requests held in a model's admission queue now */
  queued(model: string): number;
  /** this gateway leads (the rollouts lease) */
  leading(): boolean;
  /** a replica joined: a configured model that had none may be served from now on */
  replicaAdded(): void;
  readonly store: Pick<Store, 'appendAudit'>;
  readonly metrics: Pick<GatewayMetrics, 'autoscalerDecisions' | 'autoscalerScaleEvents'>;
  readonly log: Logger;
  readonly time: TimePorts;
}

const ACTOR = 'autoscaler';
const ACTION = 'autoscaler.scale';
const NONE: readonly ReplicaReport[] = [];

export class AutoscalerService implements DemandSink, CallReportSink<Backend>, AutoscalerView {
  readonly pools: readonly AutoscaledPool[];
  readonly hands: GatewayHands;
  readonly #o: AutoscalerServiceOptions;
  readonly #driver: Autoscaler;
  readonly #actuators = new Map<PoolName, PoolActuator>();
  readonly #starting = new Map<string, MeteredReplica>();
  /** per model, the pool its arrivals and sheds count against: the one in the gateway's region, else its first */
  readonly #primary = new Map<string, PoolName>();
  /** model → region → pool, for the call ends (no string built on the hot path) */
  readonly #byPlace = new Map<string, Map<string, PoolName>>();
  readonly #process: ProcessActuator | null = null;
  readonly #kubernetes: AutoscaledPool[] = [];
  #timer: TimerHandle | null = null;
  #leading = false;
  #closed = false;
  #auditFailing = false;

  constructor(o: AutoscalerServiceOptions) {
    this.#o = o;
    const { config, time, log } = o;
    this.pools = autoscaledPools(config);
    const specs = new Map(this.pools.map((p) => [p.spec.name, p.spec] as const));
    this.hands = fleetHands({ join: o.fleet, pools: specs, timers: time.timers, log, replicaAdded: o.replicaAdded });
    for (const p of this.pools) {
      const s = p.spec;
      if (!this.#primary.has(s.model) || s.region === config.region) this.#primary.set(s.model, s.name);
      let regions = this.#byPlace.get(s.model);
      if (regions === undefined) this.#byPlace.set(s.model, (regions = new Map()));
      regions.set(s.region, s.name);
    }
    const stats = replicaStats(o.fleet.fleet, time.clock, this.hands);
    const onError = (err: unknown, pool: PoolName): void => log.error({ err, pool }, 'autoscaling a pool failed; the next tick asks again');
    const byName = new Map(this.pools.map((x) => [x.spec.name, x] as const));
    for (const p of this.pools) {
      if (o.actuatorFor !== undefined) {
        this.#actuators.set(p.spec.name, o.actuatorFor(p, this.hands));
      } else if (p.kubernetes !== null) {
        // built at start: the Kubernetes client is loaded only when a pool needs it
        this.#kubernetes.push(p);
      } else if (o.processes != null) {
        const hands = o.processes;
        this.#process ??= new ProcessActuator({
          supervisor: hands.supervisor, hands: this.hands, clock: time.clock, timers: time.timers, onError,
          engineArgs: (pool, port) => hands.engineArgs(byName.get(pool)!, port),
          replicaStats: stats,
          // ten start-ups, and at least a minute: one that never answers is stopped and asked for again
          startTimeoutMs: (pool) => Math.max(60_000, 10 * (specs.get(pool)?.startupMs ?? 0)),
          ...(hands.graceMs === undefined ? {} : { graceMs: hands.graceMs }),
        });
        this.#actuators.set(p.spec.name, this.#process);
      } else {
        throw new Error(`autoscaler pool ${p.spec.name} has no way to add replicas: give it \`kubernetes: { deployment, namespace, port }\`, or run the demo fleet with \`switchyard up --autoscale\``);
      }
    }
    const source: PoolSource = {
      replicas: (pool) => this.#actuators.get(pool)?.replicas(pool) ?? NONE,
      queued: (pool) => {
        const spec = specs.get(pool);
        return spec !== undefined && this.#primary.get(spec.model) === pool ? o.queued(spec.model) : 0;
      },
    };
    const actuator: Actuator = { apply: (pool: PoolName, plan: ScalePlan) => this.#actuators.get(pool)?.apply(pool, plan) };
    const a = config.autoscaler;
    const knobs = a.knobs;
    this.#driver = new Autoscaler({
      ports: time, pools: this.pools.map((p) => p.spec), source, actuator, tickMs: a.tickMs,
      latencyWindowMs: a.latencyWindowMs, warmupMs: a.warmupMs, staleAfterMs: a.staleAfterMs,
      policyFor: o.policyFor ?? ((pool) => switchyardPolicy(pool, knobs)),
      onDecision: (d, s) => this.#decided(d, s),
      onError,
    });
  }

  /**
   * Adopts the demo replicas already running (the process actuator's pools), builds the Kubernetes
   * actuators and reads their pools once, then ticks every tickMs while this gateway leads.
   */
  async start(): Promise<void> {
    if (this.#timer !== null || this.#closed) return;
    const { fleet, versions } = this.#o.fleet;
    if (this.#process !== null) {
      for (const p of this.pools) {
        if (this.#actuators.get(p.spec.name) !== this.#process) continue;
        // the stable version's only (the version a replica it starts joins at): a rollout's candidate
        // is the rollout's, and, idle at weight 0, would be the first one a scale-down drained
        const stable = versions?.stableOf(p.spec.model) ?? p.spec.model;
        for (const r of fleet.replicasOf(p.spec.model)) {
          if (r.region === p.spec.region && r.version === stable) this.#process.adopt(p.spec.name, r.id, Number(new URL(r.url).port), r.url);
        }
      }
    }
    if (this.#kubernetes.length > 0) await this.#startKubernetes();
    if (this.#closed) return;
    this.#timer = this.#o.time.timers.every(this.#o.config.autoscaler.tickMs, AutoscalerService.#onTick, this);
    this.#o.log.info({ pools: this.pools.map((p) => p.spec.name), tickMs: this.#o.config.autoscaler.tickMs }, 'autoscaler started');
  }

  /** Stops deciding and every actuator's own loops; drains under way finish. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.time.timers.cancel(this.#timer);
    this.#timer = null;
    for (const a of new Set(this.#actuators.values())) a.close?.();
  }

  /** One round at once, if this gateway leads (specs; the loop ticks on its own). */
  tick(): void {
    if (this.#checkLead()) this.#driver.tick();
  }

  static #onTick(s: AutoscalerService): void {
    s.tick();
  }

  #checkLead(): boolean {
    const leading = this.#o.leading();
    if (leading !== this.#leading) {
      this.#leading = leading;
      this.#o.log.info({ pools: this.pools.length }, leading ? 'this gateway leads: autoscaling its pools' : 'another gateway leads: no longer autoscaling');
    }
    return leading;
  }

  // ── the request path ──────────────────────────────────────────────────────

  watching(model: string): boolean {
    return this.#primary.has(model);
  }

  arrived(model: string, promptTokens: number): void {
    const pool = this.#primary.get(model);
    if (pool !== undefined) this.#driver.arrived(pool, promptTokens);
  }

  shed(model: string): void {
    const pool = this.#primary.get(model);
    if (pool !== undefined) this.#driver.shed(pool);
  }

  /** A call ended (the call report): a CallReport is a CallOutcome, handed on as is. */
  call(target: Backend, r: CallReport): void {
    const rep = target.replica;
    const pool = this.#byPlace.get(rep.model)?.get(rep.region);
    if (pool !== undefined) this.#driver.ended(pool, rep.id, r);
  }

  // ── what it shows ─────────────────────────────────────────────────────────

  status(): AutoscalerStatus {
    return { enabled: true, leading: this.#o.leading(), pools: this.pools.map((p) => this.#poolStatus(p.spec)) };
  }

  decisions(pool?: PoolName): readonly ScaleDecision[] {
    return this.#driver.decisions(pool);
  }

  /** per pool, its replicas by phase and what the latest decision wants: the metrics' scrape */
  gauges(): Array<{ pool: string; starting: number; ready: number; draining: number; desired: number | null }> {
    return this.pools.map((p) => {
      const s = this.#poolStatus(p.spec);
      return { pool: p.spec.name, ...s.replicas, desired: s.latest?.to ?? null };
    });
  }

  /**
   * Replicas asked for and still starting, as the cost meter reads them: paid for while their
   * engines load, not yet in the fleet. One object per replica for as long as it starts.
   */
  starting(): readonly MeteredReplica[] {
    const now: MeteredReplica[] = [];
    const seen = new Set<string>();
    for (const p of this.pools) {
      for (const r of this.#actuators.get(p.spec.name)?.replicas(p.spec.name) ?? NONE) {
        if (r.phase !== 'starting') continue;
        seen.add(r.id);
        let m = this.#starting.get(r.id);
        if (m === undefined) this.#starting.set(r.id, (m = { id: r.id, model: p.spec.model, region: p.spec.region, url: '', version: '', inflight: 0 }));
        now.push(m);
      }
    }
    for (const id of this.#starting.keys()) if (!seen.has(id)) this.#starting.delete(id);
    return now;
  }

  #poolStatus(spec: PoolSpec): PoolStatus {
    const replicas = { starting: 0, ready: 0, draining: 0 };
    for (const r of this.#actuators.get(spec.name)?.replicas(spec.name) ?? NONE) replicas[r.phase]++;
    return { spec, replicas, latest: this.#driver.latest(spec.name) };
  }

  // ── decisions ─────────────────────────────────────────────────────────────

  #decided(d: ScaleDecision, s: PoolSignals): void {
    const { metrics, log, store } = this.#o;
    metrics.autoscalerDecisions.labels(d.pool, d.reason).inc();
    if (d.from === d.to) return;
    metrics.autoscalerScaleEvents.labels(d.pool, d.to > d.from ? 'up' : 'down').inc();
    log.info({
      pool: d.pool, from: d.from, to: d.to, reason: d.reason, start: d.plan.start, drain: d.plan.drain,
      arrivals: s.arrivals, intervalMs: s.intervalMs, queued: s.queued, shed: s.shed, ttftP99Ms: s.ttftP99Ms, itlP99Ms: s.itlP99Ms,
    }, `${d.pool}: ${d.from} → ${d.to} replicas (${d.reason}): ${d.detail}`);
    // the scaling is under way already: a record the store cannot take is logged, not waited for
    store.appendAudit({
      actor: ACTOR, action: ACTION, target: d.pool, tenantId: null, requestId: null, reason: d.detail,
      before: { replicas: d.from }, after: { replicas: d.to, reason: d.reason },
    }).then((r) => {
      if (r.ok) return this.#auditOk();
      log.error({ pool: d.pool, error: r.error }, 'the store refused an autoscaler audit record');
    }, (err: unknown) => this.#auditDown(err));
  }

  #auditDown(err: unknown): void {
    // a store that stays down fails every scale event: said once, then again when it answers
    if (this.#auditFailing) return;
    this.#auditFailing = true;
    this.#o.log.error({ err }, 'writing the autoscaler\'s audit records failed; scaling goes on without them until the store answers');
  }

  #auditOk(): void {
    if (!this.#auditFailing) return;
    this.#auditFailing = false;
    this.#o.log.warn('the autoscaler\'s audit records are written again');
  }

  async #startKubernetes(): Promise<void> {
    const { time, log } = this.#o;
    // the client library itself is loaded only here, on first use: a gateway with no Kubernetes pool never loads it
    // one actuator per kubeconfig file: each talks to one API server
    const byFile = new Map<string, AutoscaledPool[]>();
    for (const p of this.#kubernetes) {
      const file = p.kubernetes?.kubeconfig ?? '';
      byFile.set(file, [...(byFile.get(file) ?? []), p]);
    }
    for (const [file, pools] of byFile) {
      const k = new KubernetesActuator({
        kubeConfig: await loadKubeConfig(file === '' ? undefined : file), hands: this.hands, clock: time.clock, timers: time.timers, pollMs: this.#o.config.autoscaler.tickMs,
        pools: new Map(pools.map((p) => [p.spec.name, { namespace: p.kubernetes!.namespace, deployment: p.kubernetes!.deployment, port: p.kubernetes!.port }] as const)),
        replicaStats: replicaStats(this.#o.fleet.fleet, time.clock, this.hands),
        onError: (err, pool) => log.error({ err, pool }, 'the Kubernetes API failed; the next poll asks again'),
      });
      for (const p of pools) this.#actuators.set(p.spec.name, k);
      await k.start();
    }
  }
}
