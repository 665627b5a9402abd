import type { Store } from '../../ledger/index.js';
import type { Authenticator, HeaderBag } from '../../tenancy/index.js';
import { createAutoscalerRoutes, isAutoscalerPath, type AutoscalerView } from './autoscaler.js';
import { isCostsPath, type CostsHandler } from './costs.js';
import { actorOf, callerCheck, type Caller } from './caller.js';
import { ALLOW, match } from './match.js';
import { forbidden, internal, methodNotAllowed, notFound, type AdminResponse } from './reply.js';
import { createRollouts, isRolloutPath, type RolloutControl } from './rollouts.js';
import { createRoutes } from './routes.js';

// The admin API under /admin/v1/: tenants, workspaces, keys, usage, the audit trail, and rollouts
// (rollouts.ts: the admin token only, over the gateway's rollout service). The admin
// token may do anything; a tenant's own key may read its own tenant and nothing else. A tenant
// asking about another tenant (or another tenant's key) gets the very answer a missing one gets, so
// ids cannot be probed; a tenant asking to change anything gets 403 before any look-up, for the
// same reason. Every change is written to the audit trail with its actor (`admin`, or
// `admin:<name>` from `x-switchyard-actor`), in the same transaction as the change. docs/admin.md
// is the reference.

export type { AdminResponse } from './reply.js';
export type { Caller } from './caller.js';
export type { RolloutControl, RolloutView, Who } from './rollouts.js';
export type { AutoscalerStatus, AutoscalerView, PoolStatus } from './autoscaler.js';

export interface AdminApiOptions {
  store: Store;
  authenticator: Authenticator;
  /** null: no admin token, tenant keys only */
  adminToken: string | null;
  /** the configured tier names: a tenant created or changed with another tier is refused (400); absent, any name */
  tiers?: readonly string[];
  /** the configured regions, for the same check of a tenant's allowed_regions */
  regions?: readonly string[];
  /** the gateway's rollout service, for /admin/v1/rollouts; absent, those routes answer 404 */
  rollouts?: RolloutControl | null;
  /** the gateway's autoscaler, for /admin/v1/autoscaler; absent, it answers that the autoscaler is off */
  autoscaler?: AutoscalerView | null;
  /** /admin/v1/costs and /costs/live (costs.ts's createCostRoutes); absent, they answer 404 */
  costs?: CostsHandler | null;
  /** more read-only routes (/admin/v1/slo, the dashboard's), each deciding who may read it; asked in order before the tenant routes */
  views?: readonly AdminView[];
  /**
   * Anything that throws while a request is handled (a store failure, a bug): answered as a 500
   * that names the request id and nothing else, so this is where the stack reaches the log.
   */
  onError: (err: Error, requestId: string | null) => void;
}

/** A read-only admin route served beside the built-in ones. */
export interface AdminView {
  /** whether it serves the path (then it answers every method: 405 for all but GET) */
  matches(pathname: string): boolean;
  /** the answer; a tenant key's caller sees only its own tenant's data, or 403/404 */
  handle(caller: Caller, method: string, pathname: string, query: URLSearchParams): AdminResponse | Promise<AdminResponse>;
}

export interface AdminApi {
  /**
   * Who is calling, for admin routes served elsewhere (the gateway's fleet view): the caller
   * (`{admin: true}` or `{admin: false, auth}`), or the 401 to send as is.
   */
  authorize(headers: HeaderBag): Promise<Caller | AdminResponse>;
  /**
   * Who the audit trail names for a change the admin token makes elsewhere (the gateway's fleet
   * routes): `admin` or `admin:<x-switchyard-actor>`, or the 400 to send as is. Such a change is
   * recorded with `store.appendAudit({ actor, action: 'fleet.replica.drain', target, before, after })`.
   */
  actor(headers: HeaderBag): string | AdminResponse;
  /** `requestId`: the id the response carries, named in a 500's body and handed to onError */
  handle(method: string, pathname: string, query: URLSearchParams, headers: HeaderBag, body: Buffer, requestId?: string): Promise<AdminResponse>;
}

const READ_ONLY = forbidden('tenant API keys have read-only access to the admin API; use the admin token to make changes');

export function createAdminApi(opts: AdminApiOptions): AdminApi {
  const callers = callerCheck(opts.authenticator, opts.adminToken);
  const onError = opts.onError;
  const route = createRoutes(opts.store, opts.authenticator, opts.tiers, opts.regions);
  const rollouts = createRollouts(opts.rollouts ?? null);
  const autoscaler = createAutoscalerRoutes(opts.autoscaler ?? null);
  const costs = opts.costs ?? null;
  const views = opts.views ?? [];

  return {
    async authorize(headers) {
      return callers.identify(headers);
    },
    actor(headers) {
      const a = actorOf(headers);
      return a.ok ? a.actor : a.reply;
    },
    // Order matters: who (401), where (404/405), may they (403), who says they are acting (400),
    // then the route's own answer.
    async handle(method, pathname, query, headers, body, requestId) {
      try {
        const who = await callers.identify(headers);
        if ('status' in who) return who;
        if (isRolloutPath(pathname)) {
          // admin token only: rollouts.ts checks the caller after the route (404/405 first, then 403)
          if (method === 'GET' || !who.admin) return await rollouts(who, method, pathname, query, body, null);
          const actor = actorOf(headers);
          if (!actor.ok) return actor.reply;
          return await rollouts(who, method, pathname, query, body, requestId === undefined ? { actor: actor.actor } : { actor: actor.actor, requestId });
        }
        // read-only, admin token only (checked after the route, as for rollouts)
        if (isAutoscalerPath(pathname)) return autoscaler(who, method, pathname, query);
        if (costs !== null && isCostsPath(pathname)) return await costs(who, method, pathname, query);
        for (const v of views) if (v.matches(pathname)) return await v.handle(who, method, pathname, query);
        const m = match(pathname);
        if (m === null) return notFound(`no admin route ${pathname}; see /admin/v1/tenants`);
        if (!ALLOW[m.route].includes(method)) return methodNotAllowed(method, ALLOW[m.route]);
        if (method === 'GET') return await route(who, method, m.route, m.id, query, body, null);
        if (!who.admin) return READ_ONLY;
        const actor = actorOf(headers);
        if (!actor.ok) return actor.reply;
        return await route(who, method, m.route, m.id, query, body, { actor: actor.actor });
      } catch (err) {
        onError(err instanceof Error ? err : new Error(String(err)), requestId ?? null);
        return internal(requestId ?? null);
      }
    },
  };
}
