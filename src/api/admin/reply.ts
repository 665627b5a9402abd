// What the admin API answers with, and its errors in Anthropic's envelope. Content-type is the
// caller's to set (always application/json).

export interface AdminResponse {
  status: number;
  body: string;
  /** extra headers: `allow` on 405, `cache-control: no-store` when a secret is in the body */
  headers?: Record<string, string>;
}

export type AdminErrorType = 'invalid_request_error' | 'authentication_error' | 'permission_error' | 'not_found_error' | 'api_error';

export function error(status: number, type: AdminErrorType, message: string, headers?: Record<string, string>): AdminResponse {
  const body = JSON.stringify({ type: 'error', error: { type, message } });
  return headers ? { status, body, headers } : { status, body };
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
  const message = requestId === null ? 'internal error; the server log has the details' : `internal error; the server log has the details under request id ${requestId}`;
  return { status: 500, body: JSON.stringify({ type: 'error', error: { type: 'api_error', message }, request_id: requestId }) };
}

export function ok(status: number, value: unknown, headers?: Record<string, string>): AdminResponse {
  const body = JSON.stringify(value);
  return headers ? { status, body, headers } : { status, body };
}
