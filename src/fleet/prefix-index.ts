import type { Endpoint, PrefixLookup, RouteRequest } from '../routing/index.js';
import { MAP_ENTRY_BYTES } from './session-table.js';

// The approximate prefix-cache index: which replica is believed to hold which prompt prefix,
// learned from the router's own decisions (a request sent to a replica leaves its prefix there).
// No replica reports anything; each one's cache is modelled as an LRU of `capacityBlocks` blocks,
// as vLLM's is. Prefix hashes are chained (a block's hash covers every token before it), so a
// replica holding block k is taken to hold blocks 0…k-1 too.
//
// A match walks the request's blocks once for all candidates: each block's row is a bitset over
// replica slots, and the walk stops at the first block no candidate still matching holds.

export interface PrefixIndexOptions {
  /** blocks each replica's cache holds (its KV capacity ÷ the tokens per prefix block) */
  readonly capacityBlocks: (slot: number) => number;
  /** blocks of a prompt considered (the rest is ignored for both learning and matching) */
  readonly maxBlocks: number;
}

/** a Uint32Array's object and backing store, and its Map entry (measured on V8, rounded up) */
const ROW_BYTES = 160;

export class PrefixIndex implements PrefixLookup {
  readonly #opts: PrefixIndexOptions;
  /** block hash → bitset of the slots holding it */
  readonly #rows = new Map<number, Uint32Array>();
  /** per slot: the blocks it holds and the recency stamp of each */
  #held: Array<Map<number, number> | undefined> = [];
  #tick = 0;
  #words = 1;
  // scratch for match
  #alive = new Uint32Array(1);
  #depth = new Float64Array(32);

  constructor(opts: PrefixIndexOptions) {
    this.#opts = opts;
  }

  /**
   * The request went to `slot`: its prefix is now (most recently) there. Blocks of one request
   * share a recency stamp, and eviction takes the least recent stamps first, whole requests at a
   * time; a prompt longer than the cache keeps its leading blocks, as vLLM frees a request's blocks
   * from the tail.
   */
  record(slot: number, req: RouteRequest): void {
    const cap = this.#opts.capacityBlocks(slot);
    const n = Math.min(req.prefixBlocks, this.#opts.maxBlocks, cap);
    if (n === 0) return;
    this.#ensure(slot);
    const held = (this.#held[slot] ??= new Map());
    const word = slot >>> 5;
    const bit = 1 << (slot & 31);
    const p = req.prefix!;
    const stride = req.prefixStride;
    const tick = ++this.#tick;
    for (let k = 0; k < n; k++) {
      const h = p[(k + 1) * stride - 1];
      const size = held.size;
      held.set(h, tick);
      if (held.size === size) continue; // already there: only its stamp moved
      let row = this.#rows.get(h);
      if (row === undefined) this.#rows.set(h, (row = new Uint32Array(this.#words)));
      row[word] |= bit;
    }
    // evict in batches (an eighth over capacity), so the sort is paid once per many records
    if (held.size > cap + (cap >>> 3)) this.#evictOldest(slot, held, held.size - cap);
  }

  /** The replica lost its cache (a crash or restart). */
  forget(slot: number): void {
    const held = this.#held[slot];
    if (held === undefined) return;
    this.#evict(slot, held, held.size);
  }

  /**
   * What the index is accounted to hold: a row (a small typed array) per distinct block and an
   * entry per block per slot. Bounded by slots × capacityBlocks × 9/8 blocks, whatever the prompts:
   * a block is a number, however long the text it stands for.
   */
  get bytes(): number {
    let held = 0;
    for (const h of this.#held) held += h?.size ?? 0;
    return this.#rows.size * (ROW_BYTES + this.#words * 4) + held * MAP_ENTRY_BYTES;
  }

  /** Blocks the slot is believed to hold (for the fleet view and tests). */
  heldBlocks(slot: number): number {
    return this.#held[slot]?.size ?? 0;
  }

  match(c: readonly Endpoint[], pos: Int32Array, count: number, req: RouteRequest, out: Float64Array): number {
    const n = Math.min(req.prefixBlocks, this.#opts.maxBlocks);
    const W = this.#words;
    const alive = this.#alive;
    alive.fill(0);
    let maxSlot = 0;
    for (let k = 0; k < count; k++) {
      const s = c[pos[k]].slot;
      if (s >= this.#words * 32) continue; // a slot never recorded holds nothing
      alive[s >>> 5] |= 1 << (s & 31);
      if (s > maxSlot) maxSlot = s;
    }
    if (this.#depth.length <= maxSlot) this.#depth = new Float64Array(Math.max(maxSlot + 1, this.#depth.length * 2));
    const depth = this.#depth;
    const p = req.prefix;
    const stride = req.prefixStride;
    let k = 0;
    let any = n > 0;
    for (; k < n && any; k++) {
      const row = this.#rows.get(p![(k + 1) * stride - 1]);
      any = false;
      for (let w = 0; w < W; w++) {
        const a = alive[w];
        if (a === 0) continue;
        const keep = row === undefined ? 0 : a & row[w];
        let dropped = a & ~keep;
        while (dropped !== 0) {
          const b = 31 - Math.clz32(dropped);
          depth[w * 32 + b] = k;
          dropped &= ~(1 << b);
        }
        alive[w] = keep;
        if (keep !== 0) any = true;
      }
    }
    // the slots still matching hold every block walked
    for (let w = 0; w < W; w++) {
      let a = alive[w];
      while (a !== 0) {
        const b = 31 - Math.clz32(a);
        depth[w * 32 + b] = k;
        a &= ~(1 << b);
      }
    }
    let deepest = 0;
    for (let j = 0; j < count; j++) {
      const s = c[pos[j]].slot;
      const d = s < this.#words * 32 ? depth[s] : 0;
      out[pos[j]] = d;
      if (d > deepest) deepest = d;
    }
    return deepest;
  }

  /** Drops at least `count` blocks, the least recently stamped first. */
  #evictOldest(slot: number, held: Map<number, number>, count: number): void {
    const stamps = Float64Array.from(held.values()).sort();
    const cut = stamps[Math.min(stamps.length - 1, count - 1)];
    for (const [h, t] of held) if (t <= cut) this.#drop(slot, held, h);
  }

  #evict(slot: number, held: Map<number, number>, count: number): void {
    for (const h of held.keys()) {
      if (count-- <= 0) break;
      this.#drop(slot, held, h);
    }
  }

  #drop(slot: number, held: Map<number, number>, h: number): void {
    held.delete(h);
    const row = this.#rows.get(h);
    if (row === undefined) return;
    row[slot >>> 5] &= ~(1 << (slot & 31));
    let empty = true;
    for (let w = 0; w < row.length; w++) if (row[w] !== 0) empty = false;
    if (empty) this.#rows.delete(h);
  }

  /** Rows wide enough for `slot`. */
  #ensure(slot: number): void {
    const need = (slot >>> 5) + 1;
    if (need <= this.#words) return;
    for (const [h, row] of this.#rows) {
      const wider = new Uint32Array(need);
      wider.set(row);
      this.#rows.set(h, wider);
    }
    this.#words = need;
    this.#alive = new Uint32Array(need);
  }
}
