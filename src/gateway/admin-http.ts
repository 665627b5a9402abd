import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId, type AdminApi, type AdminResponse } from '../api/index.js';
import { fleetAdmin, isFleetAdminPath, isVersionsPath, strayParam, withRequestId, type FleetAdminDeps } from '../api/admin/index.js';
import type { Store } from '../ledger/index.js';
import type { Logger } from '../observe/index.js';
import type { Backend } from './backends.js';
import type { BodyReader } from './body.js';
import type { Replies } from './replies.js';

// The admin API's HTTP side: the caller identified before a byte of the body is read, the body's
// own limit, and the fleet under /admin/v1/fleet, whose changes are written to the audit trail here
// (the admin API writes its own). Every error body names its request id.

/** Admin request bodies are limited to 1 MiB. */
export const ADMIN_BODY_LIMIT = 1024 * 1024;

export interface AdminHttpDeps {
  readonly admin: AdminApi;
  /** the admin audit trail, for fleet changes */
  readonly store: Pick<Store, 'appendAudit'>;
  readonly log: Logger;
  readonly bodies: BodyReader;
  readonly replies: Replies;
  /** what the fleet API acts on */
  fleet(): FleetAdminDeps<Backend>;
  /** a replica was added: a configured model that had none may be served from now on */
  replicaAdded(): void;
}

/**
 * A request under /admin/v1/. An unauthenticated client gets its 401 and its body is dropped
 * (within the same bounds as any early answer).
 */
export async function adminHttp(d: AdminHttpDeps, req: IncomingMessage, res: ServerResponse, method: string, path: string, query: string): Promise<void> {
  const requestId = newRequestId();
  const replies = d.replies;
  try {
    const who = await d.admin.authorize(req.headers);
    if ('status' in who) {
      d.bodies.discard(req);
      return send(d, res, requestId, who);
    }
    const read = await d.bodies.read(req, ADMIN_BODY_LIMIT);
    if (!read.ok) {
      const err = read.reason === 'too_large'
        ? { kind: 'request_too_large' as const, message: `Admin request bodies are limited to ${ADMIN_BODY_LIMIT} bytes (1 MiB).` }
        : d.bodies.refusal(res, read, ADMIN_BODY_LIMIT);
      if (err !== null) replies.sendError(res, 'anthropic', err, requestId);
      return;
    }
    if (isFleetAdminPath(path)) {
      // the fleet routes take no query: a parameter is a mistake to name, not to ignore
      const stray = strayParam(new URLSearchParams(query), []);
      if (stray !== null) return void replies.sendError(res, 'anthropic', { kind: 'invalid_request', message: stray }, requestId);
      return await fleetHttp(d, req, res, method, path, read.body, requestId, who.admin);
    }
    // a failure inside is answered there (a 500 naming this id) and logged by its onError
    send(d, res, requestId, await d.admin.handle(method, path, new URLSearchParams(query), req.headers, read.body, requestId));
  } catch (err) {
    replies.noteInternalError('admin', err, requestId);
    replies.failInternal(res, 'anthropic', requestId);
  }
}

/** The fleet under /admin/v1/fleet: the admin token only (tenant keys must not see the fleet). */
async function fleetHttp(d: AdminHttpDeps, req: IncomingMessage, res: ServerResponse, method: string, path: string, body: Buffer, requestId: string, isAdmin: boolean): Promise<void> {
  if (!isAdmin) {
    return void d.replies.sendError(res, 'anthropic', { kind: 'permission', message: 'The fleet API needs the admin token; tenant keys cannot use it.' }, requestId);
  }
  const actor = method === 'GET' ? 'admin' : d.admin.actor(req.headers);
  if (typeof actor !== 'string') return send(d, res, requestId, actor);
  const out = fleetAdmin(d.fleet(), method, path, body);
  if (out.status === 201 && !isVersionsPath(path)) d.replicaAdded();
  if (out.change !== undefined) {
    const c = out.change;
    // the change is made (in memory) before it is recorded; a lost record is logged, not undone
    try {
      const r = await d.store.appendAudit({ actor, action: c.action, target: c.target, tenantId: null, requestId, before: c.before, after: c.after });
      if (!r.ok) d.log.error({ change: c.action, target: c.target, error: r.error }, 'audit record refused');
    } catch (err) {
      d.log.error({ err, change: c.action, target: c.target }, 'audit record not written');
    }
  }
  send(d, res, requestId, out);
}

function send(d: AdminHttpDeps, res: ServerResponse, requestId: string, out: AdminResponse): void {
  const r = withRequestId(out, requestId);
  d.replies.sendJson(res, 'anthropic', requestId, r.status, r.body, r.headers);
}
