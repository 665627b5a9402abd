// E-processes: a mixture of running likelihood ratios against the null, with equal prior mass over a
// grid of alternatives θ and, for each, over start times (the first data, then each mark). Each ratio
// is a nonnegative supermartingale under the null (a martingale at its boundary), so the mixture is
// one too, and by Ville's inequality it ever reaches 1/α with probability at most α, however often
// it is read. Kept in log space.
//
// Why start times: under a null with a tolerance, a good candidate's ratios shrink towards 0 as data
// comes in (e^-500 after an hour), and a regression that appears only later (at a larger share, under
// more load) would first have to climb back. A fresh start at each mark, with prior mass
// 1/((c+1)(c+2)) for the c-th start (summing to 1), bounds that debt by the current step's data, at a
// cost of log 2 nats for the first step and log((c+1)(c+2)) for the c-th.

/** The running mixture shared by both kinds of test. */
abstract class Mixture {
  /** per θ: log Σ over started components of π_c · Π (ratios since c) */
  protected readonly logLR: Float64Array;
  private readonly logW: number;
  private maxLog = -Infinity;
  /** components started (0 before any data) */
  private starts = 0;
  private sinceStart = 0;
  /** informative comparisons folded in */
  comparisons = 0;
  /** log(threshold − rest), cached per threshold and number of starts */
  private cut = 0;
  private cutFor = NaN;
  private cutStarts = -1;

  protected constructor(size: number) {
    this.logLR = new Float64Array(size).fill(-Infinity);
    this.logW = -Math.log(size);
  }

  /** log of the e-value now: the started components, plus the prior mass of those not yet started (each still at 1) */
  logE(): number {
    let m = -Infinity;
    for (let i = 0; i < this.logLR.length; i++) if (this.logLR[i] > m) m = this.logLR[i];
    const rest = this.rest();
    if (m === -Infinity) return Math.log(rest);
    let s = 0;
    for (let i = 0; i < this.logLR.length; i++) s += Math.exp(this.logLR[i] - m);
    const started = m + Math.log(s) + this.logW;
    return started > Math.log(rest) ? started + Math.log1p(rest * Math.exp(-started)) : Math.log(rest + Math.exp(started));
  }

  /** Whether the e-value has reached `logThreshold`; cheap when it clearly has not (the mixture ≤ its largest term + the rest). */
  reached(logThreshold: number): boolean {
    if (logThreshold !== this.cutFor || this.starts !== this.cutStarts) {
      this.cutFor = logThreshold;
      this.cutStarts = this.starts;
      this.cut = Math.log(Math.max(Number.MIN_VALUE, Math.exp(logThreshold) - this.rest()));
    }
    return this.maxLog + 1e-9 >= this.cut && this.logE() >= logThreshold;
  }

  /** A new gate: from here on a fresh component (once the current one has data) — see the header. */
  restart(): void {
    if (this.starts > 0 && this.sinceStart === 0) return;
    this.begin();
  }

  /** Called before a comparison is folded in. */
  protected fold(): void {
    if (this.starts === 0) this.begin();
    this.comparisons++;
    this.sinceStart++;
  }

  protected note(): void {
    let m = -Infinity;
    for (let i = 0; i < this.logLR.length; i++) if (this.logLR[i] > m) m = this.logLR[i];
    this.maxLog = m;
  }

  private begin(): void {
    const c = this.starts++;
    const logPi = -Math.log((c + 1) * (c + 2));
    for (let i = 0; i < this.logLR.length; i++) {
      const a = this.logLR[i];
      this.logLR[i] = a === -Infinity ? logPi : Math.max(a, logPi) + Math.log1p(Math.exp(-Math.abs(a - logPi)));
    }
    this.sinceStart = 0;
    this.note();
  }

  /** prior mass of the components not started: Σ_{c ≥ starts} 1/((c+1)(c+2)) = 1/(starts+1) */
  private rest(): number {
    return 1 / (this.starts + 1);
  }
}

/** Odds ratios above the null's, geometric from 1.2× to 100× it: a broken build and a 2× regression both sit on the grid. */
const ODDS_STEPS = [1.2, 1.5, 2, 3, 5, 8, 13, 25, 50, 100];

/**
 * "The candidate fails (or truncates) more often, by an odds ratio above θ0": in a group of n calls
 * with j events, the candidate is one of them with probability θj / (θj + n − j) (Fisher's noncentral
 * hypergeometric, one candidate). Under any odds ratio ≤ θ0 each ratio against θ0 has mean ≤ 1.
 */
export class OddsTest extends Mixture {
  private readonly theta: Float64Array;
  private readonly theta0: number;

  constructor(theta0: number) {
    super(ODDS_STEPS.length);
    this.theta0 = theta0;
    this.theta = Float64Array.from(ODDS_STEPS, (f) => f * theta0);
  }

  /** One group of `n` calls with `j` events, `hit` whether the candidate's call was one. */
  add(hit: boolean, j: number, n: number): void {
    if (j === 0 || j === n) return; // every order of a group all alike is equally likely: no evidence
    this.fold();
    const rest = n - j;
    const p0 = (this.theta0 * j) / (this.theta0 * j + rest);
    for (let i = 0; i < this.theta.length; i++) {
      const p = (this.theta[i] * j) / (this.theta[i] * j + rest);
      this.logLR[i] += hit ? Math.log(p / p0) : Math.log((1 - p) / (1 - p0));
    }
    this.note();
  }
}

/** Tilts of the candidate's rank: P_θ(r) ∝ exp(θ r / k). 12 puts almost all mass on the top rank. */
const RANK_STEPS = [0.25, 0.5, 1, 1.5, 2, 3, 4.5, 6, 8, 12];
/** Two-sided: six tilts each way, so the grid stays at twelve. */
const RANK_STEPS_EACH_WAY = [0.5, 1, 2, 3, 6, 12];

/**
 * "The candidate's value ranks high (or, two-sided, also low) among its group's": under the null its
 * rank r on 0..k is uniform (or stochastically smaller, the candidate's value being shrunk by the
 * tolerance first); against P_θ the ratio is (k+1)·exp(θr/k)/Σₛexp(θs/k), increasing in r for θ > 0.
 */
export class RankTest extends Mixture {
  private readonly theta: Float64Array;
  /** θ at [0, half) are tilts up (read `up`), the rest down (read `down`) */
  private readonly half: number;
  /** log Σₛ exp(θ s/k) for s = 0..k, per θ and per k (k ≤ maxK) */
  private readonly logZ: Float64Array;
  private readonly maxK: number;

  constructor(twoSided: boolean, maxK: number) {
    const steps = twoSided ? RANK_STEPS_EACH_WAY : RANK_STEPS;
    super(steps.length * (twoSided ? 2 : 1));
    this.half = steps.length;
    this.maxK = maxK;
    this.theta = new Float64Array(steps.length * (twoSided ? 2 : 1));
    steps.forEach((t, i) => { this.theta[i] = t; if (twoSided) this.theta[steps.length + i] = -t; });
    this.logZ = new Float64Array(this.theta.length * (maxK + 1));
    for (let i = 0; i < this.theta.length; i++) {
      for (let k = 1; k <= maxK; k++) {
        let z = 0;
        for (let s = 0; s <= k; s++) z += Math.exp((this.theta[i] * s) / k);
        this.logZ[i * (maxK + 1) + k] = Math.log(z);
      }
    }
  }

  /**
   * One group of k + 1 values: `up` is the candidate's rank with its value shrunk by the tolerance
   * (tested against "larger"), `down` its rank with its value stretched by it (against "smaller";
   * ignored when one-sided).
   */
  add(up: number, down: number, k: number): void {
    if (k < 1 || k > this.maxK) return;
    this.fold();
    const half = this.half;
    const logN = Math.log(k + 1);
    for (let i = 0; i < this.theta.length; i++) {
      const r = i < half ? up : down;
      this.logLR[i] += logN + (this.theta[i] * r) / k - this.logZ[i * (this.maxK + 1) + k];
    }
    this.note();
  }
}
