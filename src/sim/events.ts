// The simulator's agenda: a binary min-heap of events by virtual time, ties broken by the order
// they were scheduled, so a run is a pure function of its inputs (no two runs order a tie apart).

export interface SimEvent<K> {
  readonly t: number;
  readonly seq: number;
  readonly kind: K;
  readonly target: number;
  /** events scheduled with a stamp are dropped when their target's stamp has moved on */
  readonly stamp: number;
}

export class Agenda<K> {
  #heap: SimEvent<K>[] = [];
  #seq = 0;

  get size(): number {
    return this.#heap.length;
  }

  at(t: number, kind: K, target = -1, stamp = 0): void {
    if (!(t >= 0) || t === Infinity) throw new RangeError(`event time must be finite and ≥ 0, got ${t}`);
    const h = this.#heap;
    const e: SimEvent<K> = { t, seq: this.#seq++, kind, target, stamp };
    let i = h.length;
    h.push(e);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(e, h[p])) break;
      h[i] = h[p];
      i = p;
    }
    h[i] = e;
  }

  peekTime(): number {
    return this.#heap.length > 0 ? this.#heap[0].t : Infinity;
  }

  pop(): SimEvent<K> | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      let i = 0;
      const n = h.length;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(h[r], h[l]) ? r : l;
        if (!before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

function before<K>(a: SimEvent<K>, b: SimEvent<K>): boolean {
  return a.t < b.t || (a.t === b.t && a.seq < b.seq);
}
