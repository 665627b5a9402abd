import type { Registry } from 'prom-client';
import type { SloConfig } from '../../config/index.js';
import type { RollupStore, UsagePeriod, UsageRecord } from '../../ledger/index.js';
import { deadline, type Clock, type TimerHandle, type Timers } from '../../time/index.js';
import type { Logger } from '../log.js';
import type { RequestObserver } from '../types.js';
import { ALERT_RULES, BURN_WINDOWS, judge, judgePeriod, Objective, type BurnWindow, type Severity } from './objective.js';
import { NO_SERIES, sloSeries, type SloSeries } from './series.js';

/** Where the SLOs' past comes from after a restart: the ledger's minute roll-up. */
export type SloHistory = Pick<RollupStore, 'usageMinutes'>;

export interface SloTrackerOptions {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly log: Logger;
  /** the `switchyard_slo_*` series go here; absent: none */
  readonly registry?: Registry;
  /** the ledger's minute roll-up, read once at start so a restart keeps the budgets; absent: they start empty */
  readonly history?: SloHistory;
  /** how often the alerts are judged (default 10 s); every read (the admin API, a scrape) judges them too */
  readonly evaluateEveryMs?: number;
  /**
   * how long alerts wait for the history (default 60 s): a ledger that never answers must not
   * silence the pages; rows arriving later are still counted (they are all before the start)
   */
  readonly historyWaitMs?: number;
}

export interface SloAlert {
  readonly severity: Severity;
  readonly rule: string;
  /** both windows' burn must exceed it */
  readonly factor: number;
  readonly firing: boolean;
  /** epoch ms it started firing, or null */
  readonly since: number | null;
}

/** One SLO as its last evaluation left it. */
export interface SloStatus {
  readonly name: string;
  readonly kind: SloConfig['kind'];
  readonly model: string;
  readonly tier: string;
  readonly objective: number;
  readonly windowDays: number;
  /** latency SLOs only */
  readonly signal: 'ttft' | 'latency' | null;
  readonly thresholdMs: number | null;
  /** events over the window */
  readonly good: number;
  readonly valid: number;
  readonly badRatio: number;
  /** 1 untouched, 0 spent, negative overspent */
  readonly errorBudgetRemaining: number;
  readonly burnRates: Readonly<Record<BurnWindow, number>>;
  readonly alerts: readonly SloAlert[];
  /** epoch ms of the evaluation */
  readonly evaluatedAt: number;
}

/** Counts each SLO's good and valid requests over its window, and judges its burn rates. */
export interface SloTracker extends RequestObserver {
  /** every SLO's budget and burn now, as /admin/v1/slo shows it (judged as of this read) */
  status(): SloStatus[];
  /** settles when the history is back-filled, or its read failed (logged); alerts are judged from then on */
  readonly ready: Promise<void>;
  close(): void;
}

const MINUTE = 60_000;
const DAY = 86_400_000;
const DEFAULT_EVALUATE_MS = 10_000;
const DEFAULT_HISTORY_WAIT_MS = 60_000;

function evaluateTick(t: Tracker): void {
  t.evaluate();
}

function historyLate(t: Tracker): void {
  t.startJudging(true);
}

class Tracker implements SloTracker {
  readonly ready: Promise<void>;
  readonly #clock: Clock;
  readonly #timers: Timers;
  readonly #log: Logger;
  readonly #objectives: readonly Objective[];
  /** tier → model → the SLOs holding for both (`*` keys included) */
  readonly #index = new Map<string, Map<string, Objective[]>>();
  readonly #series: SloSeries;
  readonly #timer: TimerHandle;
  #historyTimer: TimerHandle | null = null;
  /** until the history is in, the counts are partial: alerts wait, so a restart does not page on a few errors */
  #judging: boolean;
  #evaluatedAt = Number.NEGATIVE_INFINITY;
  /**
   * The windows are durations, so they run on the monotonic clock, anchored to the wall at start:
   * a wall clock stepped back would otherwise file new requests under buckets the short windows no
   * longer read, and blind the page until the wall caught up again.
   */
  readonly #wall0: number;
  readonly #mono0: number;

  constructor(slos: readonly SloConfig[], o: SloTrackerOptions) {
    this.#clock = o.clock;
    this.#timers = o.timers;
    this.#log = o.log;
    const start = o.clock.nowMs();
    this.#wall0 = start;
    this.#mono0 = o.clock.monoMs();
    const objectives = slos.map((c) => new Objective(c, start));
    this.#series = o.registry === undefined ? NO_SERIES : sloSeries(o.registry, objectives, () => this.#refresh());
    this.#objectives = objectives;
    for (const obj of objectives) {
      let models = this.#index.get(obj.config.tier);
      if (models === undefined) this.#index.set(obj.config.tier, (models = new Map()));
      const list = models.get(obj.config.model);
      if (list === undefined) models.set(obj.config.model, [obj]);
      else list.push(obj);
    }
    this.#judging = o.history === undefined;
    this.ready = o.history === undefined ? Promise.resolve() : this.#backfill(o.history, start).finally(() => this.startJudging(false));
    if (o.history !== undefined) this.#historyTimer = deadline(o.timers, o.historyWaitMs ?? DEFAULT_HISTORY_WAIT_MS, historyLate, this);
    this.#timer = o.timers.every(o.evaluateEveryMs ?? DEFAULT_EVALUATE_MS, evaluateTick, this);
  }

  /** From now on alerts are judged: the history is in, or (`late`) it took too long. */
  startJudging(late: boolean): void {
    this.#timers.cancel(this.#historyTimer);
    this.#historyTimer = null;
    if (this.#judging) return;
    if (late) this.#log.warn({}, 'the SLOs\' history has not come from the ledger yet; alerts are judged without it');
    this.#judging = true;
    this.evaluate();
  }

  settled(r: UsageRecord, tier: string): void {
    const now = this.#now();
    // `*` is a wildcard only on the SLO's side: a model named `*` by a client is not every model
    if (tier !== '*') this.#byModel(this.#index.get(tier), r, now);
    this.#byModel(this.#index.get('*'), r, now);
  }

  status(): SloStatus[] {
    this.evaluate();
    const at = this.#evaluatedAt;
    return this.#objectives.map((o) => {
      const c = o.config;
      const e = o.last;
      const valid = e.good + e.bad;
      const burnRates = {} as Record<BurnWindow, number>;
      for (let k = 0; k < BURN_WINDOWS.length; k++) burnRates[BURN_WINDOWS[k]] = e.burn[k];
      return {
        name: c.name, kind: c.kind, model: c.model, tier: c.tier, objective: c.objective, windowDays: c.windowDays,
        signal: c.kind === 'latency' ? c.signal : null, thresholdMs: c.kind === 'latency' ? c.thresholdMs : null,
        good: e.good, valid, badRatio: valid === 0 ? 0 : e.bad / valid, errorBudgetRemaining: o.budgetRemaining(), burnRates,
        alerts: ALERT_RULES.map((r, k) => ({ severity: r.severity, rule: r.rule, factor: r.factor, firing: e.firingSince[k] !== null, since: e.firingSince[k] })),
        evaluatedAt: at,
      };
    });
  }

  /** Burn rates, budgets and alert transitions as of now. */
  evaluate(): void {
    const now = this.#now();
    this.#evaluatedAt = now;
    for (const o of this.#objectives) {
      const e = o.measure(now);
      if (this.#judging) {
        for (let k = 0; k < ALERT_RULES.length; k++) {
          const r = ALERT_RULES[k];
          const long = o.burnOf(r.long);
          const short = o.burnOf(r.short);
          const firing = long > r.factor && short > r.factor;
          const since = e.firingSince[k];
          if (firing === (since !== null)) continue;
          const at = { slo: o.config.name, severity: r.severity, rule: r.rule, factor: r.factor, burn: { [r.long]: long, [r.short]: short } };
          if (firing) {
            e.firingSince[k] = now;
            this.#log.warn(at, 'SLO burn-rate alert firing');
          } else {
            e.firingSince[k] = null;
            this.#log.info({ ...at, firedForS: Math.round((now - since!) / 1000) }, 'SLO burn-rate alert resolved');
          }
        }
      }
      this.#series.publish(o);
    }
  }

  close(): void {
    this.#timers.cancel(this.#timer);
    this.#timers.cancel(this.#historyTimer);
    this.#historyTimer = null;
  }

  /** epoch ms as the windows count them (see #wall0) */
  #now(): number {
    return this.#wall0 + (this.#clock.monoMs() - this.#mono0);
  }

  #refresh(): void {
    if (this.#now() !== this.#evaluatedAt) this.evaluate();
  }

  #byModel(models: Map<string, Objective[]> | undefined, r: UsageRecord, now: number): void {
    if (models === undefined) return;
    if (r.model !== '*') this.#count(models.get(r.model), r, now);
    this.#count(models.get('*'), r, now);
  }

  #count(list: Objective[] | undefined, r: UsageRecord, now: number): void {
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      const o = list[i];
      const j = judge(o, r);
      if (j === 0) continue;
      if (j === 1) {
        o.add(now, 1, 0);
        o.goodEvents++;
      } else {
        o.add(now, 0, 1);
        o.badEvents++;
      }
    }
  }

  /**
   * The minutes before the one this tracker started in, from the ledger: what this process
   * counts itself (settled from its start on) is never read back, so nothing is counted twice.
   */
  async #backfill(history: SloHistory, startMs: number): Promise<void> {
    const before = Math.floor(startMs / MINUTE) * MINUTE;
    let days = 3;
    for (const o of this.#objectives) days = Math.max(days, o.config.windowDays);
    try {
      const rows = await history.usageMinutes({ since: before - days * DAY, before });
      this.#log.info({ rows: this.#replay(rows, before), days }, 'SLO budgets back-filled from the ledger');
    } catch (err) {
      this.#log.error({ err }, 'reading the SLOs\' history from the ledger failed; their budgets count from now');
    }
  }

  /** the rows' counts into the rings; how many minutes were before `before` */
  #replay(rows: readonly UsagePeriod[], before: number): number {
    const out: [number, number] = [0, 0];
    let minutes = 0;
    for (const p of rows) {
      if (p.at >= before) continue;
      minutes++;
      for (const o of this.#objectives) {
        const c = o.config;
        if ((c.tier !== '*' && c.tier !== p.tier) || (c.model !== '*' && c.model !== p.model)) continue;
        judgePeriod(c, p, out);
        o.add(p.at, out[0], out[1]);
      }
    }
    return minutes;
  }
}

/** null when no SLO is configured. */
export function createSloTracker(slos: readonly SloConfig[], o: SloTrackerOptions): SloTracker | null {
  return slos.length === 0 ? null : new Tracker(slos, o);
}
