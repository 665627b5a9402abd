import type { ServerResponse } from 'node:http';

// vLLM's wire details that every endpoint shares: the nested error body with an integer code
// (`{"error":{"message","type","param","code":<status>}}`), JSON and SSE headers, FastAPI's bare 404.

/** An HTTP failure as a value; only `sendError` turns it into bytes. */
export interface HttpError {
  status: number;
  message: string;
  param?: string | null;
}

export type RequestParse<T> = { ok: true; value: T } | { ok: false; error: HttpError };

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  405: 'MethodNotAllowedError',
  413: 'RequestEntityTooLargeError',
  500: 'InternalServerError',
  503: 'ServiceUnavailableError',
};

export function errorBody(e: HttpError): string {
  return JSON.stringify({ error: { message: e.message, type: ERROR_TYPES[e.status] ?? 'Error', param: e.param ?? null, code: e.status } });
}

export function badRequest(message: string, param: string | null = null): { ok: false; error: HttpError } {
  return { ok: false, error: { status: 400, message, param } };
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' } as const;
export const SSE_DONE = 'data: [DONE]\n\n';
const NOT_FOUND = '{"detail":"Not Found"}';

export function sendJson(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, JSON_HEADERS);
  res.end(body);
}

export function sendError(res: ServerResponse, e: HttpError): void {
  sendJson(res, e.status, errorBody(e));
}

/** FastAPI's answer for a path no route matches. */
export function sendNotFound(res: ServerResponse): void {
  sendJson(res, 404, NOT_FOUND);
}
