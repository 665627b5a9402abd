import type { GatewayError } from '../api/index.js';
import type { UpstreamFailure } from './types.js';

/** What a replica's failure means to the client, as the error the client's wire renders. */
export function classify(f: UpstreamFailure, model: string): GatewayError {
  switch (f.kind) {
    case 'connect':
      return { kind: 'upstream', message: `Could not reach a replica of ${model} (${f.message}); try again shortly.` };
    case 'timeout':
      return { kind: 'timeout', message: `The replica of ${model} did not answer in time (${f.phase.replace('_', ' ')} timeout).` };
    case 'broken':
      return { kind: 'upstream', message: `The response from the replica of ${model} broke off: ${f.message}.` };
    case 'status': {
      if (f.status === 400 || f.status === 422) return refusedRequest(f.body);
      const detail = upstreamMessage(f.body);
      // the replica's own retry-after when it asked for longer: SDK backoff then spares it
      if (f.status === 429 || f.status === 503) return { kind: 'overloaded', message: `The replicas of ${model} are overloaded; try again shortly.`, retryAfterS: Math.max(1, f.retryAfterS ?? 1) };
      return { kind: 'upstream', message: `The replica of ${model} failed with status ${f.status}: ${detail}` };
    }
  }
}

/** The human message inside a replica's error body (vLLM's nested or flat shape), or the body. */
export function upstreamMessage(body: string): string {
  return messageOf(parsed(body), body);
}

type ErrorBody = { error?: unknown; message?: unknown; param?: unknown; code?: unknown };

function parsed(body: string): ErrorBody | null {
  try {
    const j: unknown = JSON.parse(body);
    return j !== null && typeof j === 'object' && !Array.isArray(j) ? (j as ErrorBody) : null;
  } catch {
    return null; // not JSON
  }
}

function messageOf(j: ErrorBody | null, body: string): string {
  if (j !== null) {
    const e = j.error as ErrorBody | null | undefined;
    if (typeof e === 'object' && e !== null && typeof e.message === 'string' && e.message) return e.message;
    if (typeof j.error === 'string') return j.error;
    if (typeof j.message === 'string') return j.message;
  }
  return body.slice(0, 500) || 'no detail';
}

/**
 * A request the replica refused (400, 422), in its words and with its `param` and `code` (OpenAI's
 * `context_length_exceeded`, vLLM's `messages`), which clients branch on. Both are the replica's
 * text in the client's error, so only a short printable token is kept; vLLM's numeric code is not one.
 */
function refusedRequest(body: string): GatewayError {
  const j = parsed(body);
  const e = j !== null && typeof j.error === 'object' && j.error !== null ? (j.error as ErrorBody) : j;
  const err: GatewayError & { kind: 'invalid_request' } = { kind: 'invalid_request', message: messageOf(j, body) };
  const param = token(e?.param);
  const code = token(e?.code);
  if (param !== undefined) err.param = param;
  if (code !== undefined) err.code = code;
  // vLLM words a context overflow as OpenAI does but codes it 400: clients that trim their history
  // on OpenAI's code (LangChain, agents) need to see it
  else if (CONTEXT_OVERFLOW.test(err.message)) {
    err.code = 'context_length_exceeded';
    err.param ??= 'messages';
  }
  return err;
}

/** OpenAI's and vLLM's words for a prompt longer than the model's context. */
const CONTEXT_OVERFLOW = /maximum context length is \d+ tokens/i;

const TOKEN = /^[\x21-\x7e]{1,128}$/;

function token(v: unknown): string | undefined {
  return typeof v === 'string' && TOKEN.test(v) ? v : undefined;
}

/** A failure outlier detection counts against the replica: anything but a request it rightly refused (4xx). */
export function blamesReplica(f: UpstreamFailure): boolean {
  return f.kind !== 'status' || f.status >= 500;
}

/**
 * A failure that says the replica cannot be reached at all: passive health takes it out of
 * rotation. A connection dropped before an answer is not one: a single reset (a kept-alive
 * connection closed under a request is the common one) would otherwise take the last replica of a
 * pool out until its next probe, and fail every request meanwhile; outlier detection counts it.
 */
export function unreachable(f: UpstreamFailure): boolean {
  return (f.kind === 'connect' && f.refused) || (f.kind === 'timeout' && f.phase === 'connect');
}
