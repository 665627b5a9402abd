import { BlockIndex } from './block-index.js';
import type { HostKvTier } from './host-tier.js';

// The KV cache as vLLM V1's BlockPool keeps it: fixed-size blocks with ref counts, a free queue in
// LRU order, and a map from block hash to a cached block. A freed block keeps its hash (and stays
// findable) until it is taken for new data; eviction takes from the head of the free queue, so the
// least recently freed cached block goes first. Typed arrays and an intrusive list: no allocation
// per block operation.

export class KvBlockPool {
  readonly numBlocks: number;
  readonly #ref: Int32Array;
  /** NaN = the block holds no cached prefix */
  readonly #hash: Float64Array;
  /** doubly linked free queue; index numBlocks is the sentinel */
  readonly #prev: Int32Array;
  readonly #next: Int32Array;
  #free: number;
  readonly #cached: BlockIndex;

  /** where evicted cached blocks go (KV offloading); null = they are lost */
  readonly host: HostKvTier | null;

  constructor(numBlocks: number, host: HostKvTier | null = null) {
    this.host = host;
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    this.numBlocks = numBlocks;
    this.#ref = new Int32Array(numBlocks);
    this.#hash = new Float64Array(numBlocks).fill(NaN);
    this.#prev = new Int32Array(numBlocks + 1);
    this.#next = new Int32Array(numBlocks + 1);
    // every block free, in id order: sentinel ↔ 0 ↔ 1 ↔ … ↔ n-1 ↔ sentinel
    for (let i = 0; i <= numBlocks; i++) {
      this.#next[i] = i === numBlocks ? 0 : i + 1;
      this.#prev[i] = i === 0 ? numBlocks : i - 1;
    }
    this.#free = numBlocks;
    this.#cached = new BlockIndex(numBlocks);
  }

  /** how many times a block has returned to the free queue (room may have been made) */
  releases = 0;
  /** set when `watch`'s hash gets cached (a blocked request's prefix grew) */
  watchHit = false;
  #watch = -1;

  /** Note when this hash is cached (−1: watch nothing). */
  watch(hash: number): void {
    this.#watch = hash;
    this.watchHit = false;
  }

  /** Blocks not referenced by any request (cached ones included: they can be evicted). */
  get numFree(): number {
    return this.#free;
  }

  /** Blocks findable by hash. */
  get numCached(): number {
    return this.#cached.size;
  }

  refCount(block: number): number {
    return this.#ref[block];
  }

  /** The longest run of cached blocks matching hashes[0, max): writes their ids to out; returns how many. */
  match(hashes: Float64Array, max: number, out: Int32Array): number {
    let n = 0;
    while (n < max) {
      const b = this.#cached.get(hashes[n]);
      if (b < 0) break;
      out[n++] = b;
    }
    return n;
  }

  /** How many leading blocks of hashes[0, max) are cached (the prefix a request would hit). */
  cachedRun(hashes: Float64Array, max: number): number {
    let n = 0;
    while (n < max && this.#cached.get(hashes[n]) >= 0) n++;
    return n;
  }

  /** How many of blocks[0, n) sit in the free queue (touching them would take them out). */
  countUnreferenced(blocks: Int32Array, n: number): number {
    let k = 0;
    for (let i = 0; i < n; i++) if (this.#ref[blocks[i]] === 0) k++;
    return k;
  }

  /** Add a reference to a cached block, taking it off the free queue if it was there. */
  touch(block: number): void {
    if (this.#ref[block]++ === 0) {
      this.#unlink(block);
      this.#free--;
    }
  }

  /** Take the least recently freed block for new data, evicting its cached hash. Caller checked numFree. */
  take(): number {
    const s = this.numBlocks;
    const b = this.#next[s];
    if (b === s) throw new Error('KV block pool exhausted: the caller must check numFree first');
    this.#unlink(b);
    this.#free--;
    const h = this.#hash[b];
    if (h === h) {
      this.#cached.deleteIf(h, b);
      this.host?.put(h);
    }
    this.#hash[b] = NaN;
    this.#ref[b] = 1;
    return b;
  }

  /** Drop a reference; an unreferenced block joins the tail of the free queue (most recently used). */
  release(block: number): void {
    if (--this.#ref[block] === 0) {
      const s = this.numBlocks;
      const last = this.#prev[s];
      this.#next[last] = block;
      this.#prev[block] = last;
      this.#next[block] = s;
      this.#prev[s] = block;
      this.#free++;
      this.releases++;
    }
  }

  /** Make a full, computed block findable by its hash (first writer wins on duplicates). */
  register(block: number, hash: number): void {
    if (this.#hash[block] === this.#hash[block] || !this.#cached.add(hash, block)) return;
    if (hash === this.#watch) this.watchHit = true;
    this.#hash[block] = hash;
  }

  #unlink(b: number): void {
    const p = this.#prev[b];
    const n = this.#next[b];
    this.#next[p] = n;
    this.#prev[n] = p;
  }
}
