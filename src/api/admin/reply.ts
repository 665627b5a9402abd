// What the admin API answers with, and its errors in Anthropic's envelope, which names the request
// as the inference errors do (`request_id`: null where the id is not known here; the HTTP side
// stamps it in). Content-type is the caller's to set (always application/json). The fleet routes
// (fleet.ts) answer in the same envelope.

export interface AdminResponse {
  status: number;
  body: string;
  /** extra headers: `allow` on 405, `cache-control: no-store` when a secret is in the body */
  headers?: Record<string, string>;
}

export type AdminErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'api_error';

/** What ends every error body until its request id is known. */
const NO_ID = ',"request_id":null}';

export function error(status: number, type: AdminErrorType, message: string, headers?: Record<string, string>): AdminResponse {
  const body = '{"type":"error","error":{"type":' + JSON.stringify(type) + ',"message":' + JSON.stringify(message) + '}' + NO_ID;
  return headers ? { status, body, headers } : { status, body };
}

/** The response with its error body (if it is one) naming `requestId`. */
export function withRequestId(r: AdminResponse, requestId: string): AdminResponse {
  if (r.status < 400 || !r.body.endsWith(NO_ID)) return r;
  const body = r.body.slice(0, -NO_ID.length) + ',"request_id":' + JSON.stringify(requestId) + '}';
  return r.headers ? { status: r.status, body, headers: r.headers } : { status: r.status, body };
}

export const badRequest = (message: string): AdminResponse => error(400, 'invalid_request_error', message);
export const unauthorized = (message: string): AdminResponse => error(401, 'authentication_error', message);
export const forbidden = (message: string): AdminResponse => error(403, 'permission_error', message);
export const notFound = (message: string): AdminResponse => error(404, 'not_found_error', message);
export const conflict = (message: string): AdminResponse => error(409, 'invalid_request_error', message);

export function methodNotAllowed(method: string, allow: readonly string[]): AdminResponse {
  return error(405, 'invalid_request_error', `${method} is not allowed here; use ${allow.join(' or ')}`, { allow: allow.join(', ') });
}

/** A failure inside the server: no detail (it may be a store's), only the id the log has it under. */
export function internal(requestId: string | null): AdminResponse {
  if (requestId === null) return error(500, 'api_error', 'internal error; the server log has the details');
  return withRequestId(error(500, 'api_error', `internal error; the server log has the details under request id ${requestId}`), requestId);
}

export function ok(status: number, value: unknown, headers?: Record<string, string>): AdminResponse {
  const body = JSON.stringify(value);
  return headers ? { status, body, headers } : { status, body };
}
