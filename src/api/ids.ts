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

/** `chatcmpl-` + 24 chars, when the replica gave no usable completion id. */
export function newCompletionId(): string {
  return 'chatcmpl-' + nextSuffix();
}

/** `toolu_` + 24 chars, when the replica gave a tool call no id. */
export function newToolUseId(): string {
  return 'toolu_' + nextSuffix();
}
