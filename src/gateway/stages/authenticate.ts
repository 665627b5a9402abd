import type { GatewayError } from '../../api/index.js';
import type { GatewayMetrics } from '../../observe/index.js';
import { AUTH_UNAVAILABLE, extractKey, type AuthContext, type AuthOutcome, type Authenticator } from '../../tenancy/index.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../pipeline.js';

export interface AuthenticateDeps {
  readonly authenticator: Pick<Authenticator, 'authenticate'>;
  readonly metrics: Pick<GatewayMetrics, 'authFailures'>;
}

// the key store did not answer: the key may be fine, so "try again shortly", not 401
const UNAVAILABLE: GatewayError = { kind: 'overloaded', message: 'API keys cannot be checked right now (the key store is not answering); try again shortly.', retryAfterS: 5 };
const NO_KEY: GatewayError = { kind: 'authentication', message: 'No API key: send it in the x-api-key header or as Authorization: Bearer <key>.' };
const BAD_KEY: GatewayError = { kind: 'authentication', message: 'Invalid API key: it is unknown or has been revoked.' };

/** The API key (x-api-key or Authorization: Bearer) → `cx.auth`. Synchronous when the key is cached. */
export function authenticate(d: AuthenticateDeps): Stage {
  function conclude(cx: RequestContext, auth: AuthOutcome, hadKey: boolean): GatewayError | null {
    if (auth === AUTH_UNAVAILABLE) return UNAVAILABLE;
    if (auth === null) {
      d.metrics.authFailures.inc();
      return hadKey ? BAD_KEY : NO_KEY;
    }
    cx.auth = auth as AuthContext;
    return null;
  }
  return (cx) => {
    const secret = extractKey(cx.req.headers);
    if (secret === null) return conclude(cx, null, false);
    const a = d.authenticator.authenticate(secret);
    return a instanceof Promise ? a.then((auth) => conclude(cx, auth, true)) : conclude(cx, a, true);
  };
}
