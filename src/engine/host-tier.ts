import { BlockIndex } from './block-index.js';

// KV offloading to host memory (vLLM's `--kv-offloading-size`, LMCache's local CPU backend): a block
// the GPU evicts from its prefix cache is kept in host RAM, by hash, least recently used first out.
// A request whose prefix continues there loads those blocks over PCIe instead of recomputing them.
// The tiers are exclusive: a block loaded back to the GPU leaves the host until evicted again.
//
// Entries on typed arrays with an intrusive LRU list, and an open-addressing hash → entry index: a
// Map whose oldest entry is deleted on every put leaves tombstones that make each next eviction scan
// them all (quadratic over a simulated hour).

export class HostKvTier {
  readonly capacity: number;
  readonly #index: BlockIndex;
  readonly #hash: Float64Array;
  /** doubly linked LRU list over entries, least recent first; index capacity is the sentinel */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  /** unused entries, as a stack */
  readonly #free: Int32Array;
  #freeTop: number;

  constructor(capacityBlocks: number) {
    this.capacity = capacityBlocks;
    this.#index = new BlockIndex(Math.max(1, capacityBlocks));
    this.#hash = new Float64Array(capacityBlocks);
    this.#prev = new Int32Array(capacityBlocks + 1).fill(capacityBlocks);
    this.#next = new Int32Array(capacityBlocks + 1).fill(capacityBlocks);
    this.#free = new Int32Array(capacityBlocks);
    for (let i = 0; i < capacityBlocks; i++) this.#free[i] = capacityBlocks - 1 - i;
    this.#freeTop = capacityBlocks;
  }

  get size(): number {
    return this.capacity - this.#freeTop;
  }

  /** The GPU evicted a block with this hash: keep it as the most recent, dropping the least recent when full. */
  put(hash: number): void {
    if (this.capacity === 0) return;
    let entry = this.#index.get(hash);
    if (entry >= 0) this.#unlink(entry);
    else {
      if (this.#freeTop === 0) this.#drop(this.#next[this.capacity]);
      entry = this.#free[--this.#freeTop];
      this.#hash[entry] = hash;
      this.#index.set(hash, entry);
    }
    const s = this.capacity;
    const last = this.#prev[s];
    this.#next[last] = entry;
    this.#prev[entry] = last;
    this.#next[entry] = s;
    this.#prev[s] = entry;
  }

  /** How many of hashes[from, max) are held, in a row from `from`. */
  run(hashes: Float64Array, from: number, max: number): number {
    let n = from;
    while (n < max && this.#index.has(hashes[n])) n++;
    return n - from;
  }

  /** Blocks hashes[from, from + n) are loaded to the GPU: they leave the host. */
  take(hashes: Float64Array, from: number, n: number): void {
    for (let i = from; i < from + n; i++) {
      const entry = this.#index.get(hashes[i]);
      if (entry >= 0) this.#drop(entry);
    }
  }

  /** An admission that took them failed: they stay on the host after all. */
  restore(hashes: Float64Array, from: number, n: number): void {
    for (let i = from; i < from + n; i++) this.put(hashes[i]);
  }

  #drop(entry: number): void {
    this.#unlink(entry);
    this.#index.delete(this.#hash[entry]);
    this.#free[this.#freeTop++] = entry;
  }

  #unlink(entry: number): void {
    const p = this.#prev[entry];
    const n = this.#next[entry];
    this.#next[p] = n;
    this.#prev[n] = p;
  }
}
