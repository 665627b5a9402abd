import type { CostsLiveView, LiveCosts, LivePoolCost, LiveTenantCost } from '../api/admin/costs.js';
import type { Config } from '../config/index.js';
import { perMillion, profileWeights, splitCost, type PhaseWeights } from '../control/economics/index.js';
import { poolName } from '../control/index.js';
import type { Replica } from '../fleet/index.js';
import { CostStoreError, type CostStore, type LedgerWriter, type ReplicaTimeRecord, type UsageRecord } from '../ledger/index.js';
import type { Logger } from '../observe/index.js';
import type { CostScrape } from '../observe/index.js';
import type { Clock, TimerHandle, Timers } from '../time/index.js';
import { hardwareOf, type ReplicaHardware } from './costs/hardware.js';
import { SLOT_MS, SLOTS, TrailingHour, type TokenSum } from './costs/window.js';

export { hardwareOf } from './costs/hardware.js';
export type { PriceSource, ReplicaHardware } from './costs/hardware.js';

// Unit economics, live: what each fleet replica costs while it is in the fleet. Every `sampleMs` the
// meter walks the fleet: a replica present is up for the interval since the last walk, and busy for
// it when it has a call in flight now. Sampling, not the in-flight accounting's transitions: those
// happen on every dispatch and release, and a hook there would put work on the hot path; a state
// sampled at regular instants estimates its share of time without bias, and a busy spell longer
// than a sample is never missed. (So up time is exact to a sample, busy time to a sample per spell.)
// Draining replicas count: they are still paid for, those a drain took out of the fleet too, until
// their last call ends. Time is split at UTC midnight into days. Not counted: an autoscaled replica
// that is starting (its engine loading) is not in the fleet yet, so its boot time is not metered.
//
// The leading gateway (the rollouts lease, which the autoscaler follows too) writes the seconds to
// the store every `flushIntervalMs`, as increments since its last successful write; a failed write
// keeps them for the next (one row per day and replica, so an outage of hours holds replicas × days
// rows, not one per flush). Seconds belong to whoever leads when they are collected, decided at each
// walk: a follower keeps none. A gateway that stops leading keeps collecting until a write of its
// seconds succeeds (the store being down takes the lead away, and then nobody else can lead), so
// an outage loses nothing. At a handover the old leader's last interval and the new one's first
// overlap by at most one flush interval; a leader that dies loses its unwritten interval, and the
// time until another takes the lead (`rollouts.leaseTtlMs`). A batch the store refuses as invalid
// is dropped and logged, not retried forever. A follower writes nothing, but serves its metrics
// from its own view; each gateway sees only its own calls and tokens, so its busy time and cost per
// token are its share's: the store's per-day figures are the fleet's.

export interface CostMeterOptions {
  readonly config: Pick<Config, 'costs' | 'replicas' | 'demo' | 'models'>;
  readonly fleet: { readonly all: readonly Replica[] };
  /**
   * replicas asked for and still starting (an autoscaled engine loading its weights): paid for,
   * not yet in the fleet. The same object for a replica on every call, until it is ready.
   */
  booting?: () => readonly MeteredReplica[];
  readonly store: Pick<CostStore, 'addReplicaTime'>;
  /** this gateway leads (the rollouts lease) */
  leading(): boolean;
  readonly log: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
}

const DAY_MS = 86_400_000;
const NONE: readonly MeteredReplica[] = [];

/** A pool's figures: its lifetime totals (the counters) and its trailing hour (the gauges). */
class PoolMeter {
  readonly name: string;
  upMs = 0;
  busyMs = 0;
  usd = 0;
  readonly window = new TrailingHour();
  /** the phase split of its tokens: its first replica's hardware */
  weights: PhaseWeights;

  constructor(readonly model: string, readonly region: string, weights: PhaseWeights) {
    this.name = poolName(region, model);
    this.weights = weights;
  }
}

/** Seconds of one replica on one day not yet written, with what the record says of it. */
interface Pending {
  readonly day: string;
  readonly replica: string;
  readonly pool: PoolMeter;
  readonly hw: ReplicaHardware;
  upMs: number;
  busyMs: number;
}

/** What the meter reads of a replica: a fleet replica, or one still starting (inflight 0). */
export type MeteredReplica = Pick<Replica, 'id' | 'model' | 'region' | 'url' | 'version' | 'inflight'>;

interface Tracked {
  readonly replica: MeteredReplica;
  readonly pool: PoolMeter;
  readonly hw: ReplicaHardware;
  /** USD per ms of its time */
  readonly usdPerMs: number;
  seen: number;
  /** the pending row its time goes to, cached for its day and the pending map's generation */
  rowDay: number;
  rowGen: number;
  row: Pending | null;
}

export class CostMeter implements CostsLiveView {
  readonly #o: CostMeterOptions;
  readonly #hardware: ReturnType<typeof hardwareOf>;
  readonly #weights = profileWeights();
  /** model → region → pool: found without building a string (the token tap runs per request) */
  readonly #pools = new Map<string, Map<string, PoolMeter>>();
  readonly #tracked = new Map<MeteredReplica, Tracked>();
  /** collected and not yet written, by `day\0replica` */
  #pending = new Map<string, Pending>();
  #gen = 0;
  /** a failed write's seconds, to write first */
  #owed: Pending[] = [];
  #walk = 0;
  #lastMono: number | null = null;
  /** the seconds collected now are this gateway's to write */
  #collecting = false;
  #failing = 0;
  #flushing: Promise<void> | null = null;
  #sampleTimer: TimerHandle | null = null;
  #flushTimer: TimerHandle | null = null;
  #closed = false;

  constructor(o: CostMeterOptions) {
    this.#o = o;
    this.#hardware = hardwareOf(o.config);
  }

  /** Starts sampling and flushing (the first walk only notes who is in the fleet). */
  start(): void {
    if (this.#sampleTimer !== null || this.#closed) return;
    this.sample();
    const c = this.#o.config.costs;
    this.#sampleTimer = this.#o.timers.every(c.sampleMs, CostMeter.#onSample, this);
    this.#flushTimer = this.#o.timers.every(c.flushIntervalMs, CostMeter.#onFlush, this);
  }

  /** Stops the timers and writes what is left (once; a failure is logged and the seconds lost). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.timers.cancel(this.#sampleTimer);
    this.#o.timers.cancel(this.#flushTimer);
    await this.#flushing;
    if (!(await this.#flushOnce()) && this.#owed.length > 0) {
      this.#o.log.error({ rows: this.#owed.length }, 'replica time not written at shutdown (the store did not take it): its seconds are lost');
    }
  }

  static #onSample(m: CostMeter): void {
    m.sample();
  }

  static #onFlush(m: CostMeter): void {
    void m.flush();
  }

  // ── collecting ─────────────────────────────────────────────────────────────

  /** One walk of the fleet: the time since the last walk is up (and busy, with a call in flight now) for each replica in it. */
  sample(): void {
    // the span's length from the monotonic clock (a stepped wall clock must not add or lose time), its days from the wall's
    const mono = this.#o.clock.monoMs();
    const now = this.#o.clock.nowMs();
    const ms = this.#lastMono === null ? 0 : mono - this.#lastMono;
    this.#lastMono = mono;
    const walk = ++this.#walk;
    // this walk's seconds are ours to write while we lead (and until what we hold is written)
    if (this.#o.leading()) this.#collecting = true;
    const mine = this.#collecting;
    const booting = this.#o.booting?.() ?? NONE;
    for (const list of [this.#o.fleet.all, booting]) {
      for (const r of list) {
        let t = this.#tracked.get(r);
        if (t === undefined) this.#tracked.set(r, (t = this.#track(r)));
        t.seen = walk;
        if (ms > 0) this.#accrue(t, now - ms, now, r.inflight > 0, mine);
      }
    }
    // those not seen left the fleet. One with calls in flight is draining (a removal or a scale-down
    // takes it out of the fleet at once and lets its calls finish): still paid for, and busy, until
    // they end. The others' time stopped at the walk before (what is pending stays).
    if (this.#tracked.size > this.#o.fleet.all.length + booting.length) {
      for (const [r, t] of this.#tracked) {
        if (t.seen === walk) continue;
        if (r.inflight > 0) {
          if (ms > 0) this.#accrue(t, now - ms, now, true, mine);
        } else this.#tracked.delete(r);
      }
    }
  }

  #track(r: MeteredReplica): Tracked {
    const hw = this.#hardware({ model: r.model, region: r.region, url: r.url, version: r.version });
    const pool = this.#pool(r.model, r.region, hw.profile);
    return { replica: r, pool, hw, usdPerMs: (hw.gpus * hw.usdPerGpuHour) / 3_600_000, seen: 0, rowDay: -1, rowGen: -1, row: null };
  }

  #pool(model: string, region: string, profile: string | null): PoolMeter {
    let regions = this.#pools.get(model);
    if (regions === undefined) this.#pools.set(model, (regions = new Map()));
    let p = regions.get(region);
    if (p === undefined) regions.set(region, (p = new PoolMeter(model, region, this.#weights(profile))));
    else if (profile !== null && p.weights === this.#weights(null)) p.weights = this.#weights(profile);
    return p;
  }

  #accrue(t: Tracked, from: number, to: number, busy: boolean, mine: boolean): void {
    const ms = to - from;
    const usd = ms * t.usdPerMs;
    const p = t.pool;
    p.upMs += ms;
    p.usd += usd;
    if (busy) p.busyMs += ms;
    p.window.addTime(to, ms, busy ? ms : 0, usd);
    if (!mine) return;
    // a span over midnight is split between the days
    for (let a = from; a < to;) {
      const day = Math.floor(a / DAY_MS);
      const b = Math.min(to, (day + 1) * DAY_MS);
      const row = this.#row(t, day);
      row.upMs += b - a;
      if (busy) row.busyMs += b - a;
      a = b;
    }
  }

  #row(t: Tracked, day: number): Pending {
    if (t.row !== null && t.rowDay === day && t.rowGen === this.#gen) return t.row;
    const dayStr = new Date(day * DAY_MS).toISOString().slice(0, 10);
    const key = dayStr + '\0' + t.replica.id;
    let row = this.#pending.get(key);
    if (row === undefined) this.#pending.set(key, (row = { day: dayStr, replica: t.replica.id, pool: t.pool, hw: t.hw, upMs: 0, busyMs: 0 }));
    t.row = row;
    t.rowDay = day;
    t.rowGen = this.#gen;
    return row;
  }

  /** A request settled (the ledger's record): its tokens count for its replica's pool. O(1), nothing awaited. */
  settled(r: UsageRecord): void {
    if (r.replica === null || r.region === null) return;
    if (r.inputTokens === 0 && r.outputTokens === 0) return;
    const p = this.#pools.get(r.model)?.get(r.region) ?? this.#pool(r.model, r.region, null);
    p.window.addTokens(this.#o.clock.nowMs(), r.tenantId, r.inputTokens, r.cachedInputTokens, r.outputTokens);
  }

  /** The ledger writer with every record also tapped here. */
  tap(ledger: LedgerWriter): LedgerWriter {
    return {
      // the ledger first: a fault in the meter must never cost a usage record
      record: (r) => {
        ledger.record(r);
        this.settled(r);
      },
      flush: () => ledger.flush(),
      close: () => ledger.close(),
      stats: () => ledger.stats(),
    };
  }

  // ── writing ────────────────────────────────────────────────────────────────

  /** Writes what this gateway collected, if it leads (or has seconds of its own to catch up). */
  flush(): Promise<void> {
    if (this.#flushing !== null) return this.#flushing;
    const f = this.#flushOnce().then(() => {}).finally(() => { this.#flushing = null; });
    this.#flushing = f;
    return f;
  }

  /** false when a write failed (its rows are kept in #owed) */
  async #flushOnce(): Promise<boolean> {
    // the last walk's seconds go into this batch (a follower's walks collect none)
    this.sample();
    const leading = this.#o.leading();
    const fresh = [...this.#pending.values()];
    this.#pending = new Map();
    this.#gen++;
    this.#owed = merge(this.#owed, fresh);
    if (this.#owed.length === 0) {
      if (!leading) this.#collecting = false;
      return true;
    }
    const batch = this.#owed;
    const { log } = this.#o;
    try {
      await this.#o.store.addReplicaTime(batch.map(recordOf));
    } catch (err) {
      if (isRefused(err)) {
        // retrying a record the store will never take would hold every later second hostage
        log.error({ err, rows: batch.length }, 'the store refused replica time as invalid; dropping this batch (its seconds are lost)');
        this.#owed = [];
        return false;
      }
      // kept (as #owed) for the next flush, which adds the seconds collected meanwhile
      if (this.#failing++ === 0) log.error({ err, rows: batch.length }, 'writing replica time to the store failed; keeping it and trying again every flush');
      return false;
    }
    this.#owed = [];
    if (this.#failing > 0) log.warn({ failedFlushes: this.#failing, rows: batch.length }, 'replica time is written to the store again');
    this.#failing = 0;
    // the store answers and this gateway does not lead: the next seconds are the leader's
    if (!leading) this.#collecting = false;
    return true;
  }

  // ── showing ────────────────────────────────────────────────────────────────

  /**
   * Per pool, the lifetime counters and the trailing hour's gauges; per tenant, its trailing hour
   * (`tenants: false` leaves those out: an open /metrics must not list every tenant's id and spend).
   */
  scrape(o: { tenants?: boolean } = {}): CostScrape {
    const live = this.live();
    return {
      pools: live.pools.map((p) => {
        const t = this.#pools.get(p.model)!.get(p.region)!;
        return {
          model: p.model, pool: p.pool, region: p.region, usd: t.usd, upS: t.upMs / 1000, busyS: t.busyMs / 1000,
          utilisation: p.utilisation, inputUsdPerM: p.inputUsdPerM, outputUsdPerM: p.outputUsdPerM,
        };
      }),
      tenants: o.tenants === false ? [] : live.tenants.map((t) => ({ tenant: t.tenant, inputUsdPerM: t.inputUsdPerM, outputUsdPerM: t.outputUsdPerM })),
    };
  }

  /** The trailing hour per pool (and per tenant, sharing each pool's cost by phase-weighted tokens). */
  live(): LiveCosts {
    const now = this.#o.clock.nowMs();
    const current = new Map<PoolMeter, Tracked[]>();
    for (const t of this.#tracked.values()) {
      const list = current.get(t.pool);
      if (list === undefined) current.set(t.pool, [t]);
      else list.push(t);
    }
    const pools: LivePoolCost[] = [];
    const tenants = new Map<string, { usd: number; inputUsd: number; outputUsd: number; tokens: TokenSum }>();
    for (const regions of this.#pools.values()) {
      for (const p of regions.values()) {
        const w = p.window.sums(now);
        const total: TokenSum = { input: 0, cached: 0, output: 0 };
        let weighted = 0;
        for (const t of w.tokens.values()) {
          add(total, t);
          weighted += weightOf(t, p.weights);
        }
        const split = splitCost(w.usd, { inputTokens: total.input, cachedInputTokens: total.cached, outputTokens: total.output }, p.weights);
        const here = current.get(p) ?? [];
        pools.push({
          pool: p.name, model: p.model, region: p.region,
          replicas: here.length,
          gpus: here.reduce((n, t) => n + t.hw.gpus, 0),
          usdPerHour: here.reduce((n, t) => n + t.hw.gpus * t.hw.usdPerGpuHour, 0),
          usd: w.usd, upS: w.upMs / 1000, busyS: w.busyMs / 1000,
          utilisation: w.upMs > 0 ? w.busyMs / w.upMs : null,
          inputTokens: total.input, cachedInputTokens: total.cached, outputTokens: total.output,
          inputUsdPerM: total.input + total.output > 0 ? perMillion(split.inputUsd, total.input) : null,
          outputUsdPerM: total.input + total.output > 0 ? perMillion(split.outputUsd, total.output) : null,
          hardware: hardwareRows(here),
        });
        // tenants share the pool's cost by the replica time their tokens took
        if (!(weighted > 0)) continue;
        for (const [tenant, t] of w.tokens) {
          const usd = (w.usd * weightOf(t, p.weights)) / weighted;
          const s = splitCost(usd, { inputTokens: t.input, cachedInputTokens: t.cached, outputTokens: t.output }, p.weights);
          let o = tenants.get(tenant);
          if (o === undefined) tenants.set(tenant, (o = { usd: 0, inputUsd: 0, outputUsd: 0, tokens: { input: 0, cached: 0, output: 0 } }));
          o.usd += usd;
          o.inputUsd += s.inputUsd;
          o.outputUsd += s.outputUsd;
          add(o.tokens, t);
        }
      }
    }
    pools.sort((a, b) => (a.pool < b.pool ? -1 : a.pool > b.pool ? 1 : 0));
    const tenantRows: LiveTenantCost[] = [...tenants].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([tenant, o]) => ({
      tenant, usd: o.usd, inputTokens: o.tokens.input, cachedInputTokens: o.tokens.cached, outputTokens: o.tokens.output,
      inputUsdPerM: perMillion(o.inputUsd, o.tokens.input), outputUsdPerM: perMillion(o.outputUsd, o.tokens.output),
    }));
    return { leading: this.#o.leading(), windowS: (SLOTS * SLOT_MS) / 1000, pools, tenants: tenantRows };
  }
}

function add(a: TokenSum, b: TokenSum): void {
  a.input += b.input;
  a.cached += b.cached;
  a.output += b.output;
}

/** replica seconds the tokens took, by the engine model's phase weights */
function weightOf(t: TokenSum, w: PhaseWeights): number {
  return Math.max(0, t.input - t.cached) * w.inputS + t.output * w.outputS;
}

function hardwareRows(here: readonly Tracked[]): LivePoolCost['hardware'] {
  const rows = new Map<string, { profile: string | null; gpu: string | null; gpus: number; usdPerGpuHour: number; priceFrom: string; replicas: number }>();
  for (const t of here) {
    const h = t.hw;
    const key = `${h.profile}\0${h.usdPerGpuHour}\0${h.priceFrom}`;
    const row = rows.get(key);
    if (row !== undefined) row.replicas++;
    else rows.set(key, { profile: h.profile, gpu: h.gpu, gpus: h.gpus, usdPerGpuHour: h.usdPerGpuHour, priceFrom: h.priceFrom, replicas: 1 });
  }
  return [...rows.values()];
}

/** Rows of the same day and replica added together (a failed batch and what came after it). */
function merge(a: Pending[], b: Pending[]): Pending[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const byKey = new Map<string, Pending>();
  for (const r of a) byKey.set(r.day + '\0' + r.replica, { ...r });
  for (const r of b) {
    const k = r.day + '\0' + r.replica;
    const o = byKey.get(k);
    if (o === undefined) byKey.set(k, { ...r });
    else byKey.set(k, { ...r, upMs: o.upMs + r.upMs, busyMs: o.busyMs + r.busyMs });
  }
  return [...byKey.values()];
}

/** The store's typed refusal of a record (CostStoreError), as against an outage. */
function isRefused(err: unknown): boolean {
  return err instanceof CostStoreError || (err instanceof Error && err.name === 'CostStoreError');
}

function recordOf(p: Pending): ReplicaTimeRecord {
  return {
    day: p.day, replica: p.replica, pool: p.pool.name, region: p.pool.region, model: p.pool.model,
    profile: p.hw.profile, gpu: p.hw.gpu, gpus: p.hw.gpus, usdPerGpuHour: p.hw.usdPerGpuHour,
    upS: p.upMs / 1000, busyS: p.busyMs / 1000,
  };
}
