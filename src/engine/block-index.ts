// Block hash → block id, as an open-addressing table over typed arrays. The prefix cache looks up,
// adds and evicts a hash for every block a request touches, millions of times in a simulated hour;
// a Map keyed by 53-bit doubles boxes every key and costs ~10× this. Linear probing with
// backward-shift deletion: no tombstones, so lookups stay short however much churn there is.

const EMPTY = -1;
const TWO32 = 0x1_0000_0000;

export class BlockIndex {
  readonly #keys: Float64Array;
  readonly #vals: Int32Array;
  readonly #mask: number;
  #size = 0;

  /** room for `capacity` entries at a load factor of at most 1/2 */
  constructor(capacity: number) {
    let n = 16;
    while (n < capacity * 2) n *= 2;
    this.#keys = new Float64Array(n).fill(EMPTY);
    this.#vals = new Int32Array(n);
    this.#mask = n - 1;
  }

  get size(): number {
    return this.#size;
  }

  /** The block holding `hash`, or -1. Hashes are integers in [0, 2^53). */
  get(hash: number): number {
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = homeOf(hash) & mask; ; i = (i + 1) & mask) {
      const k = keys[i];
      if (k === hash) return this.#vals[i];
      if (k === EMPTY) return -1;
    }
  }

  has(hash: number): boolean {
    return this.get(hash) !== -1;
  }

  /** Add or replace. The caller keeps size ≤ capacity (one entry per block). */
  set(hash: number, block: number): void {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = homeOf(hash) & mask;
    while (keys[i] !== EMPTY && keys[i] !== hash) i = (i + 1) & mask;
    if (keys[i] === EMPTY) this.#size++;
    keys[i] = hash;
    this.#vals[i] = block;
  }

  /** Add unless present (first writer wins); true when added. One probe. */
  add(hash: number, block: number): boolean {
    const keys = this.#keys;
    const mask = this.#mask;
    let i = homeOf(hash) & mask;
    for (;;) {
      const k = keys[i];
      if (k === hash) return false;
      if (k === EMPTY) break;
      i = (i + 1) & mask;
    }
    this.#size++;
    keys[i] = hash;
    this.#vals[i] = block;
    return true;
  }

  delete(hash: number): void {
    this.deleteIf(hash, -1);
  }

  /** Remove `hash` if it maps to `block` (any block when −1). One probe. */
  deleteIf(hash: number, block: number): void {
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    let i = homeOf(hash) & mask;
    while (keys[i] !== hash) {
      if (keys[i] === EMPTY) return;
      i = (i + 1) & mask;
    }
    if (block !== -1 && vals[i] !== block) return;
    this.#size--;
    // shift back every later entry of the run whose home bucket is not in (i, j]
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = homeOf(keys[j]) & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      keys[i] = keys[j];
      vals[i] = vals[j];
      i = j;
    }
    keys[i] = EMPTY;
  }
}

function homeOf(hash: number): number {
  const lo = hash >>> 0;
  const hi = (hash / TWO32) | 0;
  let h = Math.imul(lo ^ Math.imul(hi, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}
