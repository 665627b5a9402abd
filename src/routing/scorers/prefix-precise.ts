import type { Decision, Scorer } from '../plugin.js';

/**
 * `prefix-precise-scorer` (alias `prefix-precise`): a larger share of the prompt really cached on
 * the replica scores higher.
 *
 *   score = leading prefix blocks the replica reports holding / the prompt's prefix blocks
 *
 * Absolute, not normalised. 0 for all without reported blocks or a prefix. Reads: the blocks the
 * replicas report (`RoutingState.cachedBlocks`, from their KV events). No parameters.
 */
export class PrefixPreciseScorer implements Scorer {
  readonly type = 'prefix-precise-scorer';
  readonly reads = 'prefix';

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c, req } = d;
    const cached = d.state.cachedBlocks;
    if (cached === null || req.prefixBlocks === 0) {
      for (let k = 0; k < m; k++) out[pos[k]] = 0;
      return;
    }
    const blocks = req.prefixBlocks;
    for (let k = 0; k < m; k++) out[pos[k]] = cached.cachedPrefix(c[pos[k]].slot, req) / blocks;
  }
}
