// Which slot served a session last, for session affinity; the oldest sessions are forgotten first.
// Bounded in bytes, whatever the clients send: a session is keyed by a 53-bit hash of its key, so a
// megabyte-long `x-session-id` costs the table what a short one does. A collision (about one in
// 10^10 pairs at 100 000 sessions) only sends a session to another session's replica.

/** what a Map entry with a heap-number key and a small-integer value costs the heap (measured ~46, with slack for the map's growth) */
export const MAP_ENTRY_BYTES = 64;

export class SessionTable {
  readonly #slots = new Map<number, number>();
  readonly #capacity: number;

  /** a number: at most that many sessions; `maxBytes`: as many as fit in that many bytes */
  constructor(bound: number | { readonly maxBytes: number }) {
    const n = typeof bound === 'number' ? bound : Math.floor(bound.maxBytes / MAP_ENTRY_BYTES);
    this.#capacity = Math.max(1, n);
  }

  slotOf(key: string): number {
    return this.#slots.get(hash53(key)) ?? -1;
  }

  record(key: string, slot: number): void {
    const h = hash53(key);
    this.#slots.delete(h);
    this.#slots.set(h, slot);
    if (this.#slots.size > this.#capacity) {
      const oldest = this.#slots.keys().next().value as number;
      this.#slots.delete(oldest);
    }
  }

  /** Sessions pinned to a replica that is gone start afresh. */
  forget(slot: number): void {
    for (const [k, s] of this.#slots) if (s === slot) this.#slots.delete(k);
  }

  get size(): number {
    return this.#slots.size;
  }

  /** what the table is accounted to hold */
  get bytes(): number {
    return this.#slots.size * MAP_ENTRY_BYTES;
  }
}

/** A 53-bit hash of a string (two 32-bit multiply-xorshift lanes), exact as a JS number. */
export function hash53(s: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}
