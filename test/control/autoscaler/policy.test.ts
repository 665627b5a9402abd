import { describe, expect, it } from 'vitest';
import { replicaCapacity, replicaLatency } from '../../../src/control/autoscaler/capacity.js';
import { switchyardPolicy } from '../../../src/control/autoscaler/policy.js';
import { switchyardKnobsSchema, type SwitchyardKnobsInput } from '../../../src/control/autoscaler/spec.js';
import type { Decision, PoolSignals, PoolSpec, ReplicaPhase, ScalingPolicy } from '../../../src/control/autoscaler/types.js';
import { PROFILES } from '../../../src/engine/profiles.js';
import { ManualTime } from '../../../src/time/manual.js';
import { seededRandom } from '../../../src/sim/workload/index.js';

// The Switchyard policy as a specification. A small pool stands in for the driver and the fleet:
// each tick it counts the arrivals of a load curve, reports its replicas, asks the policy, and
// carries the answer out (a new replica starts, and takes requests a start-up later; one fewer
// drains at once). Loads are written in units of one replica's planned capacity, from the engine
// model, so no figure here is a hard-coded answer.

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;
const TICK = 15 * S;
const T0 = 1_700_000_000_000;
const PROMPT = 1000;
const OUTPUT = 200;

const profile = PROFILES['llama-3.1-8b-h100'];
const slo = { ttftMs: 2000, itlMs: 50 };

function poolSpec(o: Partial<PoolSpec> = {}): PoolSpec {
  return { name: 'eu/m', model: 'm', region: 'eu', profile, engine: {}, min: 1, max: 20, scaleToZero: false, startupMs: 90 * S, slo, ...o };
}
const knobs = (o: SwitchyardKnobsInput = {}) => switchyardKnobsSchema.parse(o);

/** requests a second one replica is planned to carry (the policy's own margin included) */
const PER = replicaCapacity(profile, {}, { promptTokens: PROMPT, outputTokens: OUTPUT }, slo).requestsPerS * knobs().targetUtilisation;

/** a seeded uniform draw */
const rng = seededRandom;

interface Rep { id: string; phase: ReplicaPhase; sinceMs: number; silent: boolean }

interface TickInput {
  /** arrivals a second, in units of PER */
  load: number;
  queued?: number;
  ttftP99Ms?: number | null;
  itlP99Ms?: number | null;
  latencySamples?: number;
  /** seconds a request spends in the system (Little's law: in flight = rate × this); 2 unless said */
  inSystemS?: number;
}

class Pool {
  readonly time = new ManualTime(T0);
  readonly reps: Rep[] = [];
  readonly log: { atMs: number; from: number; d: Decision }[] = [];
  #n = 0;
  #draw: (() => number) | null;

  constructor(readonly spec: PoolSpec, readonly policy: ScalingPolicy, o: { ready?: number; starting?: number; noiseSeed?: number } = {}) {
    for (let i = 0; i < (o.ready ?? 0); i++) this.reps.push({ id: `r${this.#n++}`, phase: 'ready', sinceMs: this.time.nowMs() - H, silent: false });
    for (let i = 0; i < (o.starting ?? 0); i++) this.reps.push({ id: `r${this.#n++}`, phase: 'starting', sinceMs: this.time.nowMs(), silent: false });
    this.#draw = o.noiseSeed === undefined ? null : rng(o.noiseSeed);
  }

  get current(): number {
    return this.reps.length;
  }

  get ready(): number {
    return this.reps.filter((r) => r.phase === 'ready').length;
  }

  /** one tick: time passes, starts finish, the policy decides, the decision is carried out */
  tick(t: TickInput): Decision {
    this.time.advance(TICK);
    const now = this.time.nowMs();
    for (const r of this.reps) {
      if (r.phase === 'starting' && now - r.sinceMs >= this.spec.startupMs) Object.assign(r, { phase: 'ready', sinceMs: now });
    }
    let arrivals = (t.load * PER * TICK) / S;
    if (this.#draw) {
      // Poisson noise, by its normal approximation
      const z = Math.sqrt(-2 * Math.log(1 - this.#draw())) * Math.cos(2 * Math.PI * this.#draw());
      arrivals = Math.max(0, arrivals + Math.sqrt(arrivals) * z);
    }
    arrivals = Math.round(arrivals);
    const ready = this.reps.filter((r) => r.phase === 'ready');
    // in flight by Little's law (about 2 s a request unless said), spread over the ready replicas
    const inflight = Math.round((arrivals / (TICK / S)) * (t.inSystemS ?? 2));
    const s: PoolSignals = {
      pool: this.spec.name, nowMs: now, intervalMs: TICK, arrivals, promptTokens: arrivals * PROMPT, outputTokens: arrivals * OUTPUT, calls: arrivals,
      shed: 0, queued: t.queued ?? 0, ttftP99Ms: t.ttftP99Ms ?? null, itlP99Ms: t.itlP99Ms ?? null, latencySamples: t.latencySamples ?? arrivals,
      replicas: this.reps.map((r) => ({
        id: r.id, phase: r.phase, sinceMs: r.sinceMs, reportedAtMs: r.silent ? T0 - H : now, waiting: 0, running: 0, kvUsage: 0,
        inflight: r.phase === 'ready' && ready.length > 0 ? Math.floor(inflight / ready.length) : 0,
      })),
    };
    const from = this.current;
    const d = this.policy.decide(s);
    expect(Number.isInteger(d.desired)).toBe(true);
    expect(d.desired).toBeGreaterThanOrEqual(0);
    expect(d.detail).not.toMatch(/NaN|Infinity|undefined/);
    this.log.push({ atMs: now - T0, from, d });
    this.#apply(d.desired);
    return d;
  }

  /** ticks for ms, with the load a function of the ms since T0 */
  run(ms: number, load: (atMs: number) => number | TickInput): Decision[] {
    const out: Decision[] = [];
    const end = this.time.nowMs() + ms;
    while (this.time.nowMs() + TICK <= end) {
      const l = load(this.time.nowMs() + TICK - T0);
      out.push(this.tick(typeof l === 'number' ? { load: l } : l));
    }
    return out;
  }

  #apply(desired: number): void {
    while (this.current < desired) this.reps.push({ id: `r${this.#n++}`, phase: 'starting', sinceMs: this.time.nowMs(), silent: false });
    while (this.current > desired) {
      // the plan's drain order: starting (newest first), then silent, then any ready
      let i = this.reps.length - 1;
      while (i >= 0 && this.reps[i].phase !== 'starting') i--;
      const j = i >= 0 ? i : this.reps.findIndex((r) => r.silent);
      this.reps.splice(j >= 0 ? j : this.reps.length - 1, 1);
    }
  }
}

/** ticks at which the ready replicas carried less than the load at the SLO (capacity without the margin) */
function shortTicks(p: Pool, load: (atMs: number) => number, ms: number): number {
  const raw = PER / knobs().targetUtilisation;
  let short = 0;
  const end = p.time.nowMs() + ms;
  while (p.time.nowMs() + TICK <= end) {
    const l = load(p.time.nowMs() + TICK - T0);
    p.tick({ load: l });
    if (l * PER > p.ready * raw) short++;
  }
  return short;
}

describe('the Switchyard knobs', () => {
  it('default every knob, so an empty block is a working policy', () => {
    const k = knobs();
    expect(k.scaleDownStabiliseMs).toBeGreaterThan(0);
    expect(k.forecast.enabled).toBe(true);
    expect(k.forecast.seasonPeriodMs).toBe(0);
    expect(k.targetUtilisation).toBeGreaterThan(0);
    expect(k.targetUtilisation).toBeLessThanOrEqual(1);
  });

  it('take durations as ms or as text', () => {
    const k = knobs({ idleMs: '10m', panicWindowMs: 30_000, forecast: { seasonPeriodMs: '24h', seasonBucketMs: '5m' } });
    expect(k.idleMs).toBe(10 * MIN);
    expect(k.panicWindowMs).toBe(30 * S);
    expect(k.forecast.seasonPeriodMs).toBe(24 * H);
  });

  it('refuse unknown, out-of-range and inconsistent values with a message that says what is wanted', () => {
    const bad = (o: unknown) => switchyardKnobsSchema.safeParse(o).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') ?? '';
    expect(bad({ idelMs: 1 })).toMatch(/idelMs/);
    expect(bad({ targetUtilisation: 1.5 })).toMatch(/targetUtilisation/);
    expect(bad({ stableWindowMs: 5 })).toMatch(/stableWindowMs: at least 1000 ms/);
    expect(bad({ idleMs: 'soon' })).toMatch(/a duration such as/);
    expect(bad({ forecast: { seasonPeriodMs: '5m', seasonBucketMs: '5m' } })).toMatch(/at least two buckets/);
  });
});

describe('switchyardPolicy', () => {
  it('is named switchyard', () => {
    expect(switchyardPolicy(poolSpec(), knobs()).name).toBe('switchyard');
  });

  it('grows ahead of a ramp by the forecast, where the reactive terms alone fall behind', () => {
    // from 0.5 to 8 replicas' worth over an hour, after 10 quiet minutes
    const ramp = (ms: number) => (ms < 10 * MIN ? 0.5 : Math.min(8, 0.5 + (7.5 * (ms - 10 * MIN)) / H));
    // with headroom beyond the dead band (0.75 × 1.1 < 1), a pool that keeps up is never short
    const margin = { targetUtilisation: 0.75, deadBand: 0.1 };
    const ahead = new Pool(poolSpec(), switchyardPolicy(poolSpec(), knobs(margin)), { ready: 1 });
    const behind = new Pool(poolSpec(), switchyardPolicy(poolSpec(), knobs({ ...margin, forecast: { enabled: false } })), { ready: 1 });
    const shortAhead = shortTicks(ahead, ramp, 75 * MIN);
    const shortBehind = shortTicks(behind, ramp, 75 * MIN);
    expect(ahead.log.some((e) => e.d.reason === 'forecast')).toBe(true);
    expect(shortAhead).toBeLessThan(shortBehind);
    expect(shortAhead).toBe(0);
  });

  it('meets a burst with a panic at once, and holds its replicas for the hold', () => {
    const p = new Pool(poolSpec(), switchyardPolicy(poolSpec(), knobs()), { ready: 1, noiseSeed: 3 });
    p.run(10 * MIN, () => 0.6);
    expect(p.current).toBe(1);
    const d = p.tick({ load: 6 });
    expect(d.reason).toBe('panic');
    expect(d.desired).toBeGreaterThan(1);
    expect(d.detail).toMatch(/burst/);
    // the burst is over at once: nothing drains while the panic hold lasts
    const peak = p.current;
    const after = p.run(knobs().panicHoldMs, () => 0.6);
    for (const a of after) expect(a.desired).toBeGreaterThanOrEqual(peak);
  });

  for (const load of [1.05, 1.3, 1.8]) {
    it(`never oscillates 2 ↔ 1 over an hour of noisy constant load that one replica cannot carry (${load}× one replica)`, () => {
      const p = new Pool(poolSpec(), switchyardPolicy(poolSpec(), knobs()), { ready: 2, noiseSeed: 17 });
      const ds = p.run(H, () => load);
      for (const d of ds) expect(d.desired).toBe(2);
    });
  }

  it('does not go to N−1 while the panic window says N−1 would not carry (the consolidation check)', () => {
    // three replicas, a load two carry, and a rise in the last half-minute that is not yet a burst
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs({ forecast: { enabled: false } })), { ready: 3 });
    const ds = p.run(5 * MIN + TICK, (ms) => (ms <= 4 * MIN + 30 * S ? 1.6 : 2.4));
    const last = ds[ds.length - 1];
    expect(last.desired).toBe(3);
    expect(last.reason).toBe('hold');
    expect(last.detail).toMatch(/2 would not carry/);
    // without the rise, two would carry it, and one goes
    const q = new Pool(spec, switchyardPolicy(spec, knobs({ forecast: { enabled: false } })), { ready: 3 });
    q.run(5 * MIN + TICK, () => 1.6);
    const down = q.log.find((e) => e.d.desired < e.from);
    expect(down?.d).toMatchObject({ desired: 2, reason: 'consolidate' });
    expect(down!.atMs).toBe(p.log.find((e) => e.d.detail.includes('would not carry'))!.atMs);
  });

  it('goes to the minimum after the idle window at zero traffic, not before', () => {
    const spec = poolSpec({ min: 2 });
    // an idle window shorter than the scale-down stabilisation, so consolidation cannot get there first
    const k = knobs({ idleMs: 4 * MIN });
    const p = new Pool(spec, switchyardPolicy(spec, k), { ready: 4 });
    const idleMs = k.idleMs;
    p.run(idleMs - TICK, () => 0);
    expect(p.current).toBe(4);
    const d = p.tick({ load: 0 });
    expect(d).toMatchObject({ desired: 2, reason: 'idle' });
    // and stays there, still deciding
    for (const e of p.run(10 * MIN, () => 0)) expect(e.desired).toBe(2);
  });

  it('goes to zero at zero traffic when the pool may, and comes back on one arrival', () => {
    const spec = poolSpec({ min: 0, scaleToZero: true });
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    p.run(knobs().idleMs, () => 0);
    expect(p.log[p.log.length - 1].d).toMatchObject({ desired: 0, reason: 'idle' });
    for (const e of p.run(H, () => 0)) expect(e.desired).toBe(0);
    // one request: a replica at once
    const d = p.tick({ load: 1 / ((PER * TICK) / S) });
    expect(d.desired).toBeGreaterThanOrEqual(1);
    // a queued request alone does it too
    const q = new Pool(spec, switchyardPolicy(spec, knobs()));
    q.run(10 * MIN, () => 0);
    expect(q.current).toBe(0);
    expect(q.tick({ load: 0, queued: 1 }).desired).toBe(1);
  });

  it('never goes to zero while a replica is still starting', () => {
    const spec = poolSpec({ min: 0, scaleToZero: true, startupMs: 20 * MIN });
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { starting: 1 });
    const ds = p.run(knobs().idleMs + 2 * MIN, () => 0);
    expect(ds[ds.length - 1].reason).toBe('idle');
    for (const d of ds) expect(d.desired).toBe(1);
    expect(ds[ds.length - 1].detail).toMatch(/still starting/);
  });

  it('is not frozen by a replica that stopped reporting: it scales up around it, and down', () => {
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    p.reps[0].silent = true;
    const ds = p.run(5 * MIN, () => 2.6);
    // 2.6 replicas' worth on 2 that report: a third live one is asked for beside the silent one
    expect(p.current).toBe(4);
    expect(ds.some((d) => d.reason !== 'hold' && d.desired > 3)).toBe(true);
    expect(ds[0].detail).toMatch(/1 silent/);
    // load gone: it still goes down to the minimum, silent replica or not
    p.run(knobs().idleMs + MIN, () => 0);
    expect(p.current).toBe(1);
  });

  it('holds a change within the dead band and acts on one beyond it', () => {
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 10 });
    const band = knobs().deadBand;
    // half the band over the 10 replicas' worth: held
    const inside = 10 * (1 + band / 2);
    for (const d of p.run(10 * MIN, () => inside)) expect(d).toMatchObject({ desired: 10, reason: 'hold' });
    expect(p.log[p.log.length - 1].d.detail).toMatch(/dead band/);
    // well beyond it: up, to within the band of the need
    const beyond = 10 * (1 + band) + 1.5;
    const ds = p.run(2 * MIN, () => beyond);
    expect(ds[0].desired).toBeGreaterThan(10);
    expect(['forecast', 'load']).toContain(ds[0].reason);
    expect(p.current).toBeGreaterThanOrEqual(Math.ceil(beyond / (1 + band)));
  });

  it('scales down only after the stabilisation window, one replica at a time', () => {
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 4 });
    p.run(10 * MIN, () => 3.5);
    expect(p.current).toBe(4);
    const dropAt = p.time.nowMs();
    p.run(20 * MIN, () => 0.7);
    const after = p.log.filter((e) => e.atMs > dropAt - T0);
    const firstDown = after.find((e) => e.d.desired < e.from);
    expect(firstDown).toBeDefined();
    expect(firstDown!.atMs + T0 - dropAt).toBeGreaterThanOrEqual(knobs().scaleDownStabiliseMs);
    expect(firstDown!.d.reason).toBe('consolidate');
    for (const e of after) expect(e.from - e.d.desired).toBeLessThanOrEqual(1);
    expect(after.some((e) => e.d.reason === 'stabilising')).toBe(true);
    expect(p.current).toBe(1);
  });

  it('counts starting replicas toward the pool: no second start for the same need', () => {
    const spec = poolSpec({ startupMs: 10 * MIN });
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 2, starting: 2 });
    for (const d of p.run(5 * MIN, () => 3.5)) expect(d.desired).toBe(4);
  });

  it('adds a replica when warm replicas are over the SLO, and will not scale down while they are', () => {
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    p.run(6 * MIN, () => 2.5);
    expect(p.current).toBe(3);
    const d = p.tick({ load: 2.5, ttftP99Ms: slo.ttftMs * 1.5, itlP99Ms: 20, latencySamples: 500 });
    expect(d).toMatchObject({ desired: 4, reason: 'slo' });
    // a p99 of a handful of calls is not evidence
    const q = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    q.run(6 * MIN, () => 2.5);
    expect(q.tick({ load: 2.5, itlP99Ms: slo.itlMs * 2, latencySamples: knobs().minLatencySamples - 1 }).desired).toBe(3);
    // little load, but latency over the SLO: no scale-down
    const r = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    const ds = r.run(15 * MIN, () => ({ load: 0.5, itlP99Ms: slo.itlMs * 1.2, latencySamples: 100 }));
    for (const e of ds) expect(e.desired).toBeGreaterThanOrEqual(3);
  });

  it('asks for one replica for a breach of the SLO, not one a tick, while the one it asked for starts', () => {
    const spec = poolSpec();
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 3 });
    p.run(6 * MIN, () => 2.5);
    expect(p.current).toBe(3);
    // the breach persists for a whole start-up: the latency is of the pool before the new replica
    const over = () => ({ load: 2.5, itlP99Ms: slo.itlMs * 1.5, latencySamples: 500 });
    const ds = p.run(spec.startupMs - TICK, over);
    expect(ds[0]).toMatchObject({ desired: 4, reason: 'slo' });
    for (const d of ds.slice(1)) expect(d.desired).toBe(4);
    expect(ds.slice(1).some((d) => d.detail.includes('starting'))).toBe(true);
    // once it is ready, a breach still there may ask for one more
    const next = p.run(2 * TICK, over);
    expect(p.ready).toBe(4);
    expect(Math.max(...next.map((d) => d.desired))).toBe(5);
  });

  it('waits the cool-off after each step down, and while a drained replica is still going', () => {
    const spec = poolSpec();
    const coolMs = 3 * MIN;
    const p = new Pool(spec, switchyardPolicy(spec, knobs({ scaleDownCooloffMs: coolMs })), { ready: 6 });
    p.run(6 * MIN, () => 5);
    p.run(30 * MIN, () => 0.5);
    const downs = p.log.filter((e) => e.d.desired < e.from);
    expect(downs.length).toBeGreaterThanOrEqual(3);
    for (let i = 1; i < downs.length; i++) expect(downs[i].atMs - downs[i - 1].atMs).toBeGreaterThanOrEqual(coolMs);
    expect(p.log.some((e) => /cool-off/.test(e.d.detail))).toBe(true);
    // a replica still draining (its calls finishing) holds the next step: the pool it leaves is not yet measured
    const eager = knobs({ scaleDownCooloffMs: 0, scaleDownStabiliseMs: 0 });
    const twin = new Pool(spec, switchyardPolicy(spec, eager), { ready: 4 });
    expect(twin.tick({ load: 0.5 }).reason).toBe('consolidate');
    const q = new Pool(spec, switchyardPolicy(spec, eager), { ready: 4 });
    q.reps.push({ id: 'leaving', phase: 'draining', sinceMs: q.time.nowMs(), silent: false });
    const d = q.tick({ load: 0.5 });
    expect(d).toMatchObject({ desired: 4, reason: 'stabilising' });
    expect(d.detail).toMatch(/draining/);
  });

  it('corrects the engine model by measured latency, within correctionMax, and not at all with 1', () => {
    const spec = poolSpec();
    // latency within the SLO (no 'slo' step), but well above what the model expects at this load
    // (near saturation the modelled latency is steep, so a correction moves capacity by less than
    // itself: no dead band here, to see it)
    const measured = () => ({ load: 2.9, itlP99Ms: slo.itlMs * 0.95, ttftP99Ms: 100, latencySamples: 500 });
    const corrected = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1.5, deadBand: 0 })), { ready: 3 });
    const plain = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1, deadBand: 0 })), { ready: 3 });
    const ds = corrected.run(20 * MIN, measured);
    plain.run(20 * MIN, measured);
    expect(plain.current).toBe(3);
    expect(corrected.current).toBeGreaterThan(3);
    expect(ds.some((d) => d.reason === 'slo')).toBe(false);
    const factors = ds.map((d) => /corrected ×([\d.]+)/.exec(d.detail)).filter((m) => m !== null).map((m) => Number(m![1]));
    expect(factors.length).toBeGreaterThan(0);
    for (const f of factors) expect(f).toBeLessThanOrEqual(1.5);
    expect(plain.log.some((e) => /corrected/.test(e.d.detail))).toBe(false);
  });

  it('does not take a ramp for model error: the correction reads the model at the load the latency was measured at', () => {
    const spec = poolSpec();
    const shape = { promptTokens: PROMPT, outputTokens: OUTPUT };
    // latency exactly as the model has it at the load of the moment: the model is right, so a ramp
    // (the stable window lagging it) must not correct it, else capacity falls just as demand peaks
    const exact = (load: number) => {
      const m = replicaLatency(profile, {}, shape, (load * PER) / 3);
      return { load, itlP99Ms: m.itlMs, ttftP99Ms: m.ttftMs, latencySamples: 500 };
    };
    const p = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1.5, deadBand: 0 })), { ready: 3 });
    p.run(20 * MIN, () => exact(1.2));
    const ds = p.run(4 * MIN, () => exact(2.4));
    const factors = ds.map((d) => Number(/corrected ×([\d.]+)/.exec(d.detail)?.[1] ?? 1));
    expect(factors.length).toBeGreaterThan(0);
    for (const f of factors) expect(f).toBeLessThan(1.05);
  });

  describe('the concurrency term', () => {
    const shape = { promptTokens: PROMPT, outputTokens: OUTPUT };
    const cap = replicaCapacity(profile, {}, shape, slo);
    /** the model's time in system at its capacity: what a mean request takes */
    const modelS = cap.inflight / cap.requestsPerS;
    const within = { ttftP99Ms: slo.ttftMs * 0.5, itlP99Ms: slo.itlMs * 0.5, latencySamples: 500 };

    it('holds what a replica is measured to hold: requests that take 4× the modelled time within the SLO ask for no more replicas', () => {
      // a long-tailed mix: the rate is what 3 replicas carry, each request stays 4× what the model's
      // mean request would, and latency is within the SLO. By the model's in-flight count the work
      // would need 4 × 3 replicas; by the measured time in system it needs the 3 the rate does.
      const spec = poolSpec();
      const p = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1 })), { ready: 4 });
      const ds = p.run(20 * MIN, () => ({ load: 3, inSystemS: 4 * modelS, ...within }));
      for (const d of ds) expect(d.desired).toBeLessThanOrEqual(4);
      expect(ds.at(-1)!.detail).toMatch(/s in the system, as measured/);
      const asked = ds.map((d) => Number(/need ([\d.]+) replicas/.exec(d.detail)![1]));
      expect(Math.max(...asked.slice(2))).toBeLessThan(4);
    });

    it('never holds fewer in flight than the model: requests quicker than modelled leave the term as it was', () => {
      const spec = poolSpec();
      const p = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1 })), { ready: 4 });
      const ds = p.run(5 * MIN, () => ({ load: 3, inSystemS: modelS / 4, ...within }));
      const held = ds.map((d) => Number(/\(([\d.]+) in flight/.exec(d.detail)![1]));
      // the detail rounds to 3 figures
      for (const h of held) expect(Math.abs(h / cap.inflight - 1)).toBeLessThan(0.01);
      expect(ds.some((d) => /as measured/.test(d.detail))).toBe(false);
    });

    it('sees work pile up when requests queue: a queue is overload, not the mix, and is not learned as the usual time', () => {
      const spec = poolSpec();
      const policy = switchyardPolicy(spec, knobs({ correctionMax: 1 }));
      const p = new Pool(spec, policy, { ready: 4 });
      p.run(10 * MIN, () => ({ load: 3, inSystemS: modelS, ...within }));
      expect(p.current).toBeLessThanOrEqual(4);
      // the same arrivals, but requests now wait: 10× as many in flight and a queue at the gateway
      const d = p.tick({ load: 3, inSystemS: 10 * modelS, queued: 20, ...within });
      expect(d.reason).toBe('load');
      expect(d.desired).toBeGreaterThanOrEqual(4 + 4);
    });

    it('sees work pile up when latency is over the SLO, with nothing queued', () => {
      const spec = poolSpec();
      const p = new Pool(spec, switchyardPolicy(spec, knobs({ correctionMax: 1 })), { ready: 4 });
      p.run(10 * MIN, () => ({ load: 3, inSystemS: modelS, ...within }));
      const over = { ttftP99Ms: slo.ttftMs * 3, itlP99Ms: slo.itlMs * 0.5, latencySamples: 500 };
      const ds = p.run(2 * MIN, () => ({ load: 3, inSystemS: 10 * modelS, ...over }));
      // more than the one replica the SLO term alone asks for
      expect(Math.max(...ds.map((d) => d.desired))).toBeGreaterThanOrEqual(4 + 4);
      expect(ds.some((d) => d.reason === 'load')).toBe(true);
    });
  });

  it('stays within the pool maximum and minimum, and says so', () => {
    const spec = poolSpec({ min: 3, max: 5 });
    const p = new Pool(spec, switchyardPolicy(spec, knobs()), { ready: 1 });
    expect(p.tick({ load: 0.2 })).toMatchObject({ desired: 3, reason: 'min' });
    const ds = p.run(10 * MIN, () => 12);
    for (const d of ds) expect(d.desired).toBeLessThanOrEqual(5);
    expect(ds.some((d) => d.reason === 'max')).toBe(true);
    for (const d of p.run(30 * MIN, () => 0)) expect(d.desired).toBeGreaterThanOrEqual(3);
  });

  it('asks for at most maxStepUp replicas in one decision', () => {
    const spec = poolSpec({ max: 100 });
    const p = new Pool(spec, switchyardPolicy(spec, knobs({ maxStepUp: 3 })), { ready: 1 });
    p.run(5 * MIN, () => 0.5);
    const d = p.tick({ load: 40 });
    expect(d.desired).toBe(4);
    expect(d.detail).toMatch(/at most 3 per decision/);
  });

  it('decides on a first tick with nothing in it', () => {
    const spec = poolSpec();
    const policy = switchyardPolicy(spec, knobs());
    const d = policy.decide({
      pool: spec.name, nowMs: T0, intervalMs: 0, arrivals: 0, promptTokens: 0, outputTokens: 0, calls: 0, shed: 0, queued: 0,
      ttftP99Ms: null, itlP99Ms: null, latencySamples: 0, replicas: [],
    });
    expect(d).toMatchObject({ desired: 1, reason: 'min' });
    expect(d.detail).not.toMatch(/NaN/);
  });
});
