import { lowerIsBetter, type Decision, type Scorer } from '../plugin.js';

/**
 * `least-outstanding-scorer` (alias `least-outstanding`): fewer requests outstanding scores higher.
 *
 *   raw = this router's in-flight requests on the replica;  score = (max − raw) / (max − min) over the survivors
 *
 * Exact and current (the router's own count), so no stale discount. Reads: `Endpoint.inflight`. No parameters.
 */
export class LeastOutstandingScorer implements Scorer {
  readonly type = 'least-outstanding-scorer';
  readonly reads = null;

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c } = d;
    for (let k = 0; k < m; k++) out[pos[k]] = c[pos[k]].inflight;
    lowerIsBetter(d, out, false);
  }
}
