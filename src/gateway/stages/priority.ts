import { deadlineMs, isPriority, PRIORITIES, type AdmissionPolicy } from '../../admission/index.js';
import type { GatewayError } from '../../api/index.js';
import type { RequestContext } from '../context.js';
import type { RateLimits } from '../rate-limits.js';
import type { Stage } from '../pipeline.js';

const DEADLINE_RE = /^[1-9]\d{0,8}$/;

export interface PriorityDeps {
  readonly rateLimits: Pick<RateLimits, 'tierOf'>;
  /** each priority's deadline */
  readonly admission: Pick<AdmissionPolicy, 'classes'>;
}

/**
 * The key's tier → `cx.tier`, then the request's priority and deadline. Its key's priority (or its
 * tier's) unless the request asks for a lower one in `x-switchyard-priority` (a request cannot
 * raise itself: the answer's header says what it got); its class's deadline unless
 * `x-switchyard-deadline-ms` asks for less.
 */
export function priorityAndDeadline(d: PriorityDeps): Stage {
  return (cx: RequestContext): GatewayError | null => {
    cx.phase = 'limits';
    const auth = cx.auth!;
    const tier = cx.tier = d.rateLimits.tierOf(auth);
    const own = auth.priority ?? tier.priority;
    let priority = own;
    const h = cx.req.headers;
    const p = h['x-switchyard-priority'];
    if (p !== undefined) {
      if (!isPriority(p)) return { kind: 'invalid_request', message: `x-switchyard-priority: "${String(p)}" is not a priority; use one of ${PRIORITIES.join(', ')}` };
      if (PRIORITIES.indexOf(p) > PRIORITIES.indexOf(own)) priority = p;
    }
    const dl = h['x-switchyard-deadline-ms'];
    if (dl !== undefined && (typeof dl !== 'string' || !DEADLINE_RE.test(dl))) {
      return { kind: 'invalid_request', message: `x-switchyard-deadline-ms: "${String(dl)}" must be a whole number of milliseconds, at least 1` };
    }
    cx.priority = priority;
    cx.deadlineMs = deadlineMs(d.admission, priority, dl === undefined ? null : Number(dl));
    return null;
  };
}
