import { SLO_LATENCY_BOUNDS_MS, type SloConfig } from '../../config/index.js';
import type { UsagePeriod, UsageRecord } from '../../ledger/index.js';
import { BucketRing } from './ring.js';

// One SLO: which settled requests are its events and which of those are good, its counts over
// time, and its burn rates and budget read off them. Burn rate over a window = the window's bad
// ratio ÷ the budget (1 − objective); the alerts are the SRE workbook's multi-window,
// multi-burn-rate rules, each a long window that says the burn is real and a short one (1/12 of
// it) that says it is still going on.

/** The windows burn rates are reported over. */
export const BURN_WINDOWS = ['5m', '30m', '1h', '6h', '3d'] as const;
export type BurnWindow = (typeof BURN_WINDOWS)[number];

export type Severity = 'page' | 'ticket';

export interface AlertRule {
  readonly rule: '1h-5m' | '6h-30m' | '3d-6h';
  readonly severity: Severity;
  readonly long: BurnWindow;
  readonly short: BurnWindow;
  /** fires while both windows burn faster than this */
  readonly factor: number;
}

/**
 * 14.4× for an hour spends 2 % of a 30-day budget, 6× for six hours 5 %, 1× for three days 10 %.
 */
export const ALERT_RULES: readonly AlertRule[] = [
  { rule: '1h-5m', severity: 'page', long: '1h', short: '5m', factor: 14.4 },
  { rule: '6h-30m', severity: 'page', long: '6h', short: '30m', factor: 6 },
  { rule: '3d-6h', severity: 'ticket', long: '3d', short: '6h', factor: 1 },
];

const MINUTE = 60_000;
/** windows to 6 h in 10 s buckets: a page is judged to the 10 s */
export const FINE_BUCKET_MS = 10_000;
const FINE_LENGTHS = [5 * MINUTE, 30 * MINUTE, 60 * MINUTE, 360 * MINUTE].map((w) => w / FINE_BUCKET_MS);
/** three days and the budget window in 5 min buckets */
export const COARSE_BUCKET_MS = 5 * MINUTE;
const THREE_DAYS = 3 * 1_440 / 5;
const DAY_BUCKETS = 1_440 / 5;
const WINDOW_INDEX: Record<BurnWindow, number> = { '5m': 0, '30m': 1, '1h': 2, '6h': 3, '3d': 4 };

/** What an SLO measures, as the hot path reads it (one shape for every kind of SLO). */
const AVAILABILITY = 0;
const TTFT = 1;
const LATENCY = 2;

/** 0: not an event of this SLO; 1: good; 2: bad. The hot path's one question per SLO. */
export function judge(o: Objective, r: UsageRecord): 0 | 1 | 2 {
  const s = r.status;
  // the client's errors (429 and 499 included) say nothing of the service
  if (s >= 400 && s < 500) return 0;
  if (s >= 500) return 2;
  const m = o.measures;
  if (m === AVAILABILITY) return 1;
  if (m === LATENCY) return r.latencyMs <= o.thresholdMs ? 1 : 2;
  // a time to first token is an event of streamed requests only
  if (!r.stream || r.ttftMs === null) return 0;
  return r.ttftMs <= o.thresholdMs ? 1 : 2;
}

/** The same judgement over a minute of the ledger's roll-up: its good and bad counts into `out`. */
export function judgePeriod(c: SloConfig, p: UsagePeriod, out: [number, number]): void {
  if (c.kind === 'availability') {
    out[0] = p.requests - p.clientErrors - p.serverErrors;
    out[1] = p.serverErrors;
    return;
  }
  const i = (SLO_LATENCY_BOUNDS_MS as readonly number[]).indexOf(c.thresholdMs);
  const within = c.signal === 'latency' ? p.latencyWithin[i] ?? 0 : p.ttftWithin[i] ?? 0;
  const of = c.signal === 'latency' ? p.succeeded : p.streamed;
  out[0] = within;
  out[1] = p.serverErrors + of - within;
}

/** What an SLO's last evaluation found. */
export interface Evaluation {
  /** over the budget window */
  good: number;
  bad: number;
  /** by BURN_WINDOWS' order */
  readonly burn: Float64Array;
  /** by ALERT_RULES' order: epoch ms the alert started firing, or null */
  readonly firingSince: Array<number | null>;
}

export class Objective {
  readonly config: SloConfig;
  /** 1 − objective */
  readonly budget: number;
  readonly fine: BucketRing;
  readonly coarse: BucketRing;
  readonly last: Evaluation;
  readonly measures: typeof AVAILABILITY | typeof TTFT | typeof LATENCY;
  readonly thresholdMs: number;
  /** events this process counted itself (never the history's): what `switchyard_slo_events_total` shows */
  goodEvents = 0;
  badEvents = 0;
  readonly #coarseLengths: readonly number[];
  readonly #budgetAt: number;
  readonly #fineSums = new Float64Array(2 * FINE_LENGTHS.length);
  readonly #coarseSums = new Float64Array(4);

  constructor(config: SloConfig, nowMs: number) {
    this.config = config;
    this.measures = config.kind === 'availability' ? AVAILABILITY : config.signal === 'ttft' ? TTFT : LATENCY;
    this.thresholdMs = config.kind === 'availability' ? 0 : config.thresholdMs;
    // 1 − 0.999 is 0.0010000000000000009 in floating point: to 12 significant digits, a 25 % bad ratio
    // burns 250×, not 249.99…; significant digits, not decimals, so 14 nines still leave a budget above 0
    this.budget = Number((1 - config.objective).toPrecision(12));
    const budgetBuckets = config.windowDays * DAY_BUCKETS;
    this.#coarseLengths = budgetBuckets <= THREE_DAYS ? [budgetBuckets, THREE_DAYS] : [THREE_DAYS, budgetBuckets];
    this.#budgetAt = budgetBuckets <= THREE_DAYS ? 0 : 1;
    this.fine = new BucketRing(FINE_BUCKET_MS, FINE_LENGTHS[FINE_LENGTHS.length - 1], nowMs);
    this.coarse = new BucketRing(COARSE_BUCKET_MS, Math.max(budgetBuckets, THREE_DAYS), nowMs);
    this.last = { good: 0, bad: 0, burn: new Float64Array(BURN_WINDOWS.length), firingSince: ALERT_RULES.map(() => null) };
  }

  add(atMs: number, good: number, bad: number): void {
    this.fine.add(atMs, good, bad);
    this.coarse.add(atMs, good, bad);
  }

  /** Burn rates and the budget window's counts as of `nowMs`, into `last` (alerts are the tracker's to judge). */
  measure(nowMs: number): Evaluation {
    const e = this.last;
    const f = this.#fineSums;
    this.fine.sums(nowMs, FINE_LENGTHS, f);
    for (let k = 0; k < FINE_LENGTHS.length; k++) e.burn[k] = this.#burn(f[2 * k], f[2 * k + 1]);
    const c = this.#coarseSums;
    this.coarse.sums(nowMs, this.#coarseLengths, c);
    const three = 1 - this.#budgetAt;
    e.burn[WINDOW_INDEX['3d']] = this.#burn(c[2 * three], c[2 * three + 1]);
    e.good = c[2 * this.#budgetAt];
    e.bad = c[2 * this.#budgetAt + 1];
    return e;
  }

  /** of the budget window: 1 untouched (or no data), 0 spent, negative overspent */
  budgetRemaining(): number {
    const valid = this.last.good + this.last.bad;
    return valid === 0 ? 1 : 1 - this.last.bad / valid / this.budget;
  }

  burnOf(w: BurnWindow): number {
    return this.last.burn[WINDOW_INDEX[w]];
  }

  /** no data burns nothing */
  #burn(good: number, bad: number): number {
    const valid = good + bad;
    return valid === 0 ? 0 : bad / valid / this.budget;
  }
}
