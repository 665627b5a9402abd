// Identifiers the gateway hands out. A random prefix drawn once per process plus a counter gives
// ids that are unique across restarts (the prefix carries ~71 bits) without a crypto call per request.
import { randomBytes } from 'node:crypto';

const B62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const PREFIX_LEN = 12;
const COUNTER_LEN = 12;

function randomB62(n: number): string {
  const bytes = randomBytes(n);
  let s = '';
  // byte % 62 favours the first 8 characters slightly (256 = 4·62 + 8); harmless for an id.
  for (let i = 0; i < n; i++) s += B62[bytes[i] % 62];
  return s;
}

const prefix = randomB62(PREFIX_LEN);
let counter = 0;

/** 24 base62 characters: the process prefix, then the counter, fixed width. */
function nextSuffix(): string {
  let n = ++counter;
  let tail = '';
  for (let i = 0; i < COUNTER_LEN; i++) {
    tail = B62[n % 62] + tail;
    n = Math.floor(n / 62);
  }
  return prefix + tail;
}

/** `req_` + 24 chars, the `request-id` header and error `request_id`. */
export function newRequestId(): string {
  return 'req_' + nextSuffix();
}

/** `msg_` + 24 chars, an Anthropic message id. */
export function newMessageId(): string {
  return 'msg_' + nextSuffix();
}

/** `chatcmpl-` + 24 chars: the gateway's own completion id, never the replica's. */
export function newCompletionId(): string {
  return 'chatcmpl-' + nextSuffix();
}

/** `toolu_` + 24 chars, an Anthropic tool_use id. */
function newToolUseId(): string {
  return 'toolu_' + nextSuffix();
}

/** `call_` + 24 chars, an OpenAI tool call id. */
function newToolCallId(): string {
  return 'call_' + nextSuffix();
}

/**
 * A replica's tool call id as an Anthropic client expects it: an id that is already `toolu_…`
 * (an Anthropic upstream, or one the client sent back) is kept; a foreign one (vLLM's
 * `chatcmpl-tool-…`, `call_…`) or none is replaced by a fresh one.
 */
export function toolUseIdFor(upstreamId: string | undefined | null): string {
  return typeof upstreamId === 'string' && upstreamId.startsWith('toolu_') ? upstreamId : newToolUseId();
}

/** The same for an OpenAI client: `call_…` is kept, anything else replaced. */
export function toolCallIdFor(upstreamId: string | undefined | null): string {
  return typeof upstreamId === 'string' && upstreamId.startsWith('call_') ? upstreamId : newToolCallId();
}
