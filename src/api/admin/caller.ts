import { createHash, timingSafeEqual } from 'node:crypto';
import { AUTH_UNAVAILABLE, bearer, extractKey, type AuthContext, type AuthOutcome, type Authenticator, type HeaderBag } from '../../tenancy/index.js';
import { badRequest, error, unauthorized, type AdminResponse } from './reply.js';

// Who is asking. The admin token (Bearer or x-admin-token) may do everything; a tenant's own API
// key may read its own tenant. The token is compared as sha256 digests with timingSafeEqual, so
// neither its content nor its length leaks through timing.

export type Caller = { admin: true } | { admin: false; auth: AuthContext };

const ADMIN: Caller = Object.freeze({ admin: true });

const NO_CREDENTIALS = unauthorized(
  'missing credentials: send the admin token as `Authorization: Bearer <token>` or `x-admin-token`, or a tenant API key as `x-api-key`',
);
const BAD_ADMIN_TOKEN = unauthorized('invalid admin token');
const NO_ADMIN_TOKEN = unauthorized('this server has no admin token configured, so only tenant API keys are accepted (read-only); set one to administer tenants');
const BAD_CREDENTIALS = unauthorized('invalid admin token or API key');
// the key store did not answer in time: the key may be fine, so not a 401
const CANNOT_CHECK = error(503, 'api_error', 'API keys cannot be checked right now (the key store is not answering); try again shortly', { 'retry-after': '5' });

export interface CallerCheck {
  identify(headers: HeaderBag): AdminResponse | Caller | Promise<AdminResponse | Caller>;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export function callerCheck(authenticator: Authenticator, adminToken: string | null): CallerCheck {
  const tokenDigest = adminToken ? digest(adminToken) : null;
  const isAdmin = (candidate: string): boolean => tokenDigest !== null && timingSafeEqual(digest(candidate), tokenDigest);

  return {
    identify(headers) {
      let x = headers['x-admin-token'];
      if (Array.isArray(x)) x = x[0];
      if (x !== undefined) {
        if (tokenDigest === null) return NO_ADMIN_TOKEN;
        return isAdmin(x.trim()) ? ADMIN : BAD_ADMIN_TOKEN;
      }
      const b = bearer(headers.authorization);
      if (b !== null && isAdmin(b)) return ADMIN;
      const key = extractKey(headers);
      if (key === null) return NO_CREDENTIALS;
      const auth = authenticator.authenticate(key);
      if (auth instanceof Promise) return auth.then(tenantCaller);
      return tenantCaller(auth);
    },
  };
}

function tenantCaller(auth: AuthOutcome): AdminResponse | Caller {
  if (auth === AUTH_UNAVAILABLE) return CANNOT_CHECK;
  return auth === null ? BAD_CREDENTIALS : { admin: false, auth: auth as AuthContext };
}

export const ACTOR_HEADER = 'x-switchyard-actor';
const MAX_ACTOR = 200;

/**
 * Who the audit trail names for a change made with the admin token: `admin`, or `admin:<name>`
 * when the request says whose hands are on it (`x-switchyard-actor: alice`, a tool's name…). The
 * token is shared, so the name is the caller's word, recorded as given; it is not authentication.
 */
export function actorOf(headers: HeaderBag): { ok: true; actor: string } | { ok: false; reply: AdminResponse } {
  let v = headers[ACTOR_HEADER];
  if (Array.isArray(v)) v = v[0];
  const name = v?.trim() ?? '';
  if (name === '') return { ok: true, actor: 'admin' };
  if (name.length > MAX_ACTOR) return { ok: false, reply: badRequest(`${ACTOR_HEADER}: at most ${MAX_ACTOR} characters, got ${name.length}`) };
  return { ok: true, actor: 'admin:' + name };
}
