/**
 * Good and bad events counted in equal time buckets, the newest `size` of them, in two
 * preallocated arrays: adding is an index and two additions, summing a window a walk back from the
 * newest bucket. A bucket is cleared when time moves onto it again, so an idle ring costs nothing.
 */
export class BucketRing {
  readonly bucketMs: number;
  readonly size: number;
  readonly #good: Float64Array;
  readonly #bad: Float64Array;
  /** the absolute number (time ÷ bucketMs) of the newest bucket */
  #head: number;

  constructor(bucketMs: number, size: number, nowMs: number) {
    this.bucketMs = bucketMs;
    this.size = size;
    this.#good = new Float64Array(size);
    this.#bad = new Float64Array(size);
    this.#head = Math.floor(nowMs / bucketMs);
  }

  /** Adds to the bucket holding `atMs`; one older than the ring holds is dropped. */
  add(atMs: number, good: number, bad: number): void {
    const n = Math.floor(atMs / this.bucketMs);
    if (n > this.#head) this.#advance(n);
    else if (n <= this.#head - this.size) return;
    const slot = this.#slot(n);
    this.#good[slot] += good;
    this.#bad[slot] += bad;
  }

  /**
   * For each window of `lengths[k]` buckets (ascending; the bucket holding `nowMs` is the newest),
   * its good count into `out[2k]` and its bad count into `out[2k + 1]`. A wall clock stepped back
   * reads from the newest bucket seen.
   */
  sums(nowMs: number, lengths: readonly number[], out: Float64Array): void {
    const n = Math.floor(nowMs / this.bucketMs);
    if (n > this.#head) this.#advance(n);
    let good = 0;
    let bad = 0;
    let k = 0;
    const last = Math.min(lengths[lengths.length - 1], this.size);
    for (let i = 0; i < last && k < lengths.length; i++) {
      const slot = this.#slot(this.#head - i);
      good += this.#good[slot];
      bad += this.#bad[slot];
      while (k < lengths.length && lengths[k] === i + 1) {
        out[2 * k] = good;
        out[2 * k + 1] = bad;
        k++;
      }
    }
    // a window longer than the ring: all it holds
    for (; k < lengths.length; k++) {
      out[2 * k] = good;
      out[2 * k + 1] = bad;
    }
  }

  #advance(n: number): void {
    const steps = Math.min(n - this.#head, this.size);
    for (let i = 1; i <= steps; i++) {
      const slot = this.#slot(this.#head + i);
      this.#good[slot] = 0;
      this.#bad[slot] = 0;
    }
    this.#head = n;
  }

  #slot(n: number): number {
    const s = n % this.size;
    return s < 0 ? s + this.size : s;
  }
}
