import { z } from 'zod';

// Outlier detection in Envoy's sense (envoy `docs/root/intro/arch_overview/upstream/outlier.rst`,
// `source/common/upstream/outlier_detection_impl.cc`): passive health from the requests themselves.
// Pure: every method is handed the time; nothing here reads a clock or starts a timer.
//
// - consecutive failures eject inline, from failure();
// - failure rate and latency are judged once per interval, from sweep();
// - ejection time = baseEjectionMs × multiplier, capped at max(baseEjectionMs, maxEjectionMs); the
//   multiplier grows by one per ejection while base × multiplier < max (Envoy's cap, so it never
//   climbs beyond what decay can undo), and loses one for each whole interval the host spends
//   admitted;
// - an ejected host is admitted again when its time passes: isEjected() says so at once (a compare),
//   the next sweep() reports it as a 'readmitted' event.
//
// Max ejection percent follows Envoy ≥ 1.31: a host is ejected only if, counting it, the ejected share
// stays within the limit, (ejected + 1) / hosts ≤ maxEjectionPercent / 100. So a pool of 4 at 50 % holds
// at most 2 ejected, a pool of 2 at most 1, and a pool of 1 none: ejecting the only replica just moves the
// failure from the replica to "no replica". Envoy's `always_eject_one_host` (off by default there and
// here) lifts that for the first ejection: set `alwaysEjectOne` for pools where sending nothing beats
// sending to a bad host.
//
// Success-rate detection is Envoy's failure-percentage variant (a fixed threshold over a minimum volume),
// not its mean − stdev × factor variant. Latency outliers are ours: a host whose mean time to first byte
// over the interval is above factor × the median of the pool's hosts with at least minRequests.

export interface OutlierPolicy {
  /** Envoy consecutive_5xx */
  consecutiveFailures: number;
  /** Envoy interval: how often rates and latency are judged and the multiplier decays */
  intervalMs: number;
  /** Envoy base_ejection_time */
  baseEjectionMs: number;
  /** Envoy max_ejection_time */
  maxEjectionMs: number;
  /** Envoy max_ejection_percent: eject only while (ejected + 1) / hosts ≤ this / 100 (see the note above) */
  maxEjectionPercent: number;
  /** Envoy failure_percentage_*: eject when failures / total over the interval ≥ threshold, total ≥ minRequests */
  failureRate: { threshold: number; minRequests: number };
  /** eject a host whose mean latency is above factor × the pool's median; needs minPoolSize hosts with minRequests */
  latency: { factor: number; minRequests: number; minPoolSize: number } | null;
  /** Envoy always_eject_one_host: the first ejection is allowed whatever maxEjectionPercent says; default false */
  alwaysEjectOne?: boolean;
}

/**
 * The policy as configured (`fleet.outlier` in the gateway's file, `outlier` in a scenario), with
 * its defaults: the one source of them. `enabled: false` turns detection off.
 */
export const outlierSchema = z.strictObject({
  enabled: z.boolean().default(true),
  consecutiveFailures: z.number().int().positive().default(5),
  intervalMs: z.number().int().positive().default(10_000),
  baseEjectionMs: z.number().int().positive().default(30_000),
  maxEjectionMs: z.number().int().positive().default(300_000),
  maxEjectionPercent: z.number().min(0).max(100).default(50),
  failureRate: z.strictObject({ threshold: z.number().min(0).max(1).default(0.5), minRequests: z.number().int().positive().default(20) }).prefault({}),
  latency: z.strictObject({ factor: z.number().min(1).default(3), minRequests: z.number().int().positive().default(20), minPoolSize: z.number().int().positive().default(3) }).nullable().prefault({}),
  alwaysEjectOne: z.boolean().default(false),
});

export type OutlierConfig = z.infer<typeof outlierSchema>;

/** The detector's policy from its configuration; null when detection is off. */
export function outlierPolicy(c: OutlierConfig): OutlierPolicy | null {
  if (!c.enabled) return null;
  const { enabled: _, ...policy } = c;
  return policy;
}

export const DEFAULT_OUTLIER_POLICY: OutlierPolicy = outlierPolicy(outlierSchema.parse({}))!;

export type EjectionReason = 'consecutive_failures' | 'failure_rate' | 'latency';

export type OutlierEvent =
  | { kind: 'ejected'; host: number; reason: EjectionReason; untilMs: number; ejections: number }
  | { kind: 'readmitted'; host: number };

export interface OutlierStats {
  /** ejected by the detector's last word; with nowMs, whether the ejection still holds at that time */
  ejected: boolean;
  /** the backoff multiplier: ejections counted toward the next ejection time (decays while admitted) */
  ejections: number;
  ejectedUntilMs: number | null;
  reason: EjectionReason | null;
  consecutiveFailures: number;
  /** every ejection since the detector was made */
  totalEjections: number;
}

const REASONS: readonly EjectionReason[] = ['consecutive_failures', 'failure_rate', 'latency'];
const NO_REASON = 255;
/** decay anchor not yet set: the next look at the host sets it one interval ahead */
const UNANCHORED = -1;

export class OutlierDetector {
  readonly #p: OutlierPolicy;
  readonly #n: number;
  /** admitted when nowMs ≥ until; 0 for a host never ejected */
  readonly #until: Float64Array;
  /**
   * when the host was last let back in (its ejection over, readmitted, or recovered from a failed
   * health check): requests sent before then failed on the host as it was, not as it is
   */
  readonly #admittedAt: Float64Array;
  /** 1 while the detector holds the host ejected (cleared by sweep, readmit or a later failure) */
  readonly #ejected: Uint8Array;
  readonly #reason: Uint8Array;
  readonly #multiplier: Uint32Array;
  readonly #total: Uint32Array;
  /** when the multiplier next loses one, if the host is admitted then */
  readonly #decayAt: Float64Array;
  readonly #consecutive: Uint32Array;
  // this interval's counts
  readonly #ok: Uint32Array;
  readonly #failed: Uint32Array;
  readonly #latencySum: Float64Array;
  readonly #means: Float64Array;
  /** when this interval's counts were last judged; the first sweep judges whatever came before it */
  #judgedAt = -Infinity;
  readonly #maxMultiplier: number;
  readonly #capMs: number;

  constructor(policy: OutlierPolicy, hosts: number) {
    if (!(Number.isInteger(hosts) && hosts >= 0)) throw new RangeError(`hosts must be a whole number ≥ 0, got ${hosts}`);
    if (!(policy.intervalMs > 0) || !(policy.baseEjectionMs > 0)) throw new RangeError('intervalMs and baseEjectionMs must be > 0');
    if (!(policy.consecutiveFailures >= 1)) throw new RangeError('consecutiveFailures must be ≥ 1');
    this.#p = policy;
    this.#n = hosts;
    this.#until = new Float64Array(hosts);
    this.#admittedAt = new Float64Array(hosts).fill(-Infinity);
    this.#ejected = new Uint8Array(hosts);
    this.#reason = new Uint8Array(hosts).fill(NO_REASON);
    this.#multiplier = new Uint32Array(hosts);
    this.#total = new Uint32Array(hosts);
    this.#decayAt = new Float64Array(hosts).fill(UNANCHORED);
    this.#consecutive = new Uint32Array(hosts);
    this.#ok = new Uint32Array(hosts);
    this.#failed = new Uint32Array(hosts);
    this.#latencySum = new Float64Array(hosts);
    this.#means = new Float64Array(hosts);
    this.#capMs = Math.max(policy.baseEjectionMs, policy.maxEjectionMs);
    // Envoy grows the multiplier only while base × multiplier < max: 30 s / 300 s stops at 10
    this.#maxMultiplier = Math.max(1, Math.ceil(this.#capMs / policy.baseEjectionMs));
  }

  success(host: number, latencyMs: number, nowMs: number): void {
    this.#consecutive[host] = 0;
    this.#ok[host]++;
    this.#latencySum[host] += latencyMs;
  }

  /**
   * A request to the host failed. `sentAtMs` (default: now) is when it was sent: one sent before
   * the host was last let back in — stuck through a hang it has since recovered from — says
   * nothing about the host now, and is not counted (issue 11: a recovered replica was ejected
   * again by the timeouts of requests stuck during its hang).
   */
  failure(host: number, nowMs: number, sentAtMs: number = nowMs): OutlierEvent | null {
    // a request that was already on its way when the host was ejected says nothing new
    if (nowMs < this.#until[host]) return null;
    // Its time passed before a sweep noticed: let it back in here, and say so (the sweep will not,
    // and a caller that kept it out of rotation would keep it out for good).
    let lapsed = false;
    if (this.#ejected[host] === 1) {
      this.#clear(host, this.#until[host]);
      lapsed = true;
    }
    const readmitted: OutlierEvent | null = lapsed ? { kind: 'readmitted', host } : null;
    if (sentAtMs < this.#admittedAt[host]) return readmitted;
    this.#failed[host]++;
    if (++this.#consecutive[host] < this.#p.consecutiveFailures) return readmitted;
    // at or past the threshold: eject if the pool allows; if not, the next failure asks again
    return this.#eject(host, 0, nowMs) ?? readmitted;
  }

  sweep(nowMs: number): OutlierEvent[] {
    const events: OutlierEvent[] = [];
    for (let h = 0; h < this.#n; h++) {
      if (this.#ejected[h] === 1 && nowMs >= this.#until[h]) {
        this.#clear(h, this.#until[h]);
        events.push({ kind: 'readmitted', host: h });
      }
      this.#decay(h, nowMs);
    }
    const interval = this.#p.intervalMs;
    if (nowMs - this.#judgedAt < interval) return events;
    this.#judgeFailureRate(nowMs, events);
    this.#judgeLatency(nowMs, events);
    this.#ok.fill(0);
    this.#failed.fill(0);
    this.#latencySum.fill(0);
    // stay on the interval grid, so a sweep that comes early or late does not push every later one back
    this.#judgedAt = this.#judgedAt === -Infinity ? nowMs : this.#judgedAt + interval * Math.floor((nowMs - this.#judgedAt) / interval);
    return events;
  }

  isEjected(host: number, nowMs: number): boolean {
    return nowMs < this.#until[host];
  }

  stats(host: number, nowMs?: number): OutlierStats {
    const ejected = nowMs === undefined ? this.#ejected[host] === 1 : nowMs < this.#until[host];
    const r = this.#reason[host];
    return {
      ejected,
      ejections: this.#multiplier[host],
      ejectedUntilMs: ejected ? this.#until[host] : null,
      reason: ejected && r !== NO_REASON ? REASONS[r] : null,
      consecutiveFailures: this.#consecutive[host],
      totalEjections: this.#total[host],
    };
  }

  /** Let back in early (an operator, or a health check that passes again); `nowMs` marks it. */
  readmit(host: number, nowMs?: number): void {
    if (nowMs !== undefined) this.recovered(host, nowMs);
    if (this.#ejected[host] === 0 && this.#until[host] === 0) return;
    this.#clear(host, nowMs ?? -Infinity);
    this.#decayAt[host] = UNANCHORED; // the next sweep starts the decay interval
  }

  /** The host answers its health check again after failing it: what failed before starts afresh. */
  recovered(host: number, nowMs: number): void {
    if (nowMs > this.#admittedAt[host]) this.#admittedAt[host] = nowMs;
    this.#consecutive[host] = 0;
  }

  #clear(h: number, admittedAt: number): void {
    if (admittedAt > this.#admittedAt[h]) this.#admittedAt[h] = admittedAt;
    this.#ejected[h] = 0;
    this.#until[h] = 0;
    this.#reason[h] = NO_REASON;
    this.#consecutive[h] = 0;
  }

  /** One multiplier step per whole interval spent admitted, however often we are called. */
  #decay(h: number, nowMs: number): void {
    if (this.#multiplier[h] === 0 || nowMs < this.#until[h]) return;
    const interval = this.#p.intervalMs;
    if (this.#decayAt[h] === UNANCHORED) {
      this.#decayAt[h] = nowMs + interval;
      return;
    }
    if (nowMs < this.#decayAt[h]) return;
    const steps = Math.floor((nowMs - this.#decayAt[h]) / interval) + 1;
    this.#multiplier[h] = Math.max(0, this.#multiplier[h] - steps);
    this.#decayAt[h] += steps * interval;
  }

  #mayEject(nowMs: number): boolean {
    let ejected = 0;
    for (let h = 0; h < this.#n; h++) if (nowMs < this.#until[h]) ejected++;
    if ((ejected + 1) * 100 <= this.#p.maxEjectionPercent * this.#n) return true;
    return this.#p.alwaysEjectOne === true && ejected === 0;
  }

  #eject(h: number, reason: number, nowMs: number): OutlierEvent | null {
    if (!this.#mayEject(nowMs)) return null;
    this.#decay(h, nowMs);
    if (this.#multiplier[h] < this.#maxMultiplier) this.#multiplier[h]++;
    const m = this.#multiplier[h];
    const until = nowMs + Math.min(this.#p.baseEjectionMs * m, this.#capMs);
    this.#until[h] = until;
    this.#ejected[h] = 1;
    this.#reason[h] = reason;
    this.#total[h]++;
    this.#consecutive[h] = 0;
    this.#decayAt[h] = until + this.#p.intervalMs;
    // the evidence that ejected it is spent: it must not eject the host again once it is back
    this.#ok[h] = 0;
    this.#failed[h] = 0;
    this.#latencySum[h] = 0;
    return { kind: 'ejected', host: h, reason: REASONS[reason], untilMs: until, ejections: m };
  }

  #judgeFailureRate(nowMs: number, events: OutlierEvent[]): void {
    const { threshold, minRequests } = this.#p.failureRate;
    for (let h = 0; h < this.#n; h++) {
      if (nowMs < this.#until[h]) continue;
      const total = this.#ok[h] + this.#failed[h];
      if (total === 0 || total < minRequests || this.#failed[h] < threshold * total) continue;
      const e = this.#eject(h, 1, nowMs);
      if (e) events.push(e);
    }
  }

  #judgeLatency(nowMs: number, events: OutlierEvent[]): void {
    const lat = this.#p.latency;
    if (!lat) return;
    const means = this.#means;
    let k = 0;
    for (let h = 0; h < this.#n; h++) {
      if (nowMs < this.#until[h] || this.#ok[h] === 0 || this.#ok[h] < lat.minRequests) continue;
      means[k++] = this.#latencySum[h] / this.#ok[h];
    }
    if (k === 0 || k < lat.minPoolSize) return;
    const sorted = means.subarray(0, k).sort();
    const median = k % 2 === 1 ? sorted[(k - 1) / 2] : (sorted[k / 2 - 1] + sorted[k / 2]) / 2;
    const limit = lat.factor * median;
    for (let h = 0; h < this.#n; h++) {
      if (nowMs < this.#until[h] || this.#ok[h] === 0 || this.#ok[h] < lat.minRequests) continue;
      if (this.#latencySum[h] / this.#ok[h] <= limit) continue;
      const e = this.#eject(h, 2, nowMs);
      if (e) events.push(e);
    }
  }
}
