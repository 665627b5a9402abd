import { lowerIsBetter, type Decision, type Scorer } from '../plugin.js';

/**
 * `prefill-backlog-scorer` (alias `prefill-backlog`): the least prefill the request would wait
 * behind, its own uncached part included, scores higher.
 *
 *   raw = pending prefill tokens on the replica + max(0, prompt tokens − blocks held × prompt tokens / prefix blocks)
 *   score = (max − raw) / (max − min) over the survivors
 *
 * One unit (tokens) weighs affinity against load: a hot prefix stays on its replica until the
 * backlog there costs more than recomputing the prefix elsewhere. Without a prefix index every
 * replica is charged the whole prompt. Reads: `Endpoint.pendingPrefill` (the router's own count,
 * never stale) and the approximate prefix index. No parameters.
 */
export class PrefillBacklogScorer implements Scorer {
  readonly type = 'prefill-backlog-scorer';
  readonly reads = 'prefix';

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c, req } = d;
    const known = d.matchPrefix();
    const perBlock = known ? req.promptTokens / req.prefixBlocks : 0;
    const matched = d.matched;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      out[i] = c[i].pendingPrefill + Math.max(0, req.promptTokens - (known ? matched[i] * perBlock : 0));
    }
    lowerIsBetter(d, out, false);
  }
}
