import type { Envelope, Shape, Step } from './cases.js';

// Whether an answer is the one a step must get. Returns null when it is, else what is wrong.

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function parse(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** Anthropic: {"type":"error","error":{"type","message"}}; OpenAI: {"error":{"message","type","param","code"}}. */
export function envelopeProblem(envelope: Envelope, a: Answer): string | null {
  const ct = String(a.headers['content-type'] ?? '');
  if (!ct.includes('application/json')) return `error without content-type: application/json (got "${ct}")`;
  const j = parse(a.body);
  if (!isObj(j) || !isObj(j.error)) return `error body is not an ${envelope} error envelope: ${a.body.slice(0, 200)}`;
  const e = j.error;
  if (typeof e.message !== 'string' || typeof e.type !== 'string') return `error envelope lacks a string type and message: ${a.body.slice(0, 200)}`;
  if (envelope === 'anthropic') {
    if (j.type !== 'error') return `Anthropic error body without "type":"error": ${a.body.slice(0, 200)}`;
  } else {
    const pc = (v: unknown) => v === null || typeof v === 'string';
    if (!('param' in e) || !('code' in e) || !pc(e.param) || !pc(e.code)) return `OpenAI error without param and code (string or null): ${a.body.slice(0, 200)}`;
  }
  return null;
}

/** The SSE events of an Anthropic stream, in order. */
function anthropicEvents(body: string): string[] {
  const out: string[] = [];
  for (const line of body.split('\n')) if (line.startsWith('event: ')) out.push(line.slice(7).trim());
  return out;
}

export function successProblem(shape: Shape, a: Answer): string | null {
  switch (shape) {
    case 'message-stream': {
      const ev = anthropicEvents(a.body);
      if (ev[0] !== 'message_start') return `stream does not begin with message_start: ${ev.slice(0, 3).join(', ')}`;
      if (ev.includes('error')) return `stream carries an error event: ${errorLine(a.body)}`;
      if (ev[ev.length - 1] !== 'message_stop') return `stream does not end with message_stop (last: ${ev[ev.length - 1]})`;
      for (const line of a.body.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const j = parse(line.slice(6));
        if (!isObj(j)) return `stream event is not JSON: ${line.slice(0, 200)}`;
        if (j.type === 'message_start' && !(isObj(j.message) && String(j.message.id).startsWith('msg_'))) return `message_start id is not msg_…: ${line.slice(0, 200)}`;
        const cb = j.content_block;
        if (isObj(cb) && cb.type === 'tool_use' && !String(cb.id).startsWith('toolu_')) return `tool_use id is not toolu_…: ${line.slice(0, 200)}`;
      }
      return null;
    }
    case 'chat-stream': {
      const data = a.body.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6).trim());
      if (data[data.length - 1] !== '[DONE]') return `stream does not end with data: [DONE]`;
      for (const d of data.slice(0, -1)) {
        const j = parse(d);
        if (!isObj(j)) return `stream chunk is not JSON: ${d.slice(0, 200)}`;
        if ('error' in j) return `stream carries an error: ${d.slice(0, 300)}`;
        // nothing replica-specific leaks into a chunk (vLLM's stop_reason)
        if (Array.isArray(j.choices) && j.choices.some((c) => isObj(c) && 'stop_reason' in c)) return `a chunk carries vLLM's stop_reason: ${d.slice(0, 200)}`;
      }
      const finished = data.some((d) => d.includes('"finish_reason":"'));
      return finished ? null : 'stream has no chunk with a finish_reason';
    }
    case 'message': {
      const j = parse(a.body);
      if (!isObj(j) || j.type !== 'message' || !Array.isArray(j.content)) return `not a Messages answer: ${a.body.slice(0, 200)}`;
      // Anthropic's own id shapes, and no `citations: null` (the AI SDK rejects it)
      if (typeof j.id !== 'string' || !j.id.startsWith('msg_')) return `message id is not msg_…: ${String(j.id)}`;
      for (const b of j.content) {
        if (isObj(b) && b.type === 'tool_use' && !String(b.id).startsWith('toolu_')) return `tool_use id is not toolu_…: ${String(b.id)}`;
        if (isObj(b) && 'citations' in b && b.citations === null) return 'a text block carries "citations": null';
      }
      return null;
    }
    case 'count': {
      const j = parse(a.body);
      return isObj(j) && typeof j.input_tokens === 'number' ? null : `not a count_tokens answer: ${a.body.slice(0, 200)}`;
    }
    case 'chat': {
      const j = parse(a.body);
      if (!isObj(j) || j.object !== 'chat.completion' || !Array.isArray(j.choices) || !isObj(j.choices[0])) return `not a chat completion: ${a.body.slice(0, 200)}`;
      return null;
    }
    case 'json':
      return parse(a.body) === undefined && a.body !== '' ? `answer is not JSON: ${a.body.slice(0, 200)}` : null;
  }
}

function errorLine(body: string): string {
  const i = body.indexOf('event: error');
  return body.slice(i, i + 300).replace(/\n/g, ' ');
}

export function verdict(s: Step, a: Answer): string | null {
  if (a.status >= 500) return `${a.status}: ${a.body.slice(0, 300)}`;
  const is2xx = a.status >= 200 && a.status < 300;
  const is4xx = a.status >= 400 && a.status < 500;
  if (s.expect === 'ok' && !is2xx) return `expected 2xx, got ${a.status}: ${a.body.slice(0, 300)}`;
  if (s.expect === 'reject' && !is4xx) return `expected 4xx, got ${a.status}: ${a.body.slice(0, 300)}`;
  if (is4xx) return envelopeProblem(s.envelope, a);
  if (is2xx) return successProblem(s.shape, a);
  return `unexpected status ${a.status}`;
}
