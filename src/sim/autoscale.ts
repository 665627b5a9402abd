import { Autoscaler, poolName, type CallOutcome, type PoolName, type PoolSpec, type ReplicaReport, type ScaleDecision, type ScalePlan, type ScalingPolicy } from '../control/index.js';
import type { Clock, Timers } from '../time/index.js';
import type { SimReplica, SimReplicaSpec } from './replica.js';

// The autoscaler in the simulator: the gateway's own driver and policies on the agenda's ports.
// An autoscaled pool is `max` replica slots made from the pool's first replica spec; the
// simulator is the driver's PoolSource (reports from its slots, telemetry as last scraped) and its
// Actuator (a start provisions an off slot, a drain takes a slot out of rotation until nothing is
// in flight on it). What a slot does on the loop (booting, entering rotation at the next health
// probe, retiring) is the simulator's (simulator.ts); this file keeps the books.

export interface SimAutoscalePool extends PoolSpec {
  /** slots ready at t = 0; the others are off */
  readonly initial: number;
}

export interface SimAutoscaleInput {
  /** pools by region and model, among the pools of the input's replicas */
  readonly pools: readonly SimAutoscalePool[];
  readonly policyFor: (pool: PoolSpec) => ScalingPolicy;
  /** the driver's tick, seconds */
  readonly tickS: number;
  /** the driver's latency window, cold-start warm-up and telemetry staleness, seconds (default the driver's) */
  readonly latencyWindowS?: number;
  readonly warmupS?: number;
  readonly staleAfterS?: number;
}

/** Replicas of the autoscaled pools, on the sample clock. */
export interface AutoscaleSample {
  readonly atS: number;
  /** asked for and not yet in rotation (loading, or up and awaiting its health probe) */
  readonly starting: number;
  readonly ready: number;
  readonly draining: number;
}

export interface AutoscaleRecord {
  /** each autoscaled pool and the policy that scaled it */
  readonly pools: readonly { readonly pool: PoolName; readonly policy: string; readonly min: number; readonly max: number; readonly startupS: number }[];
  /** every decision of every tick, in order */
  readonly decisions: readonly ScaleDecision[];
  /** GPU-hours of the autoscaled pools' slots: GPUs × time provisioned (asked for → gone) */
  readonly gpuHours: number;
  /** decisions whose `to` differs from `from` */
  readonly scaleEvents: number;
  /** direction changes within OSCILLATION_WINDOW_S of the pool's previous scale event (see `oscillations`) */
  readonly oscillations: number;
  readonly replicasOverTime: readonly AutoscaleSample[];
  /** what the driver reported thrown by a policy or the actuator (the first ERRORS_KEPT), `pool: message` */
  readonly errors: readonly string[];
}

const ERRORS_KEPT = 20;

/** A scale event in the opposite direction this soon after the previous one counts as an oscillation. */
export const OSCILLATION_WINDOW_S = 600;

/**
 * Oscillations: per pool, over its scale events (to ≠ from) in time order, each whose direction
 * (up or down) is opposite to the pool's previous scale event and comes within `windowS` of it.
 * The previous scale event is also the previous opposite change's, so up–down–up within ten
 * minutes counts two.
 */
export function oscillations(decisions: readonly ScaleDecision[], windowS = OSCILLATION_WINDOW_S): number {
  const last = new Map<PoolName, { atMs: number; up: boolean }>();
  let n = 0;
  for (const d of decisions) {
    if (d.to === d.from) continue;
    const up = d.to > d.from;
    const prev = last.get(d.pool);
    if (prev !== undefined && prev.up !== up && d.atMs - prev.atMs <= windowS * 1000) n++;
    last.set(d.pool, { atMs: d.atMs, up });
  }
  return n;
}

/** The input's replicas with each autoscaled pool's replaced by its `max` slots, and each slot's pool (null: a fixed replica). */
export interface SlotLayout {
  readonly specs: readonly SimReplicaSpec[];
  readonly poolOf: readonly (SimAutoscalePool | null)[];
}

/** Slots of a pool are named `region/model/i`; they sit where the pool's first replica was. */
export function slotLayout(replicas: readonly SimReplicaSpec[], input: SimAutoscaleInput): SlotLayout {
  const byKey = new Map<string, SimAutoscalePool>();
  for (const p of input.pools) {
    if (!(p.max >= 1) || !Number.isInteger(p.max)) throw new RangeError(`autoscale pool ${p.name}: max must be a whole number ≥ 1, got ${p.max}`);
    if (!(p.min >= 0 && p.min <= p.max)) throw new RangeError(`autoscale pool ${p.name}: min ${p.min} must be within 0…max (${p.max})`);
    if (!(p.initial >= 0 && p.initial <= p.max) || !Number.isInteger(p.initial)) throw new RangeError(`autoscale pool ${p.name}: initial ${p.initial} must be a whole number within 0…max (${p.max})`);
    const key = poolName(p.region, p.model);
    if (byKey.has(key)) throw new RangeError(`autoscale pool ${p.name} is listed twice`);
    byKey.set(key, p);
  }
  const specs: SimReplicaSpec[] = [];
  const poolOf: (SimAutoscalePool | null)[] = [];
  const placed = new Set<SimAutoscalePool>();
  for (const spec of replicas) {
    const p = byKey.get(poolName(spec.region, spec.model));
    if (p === undefined) {
      specs.push(spec);
      poolOf.push(null);
      continue;
    }
    if (placed.has(p)) continue;
    placed.add(p);
    for (let i = 0; i < p.max; i++) {
      // the slot ids are the pool's replica ids (its version or name kept), so faults aimed at them land
      specs.push({ ...spec, id: spec.id.replace(/\/\d+$/, `/${i}`) });
      poolOf.push(p);
    }
  }
  for (const p of input.pools) {
    if (!placed.has(p)) throw new RangeError(`autoscale pool ${p.name}: no replica of model ${p.model} in region ${p.region} to make its slots from`);
  }
  return { specs, poolOf };
}

export interface SimAutoscaleHooks {
  /** the agenda's ports, and its time in seconds */
  readonly clock: Clock & Timers & { readonly nowS: number };
  /** requests held in the gateway's admission queue of a model now */
  queued(model: string): number;
  /** provision an off slot: it boots after its pool's start-up */
  start(r: SimReplica, pool: SimAutoscalePool): void;
  /** cancel a start, or take a ready slot out of rotation until nothing is in flight on it */
  drain(r: SimReplica): void;
}

interface Pool {
  readonly spec: SimAutoscalePool;
  readonly slots: SimReplica[];
}

/** The books of a run's autoscaled pools, and the driver that scales them. */
export class SimAutoscale {
  readonly #in: SimAutoscaleInput;
  readonly #hooks: SimAutoscaleHooks;
  readonly #pools = new Map<PoolName, Pool>();
  /** each replica's pool name by its index; null: fixed */
  readonly #poolName: (PoolName | null)[];
  /** model → region → pool, and model → its first pool: where an arrival's demand is counted */
  readonly #demand = new Map<string, { readonly byRegion: Map<string, PoolName>; readonly first: PoolName }>();
  readonly #byId = new Map<string, SimReplica>();
  readonly #driver: Autoscaler;
  readonly #decisions: ScaleDecision[] = [];
  readonly #samples: AutoscaleSample[] = [];
  readonly #policies = new Map<PoolName, string>();
  readonly #errors: string[] = [];

  constructor(input: SimAutoscaleInput, replicas: readonly SimReplica[], layout: SlotLayout, hooks: SimAutoscaleHooks) {
    this.#in = input;
    this.#hooks = hooks;
    this.#poolName = layout.poolOf.map((p) => p?.name ?? null);
    for (const p of input.pools) this.#pools.set(p.name, { spec: p, slots: [] });
    replicas.forEach((r, i) => {
      const p = layout.poolOf[i];
      if (p === null) return;
      const pool = this.#pools.get(p.name)!;
      // the first `initial` slots serve from the start, charged from t = 0; the rest are off
      if (pool.slots.length >= p.initial) {
        r.phase = 'off';
        r.up = false;
        r.healthy = false;
      } else r.provisionedSinceS = 0;
      pool.slots.push(r);
      this.#byId.set(r.spec.id, r);
      let d = this.#demand.get(p.model);
      if (d === undefined) this.#demand.set(p.model, (d = { byRegion: new Map(), first: p.name }));
      d.byRegion.set(p.region, p.name);
    });
    const clock = hooks.clock;
    this.#driver = new Autoscaler({
      ports: { clock, timers: clock },
      pools: input.pools,
      policyFor: (pool) => {
        const policy = input.policyFor(pool);
        this.#policies.set(pool.name, policy.name);
        return policy;
      },
      source: { replicas: (pool) => this.#reports(pool), queued: (pool) => this.#queued(pool) },
      actuator: { apply: (pool, plan) => this.#apply(pool, plan) },
      tickMs: input.tickS * 1000,
      ...(input.latencyWindowS !== undefined ? { latencyWindowMs: input.latencyWindowS * 1000 } : {}),
      ...(input.warmupS !== undefined ? { warmupMs: input.warmupS * 1000 } : {}),
      ...(input.staleAfterS !== undefined ? { staleAfterMs: input.staleAfterS * 1000 } : {}),
      onDecision: (d) => this.#decisions.push(d),
      // a policy that throws in a simulation is a bug to see in the record, not a reason to stop the run
      onError: (err, pool) => {
        if (this.#errors.length < ERRORS_KEPT) this.#errors.push(`${pool}: ${err instanceof Error ? err.message : String(err)}`);
      },
    });
  }

  /** Starts the driver's ticks on the agenda. */
  arm(): void {
    this.#driver.start();
  }

  stop(): void {
    this.#driver.stop();
  }

  /** A request of `model` arrived from `home`: demand of the model's pool there, else of its first pool. O(1). */
  arrived(model: string, home: string, promptTokens: number): void {
    const d = this.#demand.get(model);
    if (d !== undefined) this.#driver.arrived(d.byRegion.get(home) ?? d.first, promptTokens);
  }

  /** Admission shed a request: counted where its arrival was. */
  shed(model: string, home: string): void {
    const d = this.#demand.get(model);
    if (d !== undefined) this.#driver.shed(d.byRegion.get(home) ?? d.first);
  }

  /** A call on replica `r` ended (a fixed replica's is nobody's business here). */
  ended(r: SimReplica, call: CallOutcome): void {
    const pool = this.#poolName[r.index];
    if (pool !== null) this.#driver.ended(pool, r.spec.id, call);
  }

  /** Whether replica `r` is a slot of an autoscaled pool (the caller builds a call outcome only for those). */
  scales(r: SimReplica): boolean {
    return this.#poolName[r.index] !== null;
  }

  /** The sample clock ticked: the slots' phases now. */
  sample(atS: number): void {
    let starting = 0;
    let ready = 0;
    let draining = 0;
    for (const p of this.#pools.values()) {
      for (const r of p.slots) {
        if (r.phase === 'starting' || r.phase === 'booted') starting++;
        else if (r.phase === 'ready') ready++;
        else if (r.phase === 'draining') draining++;
      }
    }
    this.#samples.push({ atS, starting, ready, draining });
  }

  /** The record, given each slot's provisioned seconds at the end (the replicas' upS). */
  record(upS: (r: SimReplica) => number): AutoscaleRecord {
    let gpuHours = 0;
    for (const p of this.#pools.values()) for (const r of p.slots) gpuHours += (upS(r) * r.spec.profile.tp) / 3600;
    let events = 0;
    for (const d of this.#decisions) if (d.to !== d.from) events++;
    return {
      pools: this.#in.pools.map((p) => ({ pool: p.name, policy: this.#policies.get(p.name) ?? '', min: p.min, max: p.max, startupS: p.startupMs / 1000 })),
      decisions: this.#decisions, gpuHours, scaleEvents: events, oscillations: oscillations(this.#decisions),
      replicasOverTime: this.#samples, errors: this.#errors,
    };
  }

  #reports(name: PoolName): ReplicaReport[] {
    const pool = this.#pools.get(name);
    if (pool === undefined) return [];
    const out: ReplicaReport[] = [];
    for (const r of pool.slots) {
      if (r.phase === 'off') continue;
      const s = r.scraped;
      out.push({
        id: r.spec.id,
        phase: r.phase === 'booted' ? 'starting' : r.phase,
        sinceMs: r.phaseSinceS * 1000,
        reportedAtMs: r.reportedAtS === null ? null : r.reportedAtS * 1000,
        waiting: s?.waiting ?? 0, running: s?.running ?? 0, kvUsage: s?.kvUsage ?? 0,
        inflight: r.inflight,
      });
    }
    return out;
  }

  /** The admission queue is the model's: every pool of the model sees it whole (any of them could serve what it holds). */
  #queued(name: PoolName): number {
    const pool = this.#pools.get(name);
    return pool === undefined ? 0 : this.#hooks.queued(pool.spec.model);
  }

  #apply(name: PoolName, plan: ScalePlan): void {
    const pool = this.#pools.get(name);
    if (pool === undefined) return;
    for (const id of plan.drain) {
      const r = this.#byId.get(id);
      if (r !== undefined && this.#poolName[r.index] === name) this.#hooks.drain(r);
    }
    // an off slot per start, lowest first; none left (all busy, some still draining): the next tick asks again
    let n = plan.start;
    for (const r of pool.slots) {
      if (n <= 0) break;
      if (r.phase !== 'off') continue;
      this.#hooks.start(r, pool.spec);
      n--;
    }
  }
}
