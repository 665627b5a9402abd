import { hashString } from '../../engine/index.js';
import { mix, type Decision, type Scorer } from '../plugin.js';
import type { ProfileSpec } from '../profile.js';

/**
 * `consistent-hash-scorer` (alias `consistent-hash`): bounded-load rendezvous hashing (Mirrokni et
 * al.). The key is the session key, else the first prefix block. Each survivor's weight is
 * mix(key, slot); the highest-weighted survivor whose load + 1 ≤ cap scores 1, every other 0:
 *
 *   cap = ⌈loadFactor × (total load + 1) / survivors⌉
 *
 * so a key keeps its replica until that replica is too busy. When every survivor is at the cap the
 * plain rendezvous owner scores 1; with no key, all 0. Reads: `RouteRequest.sessionKey`, else the
 * prompt's first prefix hash; estimated load. Parameters: `consistentHash.loadFactor` (1.25).
 */
export class ConsistentHashScorer implements Scorer {
  readonly type = 'consistent-hash-scorer';
  readonly reads = 'prefix';
  readonly #loadFactor: number;

  constructor(p: ProfileSpec) {
    this.#loadFactor = p.consistentHash.loadFactor;
  }

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c, req, load } = d;
    for (let k = 0; k < m; k++) out[pos[k]] = 0;
    const key = req.sessionKey !== null ? hashString(req.sessionKey) / 4294967296 : req.prefixBlocks > 0 ? req.prefix![req.prefixStride - 1] : NaN;
    if (key !== key) return;
    let sum = 0;
    for (let k = 0; k < m; k++) sum += load[pos[k]];
    const cap = Math.ceil(this.#loadFactor * ((sum + 1) / m));
    let best = -1;
    let bestW = -1;
    let anyBest = -1;
    let anyW = -1;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      const w = mix(key, c[i].slot);
      if (w > anyW) {
        anyW = w;
        anyBest = i;
      }
      if (load[i] + 1 <= cap && w > bestW) {
        bestW = w;
        best = i;
      }
    }
    out[best >= 0 ? best : anyBest] = 1;
  }
}
