import type { Decision, PoolSignals, PoolSpec, ReplicaReport, ScaleReason, ScalingPolicy } from './types.js';

// The rules Switchyard's policy is measured against, on the same ports and the same driver: a
// fixed fleet, KEDA's queue rule fed to the HPA, and Knative's KPA as AIBrix ships it. Each keeps
// only what the original keeps (its last poll, its recommendations, its windows), so a run in the
// simulator shows how the original would have scaled on the same trace.

const activeOf = (rs: readonly ReplicaReport[]): number => {
  let n = 0;
  for (const r of rs) if (r.phase !== 'draining') n++;
  return n;
};

const readyOf = (rs: readonly ReplicaReport[]): number => {
  let n = 0;
  for (const r of rs) if (r.phase === 'ready') n++;
  return n;
};

/** n within the pool's limits; 0 only for a pool that may scale to zero */
function within(pool: PoolSpec, n: number): number {
  if (n <= 0 && pool.scaleToZero) return 0;
  return Math.min(pool.max, Math.max(1, pool.min, n));
}

/** the reason for going from `current` to `to`, when the rule alone wanted `raw` */
function reasonOf(pool: PoolSpec, raw: number, to: number, current: number, moved: ScaleReason): ScaleReason {
  if (to === current) return 'hold';
  if (raw > pool.max && to === pool.max) return 'max';
  if (raw < to && to > current) return 'min';
  return moved;
}

function positive(name: string, v: number, min = 0): void {
  if (!(Number.isFinite(v) && v > min)) throw new RangeError(`${name} must be a number > ${min}, got ${v}`);
}

// ─── fixed ────────────────────────────────────────────────────────────────────────────────────

/** A fleet of `replicas`, always: the peak-sized baseline. */
export function fixedPolicy(pool: PoolSpec, replicas: number): ScalingPolicy {
  if (!(Number.isInteger(replicas) && replicas >= 0)) throw new RangeError(`pool ${pool.name}: a fixed fleet needs a whole number of replicas ≥ 0, got ${replicas}`);
  const d: Decision = { desired: replicas, reason: 'fixed', detail: `a fixed fleet of ${replicas}` };
  return { name: 'fixed', decide: () => d };
}

// ─── KEDA → HPA ───────────────────────────────────────────────────────────────────────────────

export interface KedaOptions {
  /** the trigger's target AverageValue: waiting requests per replica */
  readonly queuePerReplica: number;
  /** KEDA's pollingInterval: the query is evaluated this often, ms; in between the last answer stands */
  readonly pollMs: number;
  /** the HPA's scale-down stabilisation window (and KEDA's cooldownPeriod to zero), ms */
  readonly cooldownMs: number;
  /** the HPA's tolerance: a usage ratio within 1 ± this changes nothing */
  readonly tolerance: number;
}

// pollingInterval 30 s and cooldownPeriod 300 s: KEDA's ScaledObject defaults (keda.sh, scaledobject
// spec); tolerance 0.1 and the 300 s scale-down stabilisation: the HPA's defaults (kubernetes.io,
// horizontal-pod-autoscale). 5 waiting per replica: llm-d's saturation threshold (WVA, queue ≥ 5).
export const KEDA_DEFAULTS: KedaOptions = Object.freeze({ queuePerReplica: 5, pollMs: 30_000, cooldownMs: 300_000, tolerance: 0.1 });

/**
 * KEDA's ScaledObject over a Prometheus query of the pool's waiting requests (the engines' queues
 * and the gateway's), fed to the HPA as an AverageValue target: desired = ceil(queue / target),
 * up at once, down only to the highest recommendation of the cooldown window.
 */
export function kedaPolicy(pool: PoolSpec, o: Partial<KedaOptions> = {}): ScalingPolicy {
  const k: KedaOptions = { ...KEDA_DEFAULTS, ...o };
  positive('queuePerReplica', k.queuePerReplica);
  positive('pollMs', k.pollMs);
  if (!(Number.isFinite(k.cooldownMs) && k.cooldownMs >= 0)) throw new RangeError(`cooldownMs must be a number of ms ≥ 0, got ${k.cooldownMs}`);
  if (!(Number.isFinite(k.tolerance) && k.tolerance >= 0)) throw new RangeError(`tolerance must be a number ≥ 0, got ${k.tolerance}`);
  let polledAtMs: number | null = null;
  let last: Decision | null = null;
  /** the recommendations of the cooldown window, oldest first */
  const recs: Array<{ atMs: number; n: number }> = [];

  const evaluate = (s: PoolSignals): Decision => {
    let waiting = 0;
    for (const r of s.replicas) if (r.phase !== 'starting') waiting += r.waiting;
    const queue = waiting + s.queued;
    const current = activeOf(s.replicas);
    const ratio = current > 0 ? queue / (k.queuePerReplica * current) : Infinity;
    const raw = current > 0 && Math.abs(ratio - 1) <= k.tolerance ? current : Math.ceil(queue / k.queuePerReplica);
    // KEDA deactivates (to zero) only a pool allowed there, and only on an empty queue
    const rec = queue === 0 && pool.scaleToZero ? 0 : within(pool, Math.max(1, raw));
    // as the HPA does, the window starts out holding the replicas it found
    if (last === null && k.cooldownMs > 0) recs.push({ atMs: s.nowMs, n: current });
    while (recs.length > 0 && recs[0].atMs <= s.nowMs - k.cooldownMs) recs.shift();
    let highest = rec;
    for (const r of recs) highest = Math.max(highest, r.n);
    recs.push({ atMs: s.nowMs, n: rec });
    const to = rec > current ? rec : Math.min(current, highest);
    const figures = `queue ${queue} (${waiting} waiting + ${s.queued} held) at ${k.queuePerReplica} per replica → ${raw}; ${current} active`;
    if (to === current && rec < current) {
      return { desired: to, reason: 'stabilising', detail: `${figures}; held at ${to}, the highest of the last ${k.cooldownMs / 1000}s` };
    }
    return { desired: to, reason: reasonOf(pool, raw, to, current, 'queue'), detail: to === rec ? figures : `${figures}; down to ${to}, the highest of the last ${k.cooldownMs / 1000}s` };
  };

  return {
    name: 'keda',
    decide(s: PoolSignals): Decision {
      if (last !== null && polledAtMs !== null && s.nowMs - polledAtMs < k.pollMs) return last;
      polledAtMs = s.nowMs;
      last = evaluate(s);
      return last;
    },
  };
}

// ─── KPA (Knative, as AIBrix ships it) ───────────────────────────────────────────────────────

export interface KpaOptions {
  /** concurrency (in flight + queued) per replica the rule aims at */
  readonly targetConcurrency: number;
  readonly stableWindowMs: number;
  readonly panicWindowMs: number;
  /** panic when the panic window wants this many times the ready replicas */
  readonly panicThreshold: number;
  /** one decision goes no higher than ready × this, and no lower than ready ÷ the down rate */
  readonly maxScaleUpRate: number;
  readonly maxScaleDownRate: number;
  /** a lower answer waits this long: the highest answer of the window is taken, ms (0: none) */
  readonly scaleDownDelayMs: number;
}

// Knative's defaults (knative.dev, config-autoscaler): stable 60 s, panic 6 s (10 %), threshold 200 %,
// max scale-up rate 1000, down 2, scale-down delay 0. AIBrix's KPA (vllm-project/aibrix,
// pkg/controller/podautoscaler/scaler/kpa.go, NewKpaScalingContext, and the base scaling context)
// differs in three and those are taken: panic window 10 s, max scale-up rate 2, scale-down delay
// 30 min. 32 in flight per replica: a vLLM replica's batch well short of its max_num_seqs.
export const KPA_DEFAULTS: KpaOptions = Object.freeze({
  targetConcurrency: 32,
  stableWindowMs: 60_000,
  panicWindowMs: 10_000,
  panicThreshold: 2.0,
  maxScaleUpRate: 2,
  maxScaleDownRate: 2,
  scaleDownDelayMs: 1_800_000,
});

/**
 * Knative's KPA on the pool's concurrency: desired = ceil(window average / target) over a stable
 * and a panic window; a burst (the panic window wanting panicThreshold × ready) starts a panic, in
 * which the pool never shrinks, until a stable window passes without another.
 */
export function kpaPolicy(pool: PoolSpec, o: Partial<KpaOptions> = {}): ScalingPolicy {
  const k: KpaOptions = { ...KPA_DEFAULTS, ...o };
  positive('targetConcurrency', k.targetConcurrency);
  positive('stableWindowMs', k.stableWindowMs);
  positive('panicWindowMs', k.panicWindowMs);
  positive('panicThreshold', k.panicThreshold);
  positive('maxScaleUpRate', k.maxScaleUpRate, 1 - 1e-9);
  positive('maxScaleDownRate', k.maxScaleDownRate, 1 - 1e-9);
  if (!(Number.isFinite(k.scaleDownDelayMs) && k.scaleDownDelayMs >= 0)) throw new RangeError(`scaleDownDelayMs must be a number of ms ≥ 0, got ${k.scaleDownDelayMs}`);
  /** concurrency samples of the stable window, oldest first */
  const samples: Array<{ atMs: number; v: number }> = [];
  /** answers of the scale-down delay window, oldest first */
  const answers: Array<{ atMs: number; n: number }> = [];
  /** when the panic was last (re)triggered; null: not panicking */
  let panicAtMs: number | null = null;
  let panicFloor = 0;

  const average = (fromMs: number): number => {
    let sum = 0;
    let n = 0;
    for (const x of samples) if (x.atMs > fromMs) { sum += x.v; n++; }
    return n === 0 ? 0 : sum / n;
  };

  return {
    name: 'kpa',
    decide(s: PoolSignals): Decision {
      const now = s.nowMs;
      let inflight = 0;
      for (const r of s.replicas) inflight += r.inflight;
      samples.push({ atMs: now, v: inflight + s.queued });
      while (samples.length > 0 && samples[0].atMs <= now - k.stableWindowMs) samples.shift();
      const stableAvg = average(now - k.stableWindowMs);
      const panicAvg = average(now - k.panicWindowMs);
      const current = activeOf(s.replicas);
      const ready = Math.max(1, readyOf(s.replicas));
      const maxUp = Math.ceil(ready * k.maxScaleUpRate);
      const maxDown = Math.floor(ready / k.maxScaleDownRate);
      const dspc = Math.ceil(stableAvg / k.targetConcurrency);
      const dppc = Math.ceil(panicAvg / k.targetConcurrency);
      const stableN = Math.min(maxUp, Math.max(maxDown, dspc));
      const panicN = Math.min(maxUp, Math.max(maxDown, dppc));
      if (dppc / ready >= k.panicThreshold) {
        if (panicAtMs === null) panicFloor = current;
        panicAtMs = now;
      } else if (panicAtMs !== null && now - panicAtMs > k.stableWindowMs) {
        panicAtMs = null;
        panicFloor = 0;
      }
      let n = stableN;
      if (panicAtMs !== null) {
        // in a panic the pool only grows
        panicFloor = Math.max(panicFloor, stableN, panicN);
        n = panicFloor;
      }
      let delayed = n;
      if (k.scaleDownDelayMs > 0) {
        while (answers.length > 0 && answers[0].atMs <= now - k.scaleDownDelayMs) answers.shift();
        for (const a of answers) delayed = Math.max(delayed, a.n);
        answers.push({ atMs: now, n });
      }
      const to = within(pool, delayed);
      const figures = `concurrency ${stableAvg.toFixed(1)} over ${k.stableWindowMs / 1000}s, ${panicAvg.toFixed(1)} over ${k.panicWindowMs / 1000}s at ${k.targetConcurrency} per replica → ${dspc} stable, ${dppc} panic; ${readyOf(s.replicas)} ready of ${current}`;
      if (panicAtMs !== null) return { desired: to, reason: to === current ? 'hold' : 'panic', detail: `${figures}; panicking: no lower than ${panicFloor}` };
      if (to <= current && to !== within(pool, n)) {
        return { desired: to, reason: 'stabilising', detail: `${figures}; held at ${to}, the highest of the last ${k.scaleDownDelayMs / 1000}s` };
      }
      return { desired: to, reason: reasonOf(pool, delayed, to, current, 'load'), detail: figures };
    },
  };
}
