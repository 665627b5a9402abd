import type { Decision, Picker } from '../plugin.js';

/**
 * `max-score-picker` (alias `max-score`): the survivor with the highest weighted score. Scores
 * within 1e-12 are equal, and equals go to a random one of them: the scan starts at a random
 * survivor and only a strictly higher score replaces the best. Reads: `RouteRequest.random`. No parameters.
 */
export class MaxScorePicker implements Picker {
  readonly type = 'max-score-picker';

  pick(d: Decision, scores: Float64Array): number {
    const { pos, count: m } = d;
    const start = Math.floor(d.req.random * m);
    let best = pos[start];
    let bestScore = scores[best];
    for (let j = 1; j < m; j++) {
      const k = start + j < m ? start + j : start + j - m;
      const s = scores[pos[k]];
      if (s > bestScore + 1e-12) {
        bestScore = s;
        best = pos[k];
      }
    }
    return best;
  }
}
