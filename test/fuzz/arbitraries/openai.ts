import fc from 'fast-check';
import { Raw, step, toJson, type Case } from '../cases.js';
import { PDF, PNG, WAV, chance, deep, draw, hugeNumber, identifier, loneSurrogate, notA, pick, text, upTo, veryLong, type G } from './json.js';

// OpenAI Chat Completions bodies: valid ones with every content part and optional field the API
// allows (refusal, input_audio, file, image_url; tool round trips; assistant turns with tool_calls
// and no content key), and invalid ones made by breaking one thing.

export const MODEL = 'llama-3.1-8b';
type Obj = Record<string, unknown>;

function userPart(g: G): Obj {
  switch (upTo(g, 5)) {
    case 0: return { type: 'image_url', image_url: { url: chance(g, 0.5) ? `data:image/png;base64,${PNG}` : 'https://example.com/yard.png', detail: pick(g, [undefined, 'auto', 'low', 'high']) } };
    case 1: return { type: 'input_audio', input_audio: { data: WAV, format: pick(g, ['wav', 'mp3']) } };
    case 2: return { type: 'file', file: chance(g, 0.5) ? { file_data: `data:application/pdf;base64,${PDF}`, filename: 'manifest.pdf' } : { file_id: 'file-abc123' } };
    default: return { type: 'text', text: draw(g, text) };
  }
}

const content = (g: G, parts: () => Obj): unknown =>
  chance(g, 0.5) ? draw(g, text) : Array.from({ length: upTo(g, 3, 1) }, parts);

function tools(g: G): Obj[] {
  const n = chance(g, 0.5) ? 0 : chance(g, 0.2) ? upTo(g, 60, 20) : upTo(g, 5, 1);
  return Array.from({ length: n }, (_, i) => ({
    type: 'function',
    function: {
      name: `f${i}_${draw(g, identifier)}`.slice(0, 64),
      description: chance(g, 0.7) ? draw(g, text) : undefined,
      parameters: chance(g, 0.8) ? { type: 'object', properties: { q: { type: 'string' } }, required: ['q'], additionalProperties: false } : undefined,
      strict: chance(g, 0.2) ? true : undefined,
    },
  }));
}

function conversation(g: G, names: string[]): Obj[] {
  const msgs: Obj[] = [];
  if (chance(g, 0.5)) msgs.push({ role: pick(g, ['system', 'developer']), content: content(g, () => ({ type: 'text', text: 'Be terse.' })), name: chance(g, 0.2) ? 'ops' : undefined });
  const rounds = upTo(g, 3);
  for (let r = 0; r <= rounds; r++) {
    msgs.push({ role: 'user', content: content(g, () => userPart(g)), name: chance(g, 0.1) ? draw(g, identifier) : undefined });
    if (r === rounds) break;
    const a: Obj = { role: 'assistant' };
    const calls = names.length > 0 && chance(g, 0.6) ? upTo(g, 4, 1) : 0;
    if (calls > 0) {
      a.tool_calls = Array.from({ length: calls }, (_, c) => ({ id: `call_${r}${c}${draw(g, identifier)}`, type: 'function', function: { name: pick(g, names), arguments: chance(g, 0.5) ? '{}' : JSON.stringify({ q: draw(g, text) }) } }));
      // the ordinary tool round trip: no content key at all, or content null, or some text
      const how = upTo(g, 2);
      if (how === 1) a.content = null;
      else if (how === 2) a.content = draw(g, text);
    } else {
      a.content = chance(g, 0.2) ? [{ type: 'text', text: draw(g, text) }, { type: 'refusal', refusal: 'I cannot do that.' }] : draw(g, text);
    }
    if (chance(g, 0.1)) a.refusal = null;
    msgs.push(a);
    const ids = ((a.tool_calls as Obj[] | undefined) ?? []).map((c) => c.id as string);
    if (ids.length > 1 && chance(g, 0.5)) ids.reverse(); // answered in another order
    for (const id of ids) msgs.push({ role: 'tool', tool_call_id: id, content: chance(g, 0.7) ? 'result.' : [{ type: 'text', text: 'rows: 3' }] });
  }
  return msgs;
}

export function validBody(g: G): Obj {
  const ts = tools(g);
  const names = ts.map((t) => (t.function as Obj).name as string);
  const b: Obj = { model: MODEL, messages: conversation(g, names) };
  const cap = chance(g, 0.05) ? 32_000 : chance(g, 0.1) ? pick(g, [1024, 8192]) : upTo(g, 16, 1);
  const capField = upTo(g, 2);
  if (capField === 1) b.max_tokens = cap;
  else if (capField === 2) b.max_completion_tokens = cap;
  if (ts.length > 0) b.tools = ts;
  if (ts.length > 0 && chance(g, 0.5)) b.tool_choice = pick(g, ['none', 'auto', 'required', { type: 'function', function: { name: names[0] } }]);
  if (ts.length > 0 && chance(g, 0.3)) b.parallel_tool_calls = chance(g, 0.5);
  if (chance(g, 0.3)) b.temperature = g(fc.double, { min: 0, max: 2, noNaN: true });
  if (chance(g, 0.2)) b.top_p = g(fc.double, { min: 0, max: 1, noNaN: true });
  if (chance(g, 0.1)) b.presence_penalty = g(fc.double, { min: -2, max: 2, noNaN: true });
  if (chance(g, 0.1)) b.frequency_penalty = g(fc.double, { min: -2, max: 2, noNaN: true });
  if (chance(g, 0.1)) b.seed = upTo(g, 2 ** 31);
  if (chance(g, 0.2)) b.stop = chance(g, 0.5) ? 'END' : ['END', '\n\n'];
  if (chance(g, 0.1)) b.n = 1;
  if (chance(g, 0.2)) b.user = draw(g, text).slice(0, 256);
  if (chance(g, 0.1)) b.safety_identifier = 'sid-' + draw(g, identifier);
  if (chance(g, 0.1)) b.prompt_cache_key = 'pck-' + draw(g, identifier);
  if (chance(g, 0.1)) b.metadata = { team: 'yard', run: String(upTo(g, 99)) };
  if (chance(g, 0.1)) b.store = false;
  if (chance(g, 0.1)) b.service_tier = pick(g, ['auto', 'default', 'flex', 'priority']);
  if (chance(g, 0.1)) b.reasoning_effort = pick(g, ['minimal', 'low', 'medium', 'high']);
  if (chance(g, 0.1)) b.response_format = pick(g, [{ type: 'text' }, { type: 'json_object' }, { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } }]);
  if (chance(g, 0.1)) Object.assign(b, { logprobs: true, top_logprobs: upTo(g, 5) });
  if (chance(g, 0.05)) b.logit_bias = { '50256': -100 };
  if (chance(g, 0.05)) b.modalities = ['text'];
  if (chance(g, 0.4)) {
    b.stream = chance(g, 0.9);
    if (b.stream === true && chance(g, 0.5)) b.stream_options = { include_usage: chance(g, 0.7) };
  }
  return b;
}

function headers(g: G): Record<string, string> {
  const h: Record<string, string> = { 'content-type': pick(g, ['application/json', 'application/json; charset=utf-8']) };
  if (chance(g, 0.2)) h['openai-organization'] = 'org-yard';
  if (chance(g, 0.2)) h['openai-project'] = 'proj_yard';
  if (chance(g, 0.2)) h['x-stainless-retry-count'] = '0';
  if (chance(g, 0.2)) h['x-session-id'] = 'sess-' + draw(g, identifier);
  return h;
}

const PATH = '/v1/chat/completions';

export const validChat: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const b = validBody(g);
  const stream = b.stream === true;
  return { family: 'openai.valid', note: stream ? 'streamed' : 'not streamed', steps: [step({ method: 'POST', path: PATH, headers: headers(g), body: toJson(b), expect: 'ok', envelope: 'openai', shape: stream ? 'chat-stream' : 'chat' })] };
});

type Breaker = [string, (b: Obj, g: G) => void];
const msgs = (b: Obj): Obj[] => b.messages as Obj[];
const lastUser = (b: Obj): Obj => [...msgs(b)].reverse().find((m) => m.role === 'user')!;
const oneTool = (b: Obj): void => void (b.tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object' } } }]);

const BREAKERS: Breaker[] = [
  ['model missing', (b) => void delete b.model],
  ['model of the wrong type', (b, g) => void (b.model = notA('string')(g))],
  ['model very long', (b, g) => void (b.model = draw(g, veryLong))],
  ['messages missing', (b) => void delete b.messages],
  ['messages not a list', (b, g) => void (b.messages = notA('array')(g))],
  ['messages empty', (b) => void (b.messages = [])],
  ['a message that is not an object', (b, g) => void (b.messages as unknown[]).push(pick<unknown>(g, [1, 'hi', null, []]))],
  ['an unknown role', (b, g) => void (lastUser(b).role = pick(g, ['robot', 'User', 'model', '', 'x'.repeat(10_000)]))],
  ['role missing', (b) => void delete lastUser(b).role],
  ['user content missing', (b) => void delete lastUser(b).content],
  ['content of the wrong type', (b, g) => void (lastUser(b).content = pick(g, [3, true, { text: 'x' }]))],
  ['a content part of unknown type', (b, g) => void (lastUser(b).content = [{ type: pick(g, ['video', 'image', 'audio', 'input_text', '', 'tool_use', 'x'.repeat(10_000)]), text: 'x' }])],
  ['a content part of non-string type', (b, g) => void (lastUser(b).content = [{ type: pick(g, [1, null, ['text'], {}]), text: 'x' }])],
  ['a content part without a type', (b) => void (lastUser(b).content = [{ text: 'x' }])],
  ['a content part that is not an object', (b, g) => void (lastUser(b).content = [pick(g, ['text', 3, null, []])])],
  ['a text part without text', (b) => void (lastUser(b).content = [{ type: 'text' }])],
  ['a text part with non-string text', (b, g) => void (lastUser(b).content = [{ type: 'text', text: notA('string')(g) }])],
  ['an image_url part without a url', (b) => void (lastUser(b).content = [{ type: 'image_url', image_url: {} }])],
  ['an image_url part whose image_url is a string', (b) => void (lastUser(b).content = [{ type: 'image_url', image_url: 'https://example.com/a.png' }])],
  ['an image part in a system message', (b) => void msgs(b).unshift({ role: 'system', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] })],
  ['a tool message with no tool_calls before it', (b) => void msgs(b).push({ role: 'tool', tool_call_id: 'call_nothing', content: 'r' })],
  ['a tool message answering an unknown call', (b) => void msgs(b).push(
    { role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_b', content: 'r' })],
  ['a tool call left unanswered', (b) => void msgs(b).push(
    { role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'user', content: 'and?' })],
  ['a tool message without tool_call_id', (b) => void msgs(b).push(
    { role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', content: 'r' })],
  ['a tool call without an id', (b) => void msgs(b).push({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'lookup', arguments: '{}' } }] })],
  ['a tool call of unknown type', (b) => void msgs(b).push({ role: 'assistant', tool_calls: [{ id: 'call_a', type: 'retrieval', function: { name: 'lookup', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'call_a', content: 'r' })],
  ['a tool call whose arguments are not a string', (b, g) => void msgs(b).push({ role: 'assistant', tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: pick(g, [{}, 3, null]) } }] }, { role: 'tool', tool_call_id: 'call_a', content: 'r' })],
  ['tool_calls not a list', (b, g) => void msgs(b).push({ role: 'assistant', content: 'x', tool_calls: pick(g, [{}, 'call', 3]) })],
  ['an assistant turn with neither content nor tool_calls', (b) => void msgs(b).push({ role: 'assistant' }, { role: 'user', content: 'x' })],
  ['temperature out of range', (b, g) => void (b.temperature = pick(g, [2.5, -0.1, 1e308]))],
  ['temperature of the wrong type', (b, g) => void (b.temperature = pick(g, ['hot', 'NaN', '1', [1], true]))],
  ['temperature beyond any number', (b, g) => void (b.temperature = draw(g, hugeNumber))],
  ['top_p out of range', (b, g) => void (b.top_p = pick(g, [1.5, -1]))],
  ['a penalty out of range', (b, g) => void (b[pick(g, ['presence_penalty', 'frequency_penalty'])] = pick(g, [2.5, -3, 1e308]))],
  ['n other than 1', (b, g) => void (b.n = pick(g, [2, 0, -1, 1e308, 1.5, '1']))],
  ['max_tokens not a positive whole number', (b, g) => void (b[pick(g, ['max_tokens', 'max_completion_tokens'])] = pick(g, [0, -1, 1.5, 'NaN', '16', true, new Raw('1e400'), -(2 ** 63)]))],
  ['stream of the wrong type', (b, g) => void (b.stream = pick(g, ['true', 1, {}]))],
  ['stream_options without stream', (b) => void ((b.stream = false), (b.stream_options = { include_usage: true }))],
  ['stream_options not an object', (b, g) => void ((b.stream = true), (b.stream_options = pick(g, ['usage', 3, [true]])))],
  ['stop with five sequences', (b) => void (b.stop = ['a', 'b', 'c', 'd', 'e'])],
  ['stop with a non-string', (b, g) => void (b.stop = pick(g, [3, [1], ['a', null], { a: 1 }]))],
  ['tools not a list', (b, g) => void (b.tools = pick(g, [{}, 'lookup', 3]))],
  ['a tool of unknown type', (b, g) => void (b.tools = [{ type: pick(g, ['retrieval', 'code_interpreter', '', 'Function']), function: { name: 'lookup' } }])],
  ['a tool without function', (b) => void (b.tools = [{ type: 'function' }])],
  ['a tool function without a name', (b) => void (b.tools = [{ type: 'function', function: { parameters: { type: 'object' } } }])],
  ['a tool name the API refuses', (b, g) => void (b.tools = [{ type: 'function', function: { name: pick(g, ['has space', 'dot.name', '', 'x'.repeat(65), 'ünï']) } }])],
  ['tool parameters not an object', (b, g) => void (b.tools = [{ type: 'function', function: { name: 'lookup', parameters: pick(g, ['object', [], 3]) } }])],
  ['tool_choice of unknown value', (b, g) => void (oneTool(b), (b.tool_choice = pick(g, ['sometimes', 'any', 'AUTO', 3, [], true])))],
  ['tool_choice function without a function', (b) => void (oneTool(b), (b.tool_choice = { type: 'function' }))],
  ['tool_choice naming no defined tool', (b) => void (oneTool(b), (b.tool_choice = { type: 'function', function: { name: 'missing' } }))],
  ['tool_choice without tools', (b) => void (delete b.tools, (b.tool_choice = { type: 'function', function: { name: 'lookup' } }))],
  ['parallel_tool_calls of the wrong type', (b, g) => void (oneTool(b), (b.parallel_tool_calls = pick(g, ['yes', 1, {}])))],
  ['user of the wrong type', (b, g) => void (b.user = pick(g, [3, {}, ['u']]))],
  ['user or safety_identifier too long', (b, g) => void (chance(g, 0.5) ? (b.user = 'u'.repeat(pick(g, [257, 100_000]))) : (b.safety_identifier = 's'.repeat(65)))],
  ['a metadata key over 64 characters', (b, g) => void (b.metadata = { ['k'.repeat(pick(g, [65, 70_000]))]: 'v' })],
  ['tools an empty list', (b) => void (delete b.tool_choice, delete b.parallel_tool_calls, (b.tools = []))],
  ['user content an empty list', (b) => void (lastUser(b).content = [])],
  ['top_logprobs without logprobs: true', (b, g) => void ((b.top_logprobs = pick(g, [0, 2, 20])), (b.logprobs = pick(g, [undefined, false, null])))],
  ['the legacy functions field', (b) => void (b.functions = [{ name: 'lookup', parameters: { type: 'object' } }])],
  ['the legacy function_call field', (b, g) => void (b.function_call = pick<unknown>(g, ['auto', 'none', { name: 'lookup' }]))],
  ['an assistant turn with a legacy function_call', (b) => void msgs(b).push(
    { role: 'assistant', content: null, function_call: { name: 'lookup', arguments: '{}' } }, { role: 'user', content: 'and?' })],
  ['a message of the legacy function role', (b) => void msgs(b).push({ role: 'function', name: 'lookup', content: 'r' })],
  ['tool parameters nested thousands deep', (b, g) => void (b.tools = [{ type: 'function', function: { name: 'deep', parameters: { type: 'object', properties: { x: draw(g, deep) } } } }])],
  ['a response_format schema nested thousands deep', (b, g) => void (b.response_format = { type: 'json_schema', json_schema: { name: 'deep', schema: { type: 'object', properties: { x: draw(g, deep) } } } })],
  ['a message nested thousands deep', (b, g) => void (lastUser(b).content = draw(g, deep))],
  ['metadata nested thousands deep', (b, g) => void (b.metadata = { x: draw(g, deep) })],
  ['an unknown extra field nested thousands deep', (b, g) => void (b.extra_body = draw(g, deep))],
];

export const invalidChat: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const b = validBody(g);
  const [note, brk] = pick(g, BREAKERS);
  brk(b, g);
  return { family: 'openai.invalid', note, steps: [step({ method: 'POST', path: PATH, headers: headers(g), body: toJson(b), expect: 'reject', envelope: 'openai', shape: 'json' })] };
});

/** Lone surrogates, and `"tools": null` (which crashed the gateway): answered or refused, never a 5xx. */
export const oddChat: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const b = validBody(g);
  const which = upTo(g, 1);
  if (which === 0) lastUser(b).content = draw(g, loneSurrogate);
  else b.tools = null;
  const stream = b.stream === true;
  return { family: 'openai.odd', note: which === 0 ? 'a lone surrogate in a text' : 'tools: null', steps: [step({ method: 'POST', path: PATH, headers: headers(g), body: toJson(b), expect: 'any', envelope: 'openai', shape: stream ? 'chat-stream' : 'chat' })] };
});
