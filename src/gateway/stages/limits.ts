import type { GatewayError } from '../../api/index.js';
import type { RequestContext } from '../context.js';
import type { LimitVerdict, RateLimits } from '../rate-limits.js';
import type { Stage } from '../pipeline.js';

function conclude(cx: RequestContext, v: LimitVerdict): GatewayError | null {
  if (!v.ok) return v.error;
  cx.reservation = v.reservation;
  return null;
}

/**
 * Reserves the request's share of its tier's rate limits → `cx.reservation` (and sets the
 * rate-limit headers onto `cx.heads`, refused or not). Synchronous on the in-memory limiter.
 */
export function rateLimit(d: { readonly rateLimits: Pick<RateLimits, 'admit'> }): Stage {
  return (cx) => {
    const ireq = cx.ireq!;
    const v = d.rateLimits.admit(cx.res, cx.wire, cx.auth!, cx.tier!, ireq, cx.entry!.config, cx.body!.length, cx.heads);
    return v instanceof Promise ? v.then((r) => conclude(cx, r)) : conclude(cx, v);
  };
}
