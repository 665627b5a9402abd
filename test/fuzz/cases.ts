// What one fuzz case is: one or more HTTP requests with the answer each must get. Shared by the
// specs and `bench/fuzz` (which transpiles this folder), so it imports nothing from src/.

/** ok: a 2xx (a stream ends with its final event); reject: a 4xx in the path's envelope; any: either. */
export type Expect = 'ok' | 'reject' | 'any';
/** Which envelope an error must come in: Anthropic's (also the admin API's) or OpenAI's. */
export type Envelope = 'anthropic' | 'openai';
/** What a success must look like. */
export type Shape = 'message' | 'message-stream' | 'count' | 'chat' | 'chat-stream' | 'json';

export interface Step {
  method: string;
  /** may hold {{tenant}}, {{workspace}}, {{key}}, {{replica}}, {{replicaId}}, {{replicaUrl}}, {{uniq}}, {{added}} */
  path: string;
  /** `authorization`/`x-api-key` come from `auth` unless set here */
  headers: Record<string, string>;
  /** who the request is from: a tenant API key, the admin token, or nobody */
  auth: 'key' | 'admin' | 'none';
  body?: string | Uint8Array;
  expect: Expect;
  envelope: Envelope;
  shape: Shape;
}

export interface Case {
  /** the generator that made it, for the report */
  family: string;
  /** what is odd about it, one phrase */
  note: string;
  steps: Step[];
}

/** A JSON token written verbatim (`1e400`, `NaN`), for bodies JSON.stringify cannot produce. */
export class Raw {
  constructor(readonly text: string) {}
}

const MARK = '\u0000raw:';

/** JSON.stringify, except that Raw values are spliced in as written. */
export function toJson(v: unknown): string {
  const raws: string[] = [];
  const s = JSON.stringify(v, (_k, x) => (x instanceof Raw ? MARK + (raws.push(x.text) - 1) : x));
  if (raws.length === 0) return s;
  return s.replace(/"\\u0000raw:(\d+)"/g, (_m, i: string) => raws[Number(i)]);
}

/** `{"a":{"a":…1…}}` or `[[[…]]]`, built without recursion so any depth is cheap to make. */
export function nested(depth: number, kind: 'object' | 'array', leaf = '1'): Raw {
  const open = kind === 'object' ? '{"a":' : '[';
  const close = kind === 'object' ? '}' : ']';
  return new Raw(open.repeat(depth) + leaf + close.repeat(depth));
}

export const step = (s: Partial<Step> & Pick<Step, 'method' | 'path' | 'expect' | 'envelope' | 'shape'>): Step => ({ headers: {}, auth: 'key', ...s });

/** Placeholder values a rig fills in before sending (`replica` %-encoded for paths, `replicaId` raw). */
export type Slots = Record<'tenant' | 'workspace' | 'key' | 'replica' | 'replicaId' | 'replicaUrl' | 'uniq', string>;

export function fill(text: string, slots: Slots): string {
  return text.indexOf('{{') === -1 ? text : text.replace(/\{\{(\w+)\}\}/g, (m, k: string) => (k in slots ? slots[k as keyof Slots] : m));
}
