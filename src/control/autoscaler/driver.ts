import type { Clock, TimerHandle, Timers } from '../../time/index.js';
import { isEmptyPlan, planScale } from './plan.js';
import { SignalWindow } from './signals.js';
import type { Actuator, CallOutcome, Decision, DecisionSink, PoolName, PoolSignals, PoolSource, PoolSpec, ReplicaReport, ScaleDecision, ScalingPolicy } from './types.js';

// The autoscaler's loop, on the time ports: each tick reads every pool's replicas, folds what the
// gateway told it since the last tick into signals, asks the pool's policy, bounds the answer by
// the pool's limits, plans it and hands the plan to the actuator. The gateway and the simulator run
// this same class, so what the simulator measures is what production does. Each pool stands alone:
// a policy or actuator that throws leaves its pool as it is and the others are decided all the same.

export interface AutoscalerOptions {
  readonly ports: { readonly clock: Clock; readonly timers: Timers };
  readonly pools: readonly PoolSpec[];
  /** one policy per pool, asked for once */
  readonly policyFor: (pool: PoolSpec) => ScalingPolicy;
  readonly source: PoolSource;
  readonly actuator: Actuator;
  readonly tickMs: number;
  /** the latency percentiles cover this long, ms; default 60 s */
  readonly latencyWindowMs?: number;
  /** calls within this long of a replica's becoming ready are not latency samples, ms; default 60 s */
  readonly warmupMs?: number;
  /** telemetry older than this is stale (such a replica is drained first), ms; default 30 s */
  readonly staleAfterMs?: number;
  readonly onDecision?: DecisionSink;
  readonly onError?: (err: unknown, pool: PoolName) => void;
}

/** the decisions kept per pool */
export const DECISIONS_KEPT = 200;

interface Held {
  readonly spec: PoolSpec;
  readonly policy: ScalingPolicy;
  readonly window: SignalWindow;
  /** a ring of the last DECISIONS_KEPT decisions */
  readonly decisions: ScaleDecision[];
  next: number;
}

const tickOf = (a: Autoscaler): void => a.tick();

const active = (replicas: readonly ReplicaReport[]): number => {
  let n = 0;
  for (const r of replicas) if (r.phase !== 'draining') n++;
  return n;
};

function checkPool(p: PoolSpec): void {
  const ok = Number.isInteger(p.min) && Number.isInteger(p.max) && p.min >= 0 && p.max >= 1 && p.min <= p.max;
  if (!ok) throw new RangeError(`pool ${p.name}: min and max must be integers with 0 ≤ min ≤ max and max ≥ 1, got min ${p.min}, max ${p.max}`);
}

/**
 * The policy's answer within the pool's limits: a whole number in [min, max], 0 only for a pool
 * that may scale to zero (a pool with min 0 that may not keeps one). A policy bug must not start
 * a thousand replicas nor drain the last one.
 */
export function bound(pool: PoolSpec, d: Decision): Decision {
  const want = Math.ceil(d.desired);
  if (want <= 0 && pool.scaleToZero) return want === d.desired ? d : { ...d, desired: 0 };
  const lo = Math.max(1, pool.min);
  if (want > pool.max) return { desired: pool.max, reason: 'max', detail: `${d.detail}; held to the pool's maximum of ${pool.max}` };
  if (want < lo) return { desired: lo, reason: 'min', detail: `${d.detail}; held to the pool's minimum of ${lo}` };
  return want === d.desired ? d : { ...d, desired: want };
}

export class Autoscaler {
  readonly pools: readonly PoolSpec[];
  readonly #o: AutoscalerOptions;
  readonly #staleAfterMs: number;
  readonly #byName = new Map<PoolName, Held>();
  #timer: TimerHandle | null = null;

  constructor(o: AutoscalerOptions) {
    if (!(Number.isFinite(o.tickMs) && o.tickMs > 0)) throw new RangeError(`tickMs must be a positive number of ms, got ${o.tickMs}`);
    const staleAfterMs = o.staleAfterMs ?? 30_000;
    if (!(Number.isFinite(staleAfterMs) && staleAfterMs > 0)) throw new RangeError(`staleAfterMs must be a positive number of ms, got ${staleAfterMs}`);
    this.#o = o;
    this.#staleAfterMs = staleAfterMs;
    const startMs = o.ports.clock.nowMs();
    const windows = { latencyWindowMs: o.latencyWindowMs ?? 60_000, warmupMs: o.warmupMs ?? 60_000 };
    for (const spec of o.pools) {
      if (this.#byName.has(spec.name)) throw new RangeError(`pool ${spec.name} is listed twice`);
      checkPool(spec);
      const window = new SignalWindow(spec.name, startMs, windows);
      this.#byName.set(spec.name, { spec, policy: o.policyFor(spec), window, decisions: [], next: 0 });
    }
    this.pools = o.pools;
  }

  start(): void {
    if (this.#timer === null) this.#timer = this.#o.ports.timers.every(this.#o.tickMs, tickOf, this);
  }

  stop(): void {
    this.#o.ports.timers.cancel(this.#timer);
    this.#timer = null;
  }

  /** One round over every pool, now. */
  tick(): void {
    const nowMs = this.#o.ports.clock.nowMs();
    for (const h of this.#byName.values()) this.#tickOne(h, nowMs);
  }

  /** A request reached the pool (hot path; an unknown pool is ignored). */
  arrived(pool: PoolName, promptTokens: number): void {
    this.#byName.get(pool)?.window.arrived(promptTokens);
  }

  /** The gateway shed a request of the pool for want of capacity. */
  shed(pool: PoolName): void {
    this.#byName.get(pool)?.window.shed();
  }

  /** A call of the pool ended on `replicaId` (hot path). */
  ended(pool: PoolName, replicaId: string, call: CallOutcome): void {
    const h = this.#byName.get(pool);
    if (h !== undefined) h.window.ended(replicaId, call, this.#o.ports.clock.nowMs());
  }

  /** Newest last: one pool's, or every pool's in time order. */
  decisions(pool?: PoolName): readonly ScaleDecision[] {
    if (pool !== undefined) {
      const h = this.#byName.get(pool);
      return h === undefined ? [] : ordered(h);
    }
    const all: ScaleDecision[] = [];
    for (const h of this.#byName.values()) all.push(...ordered(h));
    // stable: pools keep their listed order within one instant
    return all.sort((a, b) => a.atMs - b.atMs);
  }

  latest(pool: PoolName): ScaleDecision | null {
    const h = this.#byName.get(pool);
    if (h === undefined || h.decisions.length === 0) return null;
    return h.decisions[(h.next + DECISIONS_KEPT - 1) % DECISIONS_KEPT];
  }

  #tickOne(h: Held, nowMs: number): void {
    const pool = h.spec.name;
    let replicas: readonly ReplicaReport[];
    let signals: PoolSignals;
    let decision: Decision;
    try {
      replicas = this.#o.source.replicas(pool);
      signals = h.window.snapshot(nowMs, replicas, this.#o.source.queued(pool));
      decision = h.policy.decide(signals);
      if (!Number.isFinite(decision.desired)) throw new Error(`policy ${h.policy.name} answered ${decision.desired} replicas for pool ${pool}; a number was expected`);
    } catch (err) {
      this.#o.onError?.(err, pool);
      return;
    }
    const bounded = bound(h.spec, decision);
    const plan = planScale(bounded.desired, replicas, nowMs, this.#staleAfterMs);
    // counted before the actuator acts: a source may hand out a list the actuator then changes
    const from = active(replicas);
    if (!isEmptyPlan(plan)) {
      try {
        this.#o.actuator.apply(pool, plan);
      } catch (err) {
        // level-triggered: the next tick reads the replicas again and asks again
        this.#o.onError?.(err, pool);
      }
    }
    const d: ScaleDecision = { atMs: nowMs, pool, policy: h.policy.name, from, to: bounded.desired, reason: bounded.reason, detail: bounded.detail, plan };
    record(h, d);
    if (this.#o.onDecision === undefined) return;
    try {
      this.#o.onDecision(d, signals);
    } catch (err) {
      this.#o.onError?.(err, pool);
    }
  }
}

function record(h: Held, d: ScaleDecision): void {
  if (h.decisions.length < DECISIONS_KEPT) h.decisions.push(d);
  else h.decisions[h.next] = d;
  h.next = (h.next + 1) % DECISIONS_KEPT;
}

function ordered(h: Held): ScaleDecision[] {
  const n = h.decisions.length;
  if (n < DECISIONS_KEPT) return h.decisions.slice();
  return [...h.decisions.slice(h.next), ...h.decisions.slice(0, h.next)];
}
