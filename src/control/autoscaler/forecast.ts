// The arrival rate one start-up ahead. Holt's linear trend (a level and a slope, each exponentially
// smoothed) follows a ramp without the lag of a moving average, so replicas asked for now are ready
// when the ramp gets there. An optional seasonal index per bucket of a period (a day in 5-minute
// buckets) is learned online from the rates each bucket saw; once a whole period has been seen it
// deseasonalises what Holt's smoothing sees and reseasonalises the projection, so day 2's morning
// ramp is anticipated from day 1's. The projection is clamped: never below 0, never above
// `clamp` × the larger of the recent maximum and the rate the target bucket saw last period (AIBrix
// clamps its linear projection to 4× the mean; the recent max is steadier on bursty traces, and the
// seasonal rate lets a forecast rise from a quiet night to the morning it has seen before).

export interface RateForecastOptions {
  /** level smoothing per observation, (0, 1] */
  readonly alpha: number;
  /** trend smoothing per observation, (0, 1] */
  readonly beta: number;
  /** the seasonal period, ms; 0 or absent: no seasonal term */
  readonly seasonPeriodMs?: number;
  /** one bucket of the period, ms (default 5 minutes) */
  readonly seasonBucketMs?: number;
  readonly seasonMode?: 'multiplicative' | 'additive';
  /** how a bucket's rate this period blends into its index, (0, 1] (default 0.5: the last two periods) */
  readonly seasonGamma?: number;
  /** the projection's cap, × the reference rate (default 4) */
  readonly clamp?: number;
  /** the window of the recent maximum, ms (default 10 minutes) */
  readonly recentMs?: number;
}

/** a multiplicative index never divides by less than this: a bucket that was nearly silent must not blow a rate up */
const MIN_INDEX = 0.1;

export class RateForecast {
  readonly #alpha: number;
  readonly #beta: number;
  readonly #period: number;
  readonly #bucketMs: number;
  readonly #mode: 'multiplicative' | 'additive';
  readonly #gamma: number;
  readonly #clamp: number;
  readonly #recentMs: number;

  #level = 0;
  /** per ms */
  #trend = 0;
  #lastMs = Number.NaN;
  #firstMs = Number.NaN;
  #seasonal = false;

  /** each bucket's rate over the periods seen (NaN: never observed), and their sum and count */
  readonly #index: Float64Array;
  #indexSum = 0;
  #indexKnown = 0;
  /** the bucket being observed: its number since the epoch, and its running sum */
  #bucketNo = Number.NaN;
  #bucketSum = 0;
  #bucketN = 0;

  /** the recent maximum: a monotone deque of (ms, rate), rates decreasing */
  #maxT: number[] = [];
  #maxV: number[] = [];

  constructor(o: RateForecastOptions) {
    if (!(o.alpha > 0 && o.alpha <= 1) || !(o.beta > 0 && o.beta <= 1)) throw new RangeError(`forecast alpha and beta must be in (0, 1], got ${o.alpha} and ${o.beta}`);
    this.#alpha = o.alpha;
    this.#beta = o.beta;
    this.#bucketMs = o.seasonBucketMs ?? 300_000;
    this.#period = o.seasonPeriodMs && o.seasonPeriodMs >= 2 * this.#bucketMs ? o.seasonPeriodMs : 0;
    this.#mode = o.seasonMode ?? 'multiplicative';
    this.#gamma = o.seasonGamma ?? 0.5;
    this.#clamp = o.clamp ?? 4;
    this.#recentMs = o.recentMs ?? 600_000;
    this.#index = new Float64Array(this.#period > 0 ? Math.ceil(this.#period / this.#bucketMs) : 0).fill(Number.NaN);
  }

  /** whether the seasonal index is in use (a whole period has been seen) */
  get seasonal(): boolean {
    return this.#seasonal;
  }

  /** the arrival rate (per s) of the interval ending at atMs; observations go forward in time */
  observe(atMs: number, ratePerS: number): void {
    const y = Number.isFinite(ratePerS) && ratePerS > 0 ? ratePerS : 0;
    if (!Number.isFinite(atMs)) return;
    if (atMs <= this.#lastMs) return;
    this.#recent(atMs, y);
    if (this.#period > 0) this.#learn(atMs, y);
    if (Number.isNaN(this.#lastMs)) {
      this.#firstMs = atMs;
      this.#lastMs = atMs;
      this.#level = this.#deseason(y, atMs);
      return;
    }
    if (this.#period > 0 && !this.#seasonal && atMs - this.#firstMs >= this.#period) {
      // from here on the level is of the deseasonalised rate: carry the state over at this bucket's index
      this.#seasonal = true;
      const s = this.#at(atMs);
      if (this.#mode === 'multiplicative') {
        this.#level /= s;
        this.#trend /= s;
      } else {
        this.#level -= s;
      }
    }
    const dt = atMs - this.#lastMs;
    const x = this.#deseason(y, atMs);
    const prior = this.#level + this.#trend * dt;
    const level = this.#alpha * x + (1 - this.#alpha) * prior;
    this.#trend = this.#beta * ((level - this.#level) / dt) + (1 - this.#beta) * this.#trend;
    this.#level = level;
    this.#lastMs = atMs;
  }

  /** the rate (per s) expected at atMs: the level carried along the trend, reseasonalised, clamped */
  predict(atMs: number): number {
    if (Number.isNaN(this.#lastMs)) return 0;
    const h = Math.max(0, atMs - this.#lastMs);
    let x = this.#level + this.#trend * h;
    let ref = this.#maxV.length > 0 ? this.#maxV[0] : 0;
    if (this.#seasonal) {
      x = this.#mode === 'multiplicative' ? Math.max(0, x) * this.#at(atMs) : x + this.#at(atMs);
      const seen = this.#index[this.#bucketOf(atMs)];
      if (seen > ref) ref = seen;
    }
    const cap = this.#clamp * ref;
    return x <= 0 ? 0 : x > cap ? cap : x;
  }

  #recent(atMs: number, y: number): void {
    while (this.#maxV.length > 0 && this.#maxV[this.#maxV.length - 1] <= y) {
      this.#maxV.pop();
      this.#maxT.pop();
    }
    this.#maxV.push(y);
    this.#maxT.push(atMs);
    let drop = 0;
    while (drop < this.#maxT.length - 1 && this.#maxT[drop] < atMs - this.#recentMs) drop++;
    if (drop > 0) {
      this.#maxT.splice(0, drop);
      this.#maxV.splice(0, drop);
    }
  }

  #bucketOf(atMs: number): number {
    return Math.floor((((atMs % this.#period) + this.#period) % this.#period) / this.#bucketMs);
  }

  /** folds a finished bucket's mean rate into its index */
  #learn(atMs: number, y: number): void {
    const no = Math.floor(atMs / this.#bucketMs);
    if (no !== this.#bucketNo) {
      if (this.#bucketN > 0) {
        const b = this.#bucketOf(this.#bucketNo * this.#bucketMs);
        const mean = this.#bucketSum / this.#bucketN;
        const old = this.#index[b];
        const next = Number.isNaN(old) ? mean : (1 - this.#gamma) * old + this.#gamma * mean;
        this.#indexSum += next - (Number.isNaN(old) ? 0 : old);
        if (Number.isNaN(old)) this.#indexKnown++;
        this.#index[b] = next;
      }
      this.#bucketNo = no;
      this.#bucketSum = 0;
      this.#bucketN = 0;
    }
    this.#bucketSum += y;
    this.#bucketN++;
  }

  /** the seasonal index at atMs: a factor (multiplicative) or an offset (additive); neutral before a period is seen */
  #at(atMs: number): number {
    const neutral = this.#mode === 'multiplicative' ? 1 : 0;
    if (this.#period === 0 || this.#indexKnown === 0) return neutral;
    const v = this.#index[this.#bucketOf(atMs)];
    if (Number.isNaN(v)) return neutral;
    const mean = this.#indexSum / this.#indexKnown;
    if (this.#mode === 'additive') return v - mean;
    return mean > 0 ? Math.max(MIN_INDEX, v / mean) : 1;
  }

  #deseason(y: number, atMs: number): number {
    if (!this.#seasonal) return y;
    const s = this.#at(atMs);
    return this.#mode === 'multiplicative' ? y / s : y - s;
  }
}
