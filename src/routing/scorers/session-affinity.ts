import type { Decision, Scorer } from '../plugin.js';

/**
 * `session-affinity-scorer` (alias `session-affinity`): the replica that served the request's
 * session last scores 1, every other 0 (all 0 without a session key or session table).
 *
 * Reads: `RouteRequest.sessionKey` and the session table (`RoutingState.sessions`). No parameters.
 */
export class SessionAffinityScorer implements Scorer {
  readonly type = 'session-affinity-scorer';
  readonly reads = 'session';

  score(d: Decision, out: Float64Array): void {
    const { pos, count: m, candidates: c } = d;
    const sessions = d.state.sessions;
    const key = d.req.sessionKey;
    const slot = sessions === null || key === null ? -1 : sessions.slotOf(key);
    for (let k = 0; k < m; k++) out[pos[k]] = slot >= 0 && c[pos[k]].slot === slot ? 1 : 0;
  }
}
