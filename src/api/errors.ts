// One mapping from GatewayError to each wire's status and envelope. The constant head of every
// body is serialized once; only the message (and request id) is spliced in per error.
import type { GatewayError, Wire, WireError } from './types.js';

type ErrorKind = GatewayError['kind'];

interface Shape {
  status: number;
  /** Anthropic `error.type` */
  anthropicType: string;
  /** OpenAI `error.type` and `error.code` */
  openaiType: string;
  openaiCode: string | null;
}

const SHAPES: Record<ErrorKind, Shape> = {
  invalid_request: { status: 400, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error', openaiCode: null },
  authentication: { status: 401, anthropicType: 'authentication_error', openaiType: 'invalid_request_error', openaiCode: 'invalid_api_key' },
  permission: { status: 403, anthropicType: 'permission_error', openaiType: 'invalid_request_error', openaiCode: 'permission_denied' },
  not_found: { status: 404, anthropicType: 'not_found_error', openaiType: 'invalid_request_error', openaiCode: null },
  method_not_allowed: { status: 405, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error', openaiCode: null },
  request_too_large: { status: 413, anthropicType: 'request_too_large', openaiType: 'invalid_request_error', openaiCode: 'request_too_large' },
  // a body in a Content-Encoding the gateway cannot decode (RFC 9110 §15.5.16)
  unsupported_media_type: { status: 415, anthropicType: 'invalid_request_error', openaiType: 'invalid_request_error', openaiCode: null },
  // Anthropic answers a reached usage limit with 400; OpenAI with 429 insufficient_quota (statusOf)
  spend_limited: { status: 400, anthropicType: 'invalid_request_error', openaiType: 'insufficient_quota', openaiCode: 'insufficient_quota' },
  rate_limited: { status: 429, anthropicType: 'rate_limit_error', openaiType: 'rate_limit_error', openaiCode: 'rate_limit_exceeded' },
  // 529 is Anthropic's own "overloaded"; OpenAI clients know 503. Both SDKs retry either.
  overloaded: { status: 529, anthropicType: 'overloaded_error', openaiType: 'server_error', openaiCode: 'overloaded' },
  timeout: { status: 504, anthropicType: 'timeout_error', openaiType: 'server_error', openaiCode: 'timeout' },
  request_timeout: { status: 408, anthropicType: 'timeout_error', openaiType: 'invalid_request_error', openaiCode: 'request_timeout' },
  upstream: { status: 502, anthropicType: 'api_error', openaiType: 'server_error', openaiCode: null },
  internal: { status: 500, anthropicType: 'api_error', openaiType: 'server_error', openaiCode: null },
};

function precompute<T>(f: (s: Shape) => T): Record<ErrorKind, T> {
  const out = {} as Record<ErrorKind, T>;
  for (const k of Object.keys(SHAPES) as ErrorKind[]) out[k] = f(SHAPES[k]);
  return out;
}

/** `{"type":"error","error":{"type":"…","message":` */
const ANTHROPIC_HEAD = precompute((s) => '{"type":"error","error":{"type":' + JSON.stringify(s.anthropicType) + ',"message":');
/** `","type":"…","param":` — what follows the message in an OpenAI error */
const OPENAI_TYPE = precompute((s) => ',"type":' + JSON.stringify(s.openaiType) + ',"param":');
const OPENAI_CODE = precompute((s) => ',"code":' + JSON.stringify(s.openaiCode) + '}}');
const MODEL_NOT_FOUND_CODE = ',"code":"model_not_found"}}';

/** The Anthropic error body: `{"type":"error","error":{type,message},"request_id"}`. */
export function anthropicErrorBody(e: GatewayError, requestId: string): string {
  return ANTHROPIC_HEAD[e.kind] + JSON.stringify(e.message) + '},"request_id":' + JSON.stringify(requestId) + '}';
}

/** The OpenAI error body: `{"error":{message,type,param,code}}`. */
export function openaiErrorBody(e: GatewayError): string {
  const param = 'param' in e && e.param !== undefined ? e.param : null;
  // An unknown model is OpenAI's `model_not_found`; an unknown path or object keeps code null. A
  // request a replica refused keeps the replica's code.
  const code = e.kind === 'not_found' && param === 'model' ? MODEL_NOT_FOUND_CODE
    : e.kind === 'invalid_request' && e.code !== undefined ? ',"code":' + JSON.stringify(e.code) + '}}'
      : OPENAI_CODE[e.kind];
  return '{"error":{"message":' + JSON.stringify(e.message) + OPENAI_TYPE[e.kind] + JSON.stringify(param) + code;
}

/** HTTP status for an error on a wire (overloaded: Anthropic 529, OpenAI 503). */
export function statusOf(wire: Wire, e: GatewayError): number {
  if (wire === 'openai') {
    if (e.kind === 'overloaded') return 503;
    if (e.kind === 'spend_limited') return 429;
  }
  return SHAPES[e.kind].status;
}

/** Status, JSON body and extra headers (retry-after) for an error before the response began. */
export function renderError(wire: Wire, e: GatewayError, requestId: string): WireError {
  const headers: Record<string, string> = {};
  const retryAfterS = e.kind === 'rate_limited' ? e.retryAfterS : e.kind === 'overloaded' ? e.retryAfterS ?? null : null;
  // Whole seconds, at least 1: a 0 would invite an immediate retry storm.
  if (retryAfterS !== null) headers['retry-after'] = String(Math.max(1, Math.ceil(retryAfterS)));
  // both SDKs would retry a 429; a spent budget does not come back in seconds, and a request over a
  // whole minute's limit never gets in
  if (e.kind === 'spend_limited' || (e.kind === 'rate_limited' && e.retryAfterS === null)) headers['x-should-retry'] = 'false';
  return {
    status: statusOf(wire, e),
    body: wire === 'anthropic' ? anthropicErrorBody(e, requestId) : openaiErrorBody(e),
    headers,
  };
}
