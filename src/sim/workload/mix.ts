import { saltKey } from './hash.js';
import { MinHeap } from './heap.js';
import { WorkloadError, type Arrival, type Segment, type Workload } from './types.js';

// Several workloads at once, merged by arrival time (ties: the earlier part first), ids numbered
// afresh. Every part numbers its segment keys on its own, so each part's keys are salted with its
// index: two parts never appear to share a prefix, while requests inside one part still do.

interface Head {
  readonly part: number;
  readonly a: Arrival;
}

export interface MixOptions {
  readonly name?: string;
}

export function mix(parts: readonly Workload[], opts: MixOptions = {}): Workload {
  if (parts.length === 0) throw new WorkloadError('mix needs at least one part');
  return new Mix(parts, opts);
}

class Mix implements Workload {
  readonly name: string;
  readonly description: string;
  readonly #parts: readonly Workload[];
  readonly #heads = new MinHeap<Head>((x, y) => x.a.atS < y.a.atS || (x.a.atS === y.a.atS && x.part < y.part));
  #id = 0;

  constructor(parts: readonly Workload[], opts: MixOptions) {
    this.#parts = parts;
    this.name = opts.name ?? 'mix';
    this.description = `mix of ${parts.length}: ${parts.map((p) => p.description).join(' + ')}`;
    parts.forEach((_, i) => this.#pull(i));
  }

  next(): Arrival | null {
    const h = this.#heads.pop();
    if (h === undefined) return null;
    this.#pull(h.part);
    const a = h.a;
    const salt = h.part;
    const segments: Segment[] = new Array(a.segments.length);
    for (let i = 0; i < segments.length; i++) segments[i] = { key: saltKey(a.segments[i].key, salt), length: a.segments[i].length };
    return {
      id: this.#id++, atS: a.atS, tenant: a.tenant, model: a.model, promptLen: a.promptLen, outputLen: a.outputLen,
      segments, outputKey: saltKey(a.outputKey, salt),
      // sessions stay apart too: part i's session s becomes s·parts + i
      session: a.session === null ? null : a.session * this.#parts.length + h.part,
    };
  }

  #pull(part: number): void {
    const a = this.#parts[part].next();
    if (a !== null) this.#heads.push({ part, a });
  }
}
