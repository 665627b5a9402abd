import { replicaCapacity, replicaLatency, type ReplicaCapacity } from './capacity.js';
import { RateForecast } from './forecast.js';
import type { SwitchyardKnobs } from './spec.js';
import type { Decision, PoolSignals, PoolSpec, ScaleReason, ScalingPolicy } from './types.js';

// Switchyard's scaling rule for one pool. Demand is read three ways (the arrival rate forecast one
// start-up ahead, the stable and panic windows' rates, the work in flight and queued) and turned into
// replicas by the engine model's capacity at the SLO (capacity.ts), corrected online by how far the
// measured p99s sit above the modelled ones (bounded), with a margin. Measured latency over the SLO on
// warm replicas adds one, and no more until that one is ready (its latency is of the pool before it).
// Up is at once (capped per decision); down is slow and checked: a dead band, the highest need of the
// stabilisation window, no scale-down while a burst is recent or latency is over the SLO, then one
// replica at a time, each after the last drained one is gone and a cool-off, and only if the
// survivors carry the load, the panic window's included (the 2 ↔ 1 oscillation is a scale-down that
// skipped that check). A pool idle for the idle window goes to its minimum, or to zero. A ready
// replica that stopped reporting counts as no capacity, so a replacement is asked for and the plan
// drains the silent one first; it blocks nothing.

/** the weight an observation dtMs long gets in an EWMA of time constant windowMs */
const weight = (dtMs: number, windowMs: number): number => (dtMs > 0 ? 1 - Math.exp(-dtMs / windowMs) : 0);

/** the most the measured time in system may exceed the model's (see the concurrency term) */
const HOLD_MAX = 10;

const fmt = (x: number): string => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

class SwitchyardPolicy implements ScalingPolicy {
  readonly name = 'switchyard';
  readonly #pool: PoolSpec;
  readonly #k: SwitchyardKnobs;
  readonly #forecast: RateForecast;

  #firstMs = Number.NaN;
  #stable = 0;
  #panic = 0;
  /** tokens per request, NaN until seen (capacity then assumes its default shape) */
  #promptMean = Number.NaN;
  #outputMean = Number.NaN;
  #lastActiveMs = Number.NaN;
  #panicUntilMs = Number.NEGATIVE_INFINITY;
  /** measured ÷ modelled p99 latency, smoothed and bounded: the engine model's online correction */
  #correction = 1;
  /** Little's L and λ (work in flight and queued, arrivals a second) over the panic window, at ticks the pool was not overloaded */
  #calmWork = Number.NaN;
  #calmRate = Number.NaN;
  /** when the policy last stepped down: the next step waits the cool-off */
  #downAtMs = Number.NEGATIVE_INFINITY;
  /** the raw need of each tick within the stabilisation window, oldest first */
  #histT: number[] = [];
  #histV: number[] = [];

  constructor(pool: PoolSpec, knobs: SwitchyardKnobs) {
    this.#pool = pool;
    this.#k = knobs;
    const f = knobs.forecast;
    this.#forecast = new RateForecast({
      alpha: f.alpha, beta: f.beta, seasonPeriodMs: f.seasonPeriodMs, seasonBucketMs: f.seasonBucketMs,
      seasonMode: f.seasonMode, clamp: f.clamp,
    });
  }

  decide(s: PoolSignals): Decision {
    const k = this.#k;
    const pool = this.#pool;
    const now = s.nowMs;
    const dt = s.intervalMs > 0 ? s.intervalMs : 0;
    const rate = dt > 0 ? (s.arrivals * 1000) / dt : 0;

    // demand over time: the windows, the request shape, the forecast
    const first = Number.isNaN(this.#firstMs);
    if (first) {
      // the first tick's counts cover the interval before it: quiet since its start
      this.#firstMs = now - dt;
      this.#lastActiveMs = now - dt;
      this.#stable = rate;
      this.#panic = rate;
    } else {
      this.#stable += weight(dt, k.stableWindowMs) * (rate - this.#stable);
      this.#panic += weight(dt, k.panicWindowMs) * (rate - this.#panic);
    }
    const w = first ? 1 : weight(dt, k.stableWindowMs);
    if (s.arrivals > 0 && s.promptTokens > 0) this.#promptMean = Number.isNaN(this.#promptMean) ? s.promptTokens / s.arrivals : this.#promptMean + w * (s.promptTokens / s.arrivals - this.#promptMean);
    if (s.calls > 0 && s.outputTokens > 0) this.#outputMean = Number.isNaN(this.#outputMean) ? s.outputTokens / s.calls : this.#outputMean + w * (s.outputTokens / s.calls - this.#outputMean);
    if (k.forecast.enabled) this.#forecast.observe(now, rate);

    // the pool now: draining replicas are leaving; a silent ready replica is no capacity
    let starting = 0;
    let ready = 0;
    let stale = 0;
    let inflight = 0;
    let drainingInflight = 0;
    let draining = 0;
    for (const r of s.replicas) {
      if (r.phase === 'draining') {
        draining++;
        drainingInflight += r.inflight;
        continue;
      }
      inflight += r.inflight;
      if (r.phase === 'starting') starting++;
      else {
        ready++;
        const silent = r.reportedAtMs === null || now - r.reportedAtMs > k.staleAfterMs;
        if (silent && now - r.sinceMs > k.staleAfterMs) stale++;
      }
    }
    const current = starting + ready;
    const live = current - stale;
    const work = inflight + s.queued;
    if (s.arrivals > 0 || work > 0 || drainingInflight > 0) this.#lastActiveMs = now;
    const idleFor = now - this.#lastActiveMs;

    // the model's error on this pool's traffic, as Dynamo's planner corrects it: the measured p99s
    // over the modelled ones at the load they were measured at (the burstiness and the spread of
    // lengths a mean shape cannot know), smoothed over the stable window and bounded. The load is the
    // larger of the stable and panic rates: on a ramp the stable rate lags the calls the p99s are of,
    // and a model read at the lagging load blamed itself for the ramp (×1.4 at each conv ×4 peak,
    // where the pool then asked for 8 replicas to the fixed fleet's 5)
    const shape = { promptTokens: this.#promptMean, outputTokens: this.#outputMean };
    if (k.correctionMax > 1 && s.latencySamples >= k.minLatencySamples && live > 0) {
      const m = replicaLatency(pool.profile, pool.engine, shape, Math.max(this.#stable, this.#panic) / live);
      const ratio = Math.max(s.itlP99Ms !== null ? s.itlP99Ms / m.itlMs : 0, s.ttftP99Ms !== null ? s.ttftP99Ms / m.ttftMs : 0);
      if (Number.isFinite(ratio)) this.#correction += weight(dt, k.stableWindowMs) * (Math.min(k.correctionMax, Math.max(1, ratio)) - this.#correction);
    }
    const c = this.#correction;
    // what one replica carries at the SLO (tightened by the correction), with headroom
    const cap: ReplicaCapacity = replicaCapacity(pool.profile, pool.engine, shape, { ttftMs: pool.slo.ttftMs / c, itlMs: pool.slo.itlMs / c });
    const perReplica = cap.requestsPerS * k.targetUtilisation;

    const aheadMs = pool.startupMs + dt;
    const forecast = k.forecast.enabled ? this.#forecast.predict(now + aheadMs) : 0;
    const panicking = this.#panic > 0 && this.#panic >= k.panicThreshold * this.#stable && this.#panic / perReplica > live;
    if (panicking) this.#panicUntilMs = now + k.panicHoldMs;
    const sloOver = s.latencySamples >= k.minLatencySamples
      && ((s.ttftP99Ms !== null && s.ttftP99Ms > pool.slo.ttftMs) || (s.itlP99Ms !== null && s.itlP99Ms > pool.slo.itlMs));

    // what one replica holds in flight at the SLO is its rate there × the time a request spends in
    // the system (Little's law). The model's time is that of the mean request; over a long-tailed mix
    // the mean time is longer (an 85k-token prompt waits and prefills for seconds, and all that decodes
    // meanwhile slows), so on the Mooncake trace a replica held ~12 in flight within its SLO where the
    // model said 3.5, and this term asked for 3× the replicas. So the time is measured: L ÷ λ, the work
    // over the arrival rate, each an EWMA over the panic window (with one window, a ramp or a burst
    // moves both alike and leaves their ratio alone). It is learned only while the pool is not known
    // to be overloaded (nothing queued, latency within the SLO): an overloaded pool's time in system
    // is the queue this term is there to see. Never below the model's, so the term is never more
    // eager than the model makes it; at most HOLD_MAX times it, so a stuck in-flight count cannot
    // switch the term off.
    if (s.queued === 0 && !sloOver) {
      const wt = Number.isNaN(this.#calmWork) ? 1 : weight(dt, k.panicWindowMs);
      this.#calmWork = Number.isNaN(this.#calmWork) ? work : this.#calmWork + wt * (work - this.#calmWork);
      this.#calmRate = Number.isNaN(this.#calmRate) ? rate : this.#calmRate + wt * (rate - this.#calmRate);
    }
    const inSystemS = this.#calmRate > 0 ? this.#calmWork / this.#calmRate : 0;
    const holds = Math.min(HOLD_MAX * cap.inflight, Math.max(cap.inflight, cap.requestsPerS * inSystemS));
    const perReplicaBatch = Math.max(1, holds * k.targetUtilisation);
    const reactive = panicking ? Math.max(this.#stable, this.#panic) : this.#stable;
    const needConc = work / perReplicaBatch;
    const need = Math.max(forecast / perReplica, reactive / perReplica, needConc);
    const sloStep = sloOver && starting === 0;

    // the terms, as replicas starting and ready together (a stale replica's replacement included).
    // The SLO term is one more than the ready ones: while a replica is starting it asks for nothing
    // more, since the latency it reacts to is of the pool before that replica (else it adds one a tick).
    const terms: [ScaleReason, number][] = [
      ['panic', panicking ? Math.ceil(reactive / perReplica) + stale : 0],
      ['slo', sloStep ? ready + 1 : 0],
      ['forecast', Math.ceil(forecast / perReplica) + stale],
      ['load', Math.ceil(Math.max(this.#stable / perReplica, needConc)) + stale],
    ];
    let upReason: ScaleReason = 'load';
    let raw = 0;
    for (const [reason, n] of terms) if (n > raw) [upReason, raw] = [reason, n];
    const fromZero = current === 0 && (s.arrivals > 0 || s.queued > 0);
    if (fromZero && raw < 1) [upReason, raw] = ['load', 1];
    raw = raw > 0 ? raw : 0;
    this.#remember(now, raw);

    const figures = `stable ${fmt(this.#stable)} req/s, panic ${fmt(this.#panic)}, forecast ${fmt(forecast)} at +${Math.round(aheadMs / 1000)} s; `
      + `${fmt(perReplica)} req/s per replica at the SLO${c > 1.005 ? ` (the model corrected ×${fmt(c)} by measured latency)` : ''} (${fmt(holds)} in flight${holds > cap.inflight * 1.005 ? `: ${fmt(inSystemS)} s in the system, as measured` : ''}, p99 ITL ${fmt(cap.itlMs)} ms, TTFT ${fmt(cap.ttftMs)} ms); `
      + `need ${fmt(need)} replicas, ${live} live${stale > 0 ? ` and ${stale} silent` : ''}${starting > 0 ? ` (${starting} starting)` : ''}, ${work} in flight or queued`;
    const band = k.deadBand * live;

    let target = current;
    let reason: ScaleReason = 'hold';
    let why: string;
    if (idleFor >= k.idleMs) {
      target = pool.scaleToZero ? 0 : pool.min;
      reason = 'idle';
      why = `no traffic for ${Math.round(idleFor / 1000)} s: to ${pool.scaleToZero ? 'zero' : 'the minimum'}`;
    } else if (raw > current) {
      if (!panicking && !sloStep && !fromZero && live > 0 && need - live <= band) {
        why = `holding ${current}: the need is within the ±${k.deadBand * 100} % dead band`;
      } else {
        target = Math.min(raw, current + k.maxStepUp);
        reason = upReason;
        why = `${current} → ${target}${target < raw ? ` of ${raw} (at most ${k.maxStepUp} per decision)` : ''}: ${UP[upReason]}`;
      }
    } else if (raw < current) {
      const stabilised = this.#stabilised();
      const capAfter = stale > 0 ? live : live - 1;
      // the panic window too: a rise not yet a burst must not be met with one fewer
      const load = Math.max(this.#stable, this.#panic, forecast);
      if (live > 0 && live - need <= band) {
        why = `holding ${current}: the need is within the ±${k.deadBand * 100} % dead band`;
      } else if (now - this.#firstMs < k.scaleDownStabiliseMs || stabilised >= current) {
        reason = 'stabilising';
        why = `holding ${current}: the highest need over the last ${Math.round(k.scaleDownStabiliseMs / 1000)} s is ${Math.max(stabilised, raw)}${now - this.#firstMs < k.scaleDownStabiliseMs ? ' (window not yet full)' : ''}`;
      } else if (sloOver) {
        reason = 'stabilising';
        why = `holding ${current}: p99 latency is over the SLO on warm replicas (${starting} starting)`;
      } else if (draining > 0 || now - this.#downAtMs < k.scaleDownCooloffMs) {
        reason = 'stabilising';
        why = draining > 0
          ? `holding ${current}: ${draining} replica${draining > 1 ? 's are' : ' is'} still draining; the next step down waits for the pool it leaves`
          : `holding ${current}: the last step down was ${Math.round((now - this.#downAtMs) / 1000)} s ago, the cool-off is ${Math.round(k.scaleDownCooloffMs / 1000)} s`;
      } else if (now < this.#panicUntilMs) {
        reason = 'stabilising';
        why = `holding ${current}: a burst ${Math.round((now - this.#panicUntilMs + k.panicHoldMs) / 1000)} s ago holds scale-down for ${Math.round(k.panicHoldMs / 1000)} s`;
      } else if (capAfter <= 0 || load > capAfter * perReplica || work > capAfter * perReplicaBatch) {
        why = capAfter <= 0
          ? `holding ${current}: none would be left, and the pool is not yet idle (${Math.round(idleFor / 1000)} of ${Math.round(k.idleMs / 1000)} s)`
          : `holding ${current}: ${current - 1} would not carry ${fmt(load)} req/s (${fmt(capAfter * perReplica)} at the SLO) and ${work} in flight or queued`;
      } else {
        // one step at a time: a pool let down further at once sat at the trough's size when the next
        // ramp came (conv ×4, its 15-minute cycle: 97.9 % at up to 3 a step), and the catch-up cost more
        target = current - 1;
        reason = 'consolidate';
        this.#downAtMs = now;
        why = `${current} → ${target}: ${capAfter} live would carry ${fmt(load)} req/s within ${fmt(capAfter * perReplica)} at the SLO`;
      }
    } else {
      why = `holding ${current}: it matches the need`;
    }

    // the pool's bounds: zero only when it may scale to zero and is idle, or is already there with
    // nothing to serve (then scaleToZero overrides min); a pool that may not never goes below 1
    const floor = pool.scaleToZero && (reason === 'idle' || (current === 0 && !fromZero)) ? 0 : Math.max(pool.min, pool.scaleToZero ? 0 : 1);
    if (target > pool.max) {
      target = pool.max;
      reason = 'max';
      why += `, capped at the pool's maximum ${pool.max}`;
    } else if (target < floor) {
      target = floor;
      reason = 'min';
      why += `, raised to the pool's minimum ${floor}`;
    }
    if (target === 0 && starting > 0) {
      target = 1;
      why += `, but not to zero while a replica is still starting`;
    }
    return { desired: target, reason, detail: `${why}; ${figures}.` };
  }

  #remember(now: number, v: number): void {
    this.#histT.push(now);
    this.#histV.push(v);
    let drop = 0;
    while (drop < this.#histT.length - 1 && this.#histT[drop] <= now - this.#k.scaleDownStabiliseMs) drop++;
    if (drop > 0) {
      this.#histT.splice(0, drop);
      this.#histV.splice(0, drop);
    }
  }

  #stabilised(): number {
    let m = 0;
    for (const v of this.#histV) if (v > m) m = v;
    return m;
  }
}

const UP: Readonly<Partial<Record<ScaleReason, string>>> = {
  panic: 'a burst (the panic window is at least the threshold over the stable one)',
  slo: 'p99 latency is over the SLO on warm replicas',
  forecast: 'the forecast rate one start-up ahead needs more',
  load: 'the load now needs more',
};

/** Switchyard's policy for one pool; it keeps its own history, so one instance per pool. */
export function switchyardPolicy(pool: PoolSpec, knobs: SwitchyardKnobs): ScalingPolicy {
  return new SwitchyardPolicy(pool, knobs);
}
