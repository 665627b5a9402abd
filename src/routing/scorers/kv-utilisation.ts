import { lowerIsBetter, type Decision, type Scorer } from '../plugin.js';

/**
 * `kv-utilisation-scorer` (alias `kv-utilisation`): more free KV cache scores higher.
 *
 *   raw = KV usage in [0, 1] (fresh scrape) or 0.5 (stale);  score = (max − raw) / (max − min), × 0.5 when stale
 *
 * Reads: the scrape (vLLM `kv_cache_usage_perc`). No parameters.
 */
export class KvUtilisationScorer implements Scorer {
  readonly type = 'kv-utilisation-scorer';
  readonly reads = null;

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c, stale } = d;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      out[i] = stale[i] ? 0.5 : c[i].scraped!.kvUsage;
    }
    lowerIsBetter(d, out, true);
  }
}
