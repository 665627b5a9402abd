import { lowerIsBetter, type Decision, type Scorer } from '../plugin.js';

/**
 * `queue-depth-scorer` (alias `queue-depth`): a shorter queue scores higher.
 *
 *   raw = waiting + 0.001 × running   (fresh scrape; waiting and running include what was sent since)
 *       = in-flight                    (stale scrape)
 *   score = (max − raw) / (max − min) over the survivors, × 0.5 when stale
 *
 * Running only breaks ties between equal queues. Reads: the scrape (vLLM `num_requests_waiting`,
 * `num_requests_running`) and `Endpoint.inflight`. No parameters.
 */
export class QueueDepthScorer implements Scorer {
  readonly type = 'queue-depth-scorer';
  readonly reads = null;

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c, stale, waiting, load } = d;
    for (let k = 0; k < m; k++) {
      const i = pos[k];
      out[i] = stale[i] ? c[i].inflight : waiting[i] + 0.001 * (load[i] - waiting[i]);
    }
    lowerIsBetter(d, out, true);
  }
}
