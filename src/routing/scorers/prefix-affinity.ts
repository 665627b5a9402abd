import type { Decision, Scorer } from '../plugin.js';

/**
 * `prefix-affinity-scorer` (alias `prefix-affinity`): a larger share of the prompt believed cached
 * on the replica scores higher.
 *
 *   score = leading prefix blocks the replica is believed to hold / the prompt's prefix blocks
 *
 * Absolute, not normalised. 0 for all when there is no prefix index or no prefix. Reads: the
 * approximate prefix index (`RoutingState.prefixIndex`, learned from the router's own picks). No parameters.
 */
export class PrefixAffinityScorer implements Scorer {
  readonly type = 'prefix-affinity-scorer';
  readonly reads = 'prefix';

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m } = d;
    if (!d.matchPrefix()) {
      for (let k = 0; k < m; k++) out[pos[k]] = 0;
      return;
    }
    const blocks = d.req.prefixBlocks;
    const matched = d.matched;
    for (let k = 0; k < m; k++) out[pos[k]] = matched[pos[k]] / blocks;
  }
}
