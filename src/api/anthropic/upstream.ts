// The canonical (OpenAI-compatible) replica body → an Anthropic Messages request, for upstreams
// that speak the Messages API (a hosted API or another Switchyard). The body was validated at the
// door, but it is the client's own object, so every field is still checked before it is read.
import { fail, isObj, type Bad, type Obj } from '../body.js';
import { toolInput } from '../mapping.js';
import type { Result, UpstreamChatBody } from '../types.js';

export type AnthropicBlock = Record<string, unknown> & { type: string };

export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: AnthropicBlock[];
}

export interface AnthropicRequest {
  model: string;
  max_tokens?: number;
  messages: AnthropicMessage[];
  system?: string;
  stop_sequences?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
  tools?: Array<{ name: string; description?: string; input_schema: Obj }>;
  tool_choice?: { type: 'auto' | 'any' | 'none' | 'tool'; name?: string; disable_parallel_tool_use?: boolean };
}

const cannot = (what: string, param: string): Bad => fail(`${what} cannot be sent to this model: its upstream speaks the Anthropic Messages API, which has no equivalent.`, param);

/**
 * The canonical body as an Anthropic request. `maxTokens` is used when the body sets no output cap
 * (Anthropic requires one); null asks for a count_tokens body, which has none.
 */
export function toAnthropicRequest(body: UpstreamChatBody, maxTokens: number | null): Result<AnthropicRequest> {
  const out: AnthropicRequest = { model: body.model, messages: [] };
  if (maxTokens !== null) {
    const mct = body.max_completion_tokens;
    const mt = body.max_tokens;
    out.max_tokens = typeof mct === 'number' ? mct : typeof mt === 'number' ? mt : maxTokens;
  }
  const e = convertMessages(body.messages, out) ?? convertParams(body, out) ?? convertTools(body, out);
  return e ?? { ok: true, value: out };
}

function convertMessages(msgs: unknown, out: AnthropicRequest): Bad | null {
  if (!Array.isArray(msgs)) return fail('messages must be an array', 'messages');
  let system: string | null = null;
  const list = out.messages;
  for (let i = 0; i < msgs.length; i++) {
    const m: unknown = msgs[i];
    const p = `messages[${i}]`;
    if (!isObj(m)) return fail(`${p} must be an object`, p);
    const role = m.role;
    if (role === 'system' || role === 'developer') {
      // Anthropic has one system prompt: every system or developer message is lifted into it, in order.
      const text = textOf(m.content, `${p}.content`);
      if (typeof text !== 'string') return text;
      if (text.length > 0) system = system === null ? text : system + '\n\n' + text;
      continue;
    }
    const blocks: AnthropicBlock[] = [];
    let turn: 'user' | 'assistant';
    if (role === 'user') {
      turn = 'user';
      const e = userBlocks(m.content, `${p}.content`, blocks);
      if (e) return e;
    } else if (role === 'assistant') {
      turn = 'assistant';
      const e = assistantBlocks(m, p, blocks);
      if (e) return e;
    } else if (role === 'tool') {
      // a tool result goes back in a user turn, as a tool_result block answering its call
      turn = 'user';
      const id = m.tool_call_id;
      if (typeof id !== 'string') return fail(`${p}.tool_call_id must be a string`, `${p}.tool_call_id`);
      const text = textOf(m.content, `${p}.content`);
      if (typeof text !== 'string') return text;
      blocks.push(text.length > 0 ? { type: 'tool_result', tool_use_id: id, content: text } : { type: 'tool_result', tool_use_id: id });
    } else {
      return cannot(`A message with role ${JSON.stringify(role)}`, `${p}.role`);
    }
    if (blocks.length === 0) continue;
    // consecutive turns of one role become one (tool results and the user's words share a turn)
    const last = list.length > 0 ? list[list.length - 1] : null;
    if (last !== null && last.role === turn) {
      for (let k = 0; k < blocks.length; k++) last.content.push(blocks[k]);
    } else {
      list.push({ role: turn, content: blocks });
    }
  }
  if (system !== null) out.system = system;
  return null;
}

/** A string, or text parts joined (system, developer and tool messages carry only text). */
function textOf(c: unknown, p: string): string | Bad {
  if (typeof c === 'string') return c;
  if (c === null || c === undefined) return '';
  if (!Array.isArray(c)) return fail(`${p} must be a string or an array of text parts`, p);
  let text = '';
  for (let j = 0; j < c.length; j++) {
    const part: unknown = c[j];
    if (!isObj(part) || part.type !== 'text' || typeof part.text !== 'string') return cannot(`${p}[${j}] (only text parts are allowed here)`, `${p}[${j}]`);
    text += part.text;
  }
  return text;
}

function userBlocks(c: unknown, p: string, blocks: AnthropicBlock[]): Bad | null {
  if (typeof c === 'string') {
    blocks.push({ type: 'text', text: c });
    return null;
  }
  if (!Array.isArray(c)) return fail(`${p} must be a string or an array of content parts`, p);
  for (let j = 0; j < c.length; j++) {
    const part: unknown = c[j];
    const pp = `${p}[${j}]`;
    if (!isObj(part)) return fail(`${pp} must be an object`, pp);
    if (part.type === 'text') {
      if (typeof part.text !== 'string') return fail(`${pp}.text must be a string`, `${pp}.text`);
      blocks.push({ type: 'text', text: part.text });
    } else if (part.type === 'image_url') {
      const e = imageBlock(part.image_url, `${pp}.image_url`, blocks);
      if (e) return e;
    } else {
      return cannot(`A content part of type ${JSON.stringify(part.type)}`, `${pp}.type`);
    }
  }
  return null;
}

const DATA_URL = /^data:(image\/(?:jpeg|png|gif|webp));base64,/;

function imageBlock(iu: unknown, p: string, blocks: AnthropicBlock[]): Bad | null {
  const url = isObj(iu) ? iu.url : undefined;
  if (typeof url !== 'string') return fail(`${p}.url must be a string`, `${p}.url`);
  const m = DATA_URL.exec(url);
  if (m !== null) blocks.push({ type: 'image', source: { type: 'base64', media_type: m[1], data: url.slice(m[0].length) } });
  else if (url.startsWith('https://') || url.startsWith('http://')) blocks.push({ type: 'image', source: { type: 'url', url } });
  else return cannot('An image that is neither an http(s) URL nor a base64 JPEG, PNG, GIF or WebP data URL', `${p}.url`);
  return null;
}

function assistantBlocks(m: Obj, p: string, blocks: AnthropicBlock[]): Bad | null {
  const c = m.content;
  if (typeof c === 'string') {
    // Anthropic refuses empty text blocks; an empty content beside tool calls is the usual shape
    if (c.length > 0) blocks.push({ type: 'text', text: c });
  } else if (Array.isArray(c)) {
    for (let j = 0; j < c.length; j++) {
      const part: unknown = c[j];
      const pp = `${p}.content[${j}]`;
      if (!isObj(part)) return fail(`${pp} must be an object`, pp);
      if (part.type === 'refusal') continue; // a refusal is the model's own words: nothing to replay
      if (part.type !== 'text' || typeof part.text !== 'string') return cannot(`A content part of type ${JSON.stringify(part.type)}`, `${pp}.type`);
      if (part.text.length > 0) blocks.push({ type: 'text', text: part.text });
    }
  } else if (c !== null && c !== undefined) {
    return fail(`${p}.content must be a string, an array or null`, `${p}.content`);
  }
  const calls = m.tool_calls;
  if (calls === undefined || calls === null) return null;
  if (!Array.isArray(calls)) return fail(`${p}.tool_calls must be an array`, `${p}.tool_calls`);
  for (let k = 0; k < calls.length; k++) {
    const tc: unknown = calls[k];
    const pk = `${p}.tool_calls[${k}]`;
    const fn = isObj(tc) ? tc.function : undefined;
    if (!isObj(tc) || typeof tc.id !== 'string' || !isObj(fn) || typeof fn.name !== 'string') {
      return fail(`${pk} must have a string id and a function with a name`, pk);
    }
    // arguments are a JSON string; Anthropic wants the object itself
    const args = fn.arguments;
    blocks.push({ type: 'tool_use', id: tc.id, name: fn.name, input: toolInput(typeof args === 'string' ? args : null) });
  }
  return null;
}

function convertParams(b: UpstreamChatBody, out: AnthropicRequest): Bad | null {
  const stop: unknown = b.stop;
  if (typeof stop === 'string') out.stop_sequences = [stop];
  else if (Array.isArray(stop) && stop.length > 0) {
    for (let i = 0; i < stop.length; i++) if (typeof stop[i] !== 'string') return fail(`stop[${i}] must be a string`, `stop[${i}]`);
    out.stop_sequences = stop;
  }
  // OpenAI's temperature runs to 2, Anthropic's to 1: the top of one range is the top of the other
  if (typeof b.temperature === 'number') out.temperature = Math.min(1, Math.max(0, b.temperature));
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  // vLLM's top_k of -1 (or 0) means "off"; Anthropic's means nothing, so it is left out
  if (typeof b.top_k === 'number' && Number.isInteger(b.top_k) && b.top_k > 0) out.top_k = b.top_k;
  if (b.stream === true) out.stream = true;
  const rf: unknown = b.response_format;
  if (isObj(rf) && rf.type !== 'text') return cannot(`response_format ${JSON.stringify(rf.type)}`, 'response_format');
  return null;
}

function convertTools(b: UpstreamChatBody, out: AnthropicRequest): Bad | null {
  const tools: unknown = b.tools;
  if (Array.isArray(tools) && tools.length > 0) {
    const list: NonNullable<AnthropicRequest['tools']> = [];
    for (let i = 0; i < tools.length; i++) {
      const t: unknown = tools[i];
      const fn = isObj(t) ? t.function : undefined;
      if (!isObj(fn) || typeof fn.name !== 'string') return fail(`tools[${i}].function.name must be a string`, `tools[${i}].function.name`);
      const schema = isObj(fn.parameters) ? fn.parameters : { type: 'object', properties: {} };
      const tool: { name: string; description?: string; input_schema: Obj } = { name: fn.name, input_schema: schema };
      if (typeof fn.description === 'string') tool.description = fn.description;
      list.push(tool);
    }
    out.tools = list;
  }
  const tc: unknown = b.tool_choice;
  const serial = b.parallel_tool_calls === false;
  let choice: AnthropicRequest['tool_choice'];
  if (tc === 'none') choice = { type: 'none' };
  else if (tc === 'required') choice = { type: 'any' };
  else if (tc === 'auto') choice = { type: 'auto' };
  else if (isObj(tc) && isObj(tc.function) && typeof tc.function.name === 'string') choice = { type: 'tool', name: tc.function.name };
  else if (tc !== undefined && tc !== null) return cannot(`tool_choice ${JSON.stringify(tc).slice(0, 80)}`, 'tool_choice');
  // Anthropic says "one call at a time" on tool_choice; with none given, auto is the default it implies
  if (serial && out.tools !== undefined && (choice === undefined || choice.type !== 'none')) (choice ??= { type: 'auto' }).disable_parallel_tool_use = true;
  if (choice !== undefined && out.tools !== undefined) out.tool_choice = choice;
  return null;
}
