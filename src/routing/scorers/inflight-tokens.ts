import { lowerIsBetter, type Decision, type Scorer } from '../plugin.js';

/**
 * `inflight-tokens-scorer` (alias `inflight-tokens`): fewer prompt + output tokens outstanding scores higher.
 *
 *   raw = this router's in-flight tokens on the replica;  score = (max − raw) / (max − min) over the survivors
 *
 * Reads: `Endpoint.inflightTokens` (the router's own count, never stale). No parameters.
 */
export class InflightTokensScorer implements Scorer {
  readonly type = 'inflight-tokens-scorer';
  readonly reads = null;

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c } = d;
    for (let k = 0; k < m; k++) out[pos[k]] = c[pos[k]].inflightTokens;
    lowerIsBetter(d, out, false);
  }
}
