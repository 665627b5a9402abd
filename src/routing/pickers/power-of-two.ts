import { mix, type Decision, type Picker } from '../plugin.js';

/**
 * `power-of-two-picker` (alias `power-of-two`): two distinct survivors drawn at random, the one
 * with the higher weighted score (the first on a tie): never the worst of three or more, and less
 * herding than max-score when the scores lag behind the load (Mitzenmacher's two choices). Reads:
 * `RouteRequest.random` (the second draw is mixed from it). No parameters.
 */
export class PowerOfTwoPicker implements Picker {
  readonly type = 'power-of-two-picker';

  pick(d: Decision, scores: Float64Array): number {
    const { pos, count: m } = d;
    const r = d.req.random;
    const a = Math.floor(r * m);
    const b = (a + 1 + Math.floor(mix(r, 7) * (m - 1))) % m;
    return scores[pos[b]] > scores[pos[a]] ? pos[b] : pos[a];
  }
}
