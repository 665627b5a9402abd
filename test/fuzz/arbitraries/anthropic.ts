import fc from 'fast-check';
import { Raw, step, toJson, type Case, type Step } from '../cases.js';
import { PDF, PNG, chance, deep, draw, hugeNumber, identifier, loneSurrogate, notA, pick, text, upTo, veryLong, type G } from './json.js';

// Anthropic Messages and count_tokens bodies: valid ones using every optional field and block the
// API allows, and invalid ones made by breaking one thing in a valid body.

export const MODEL = 'llama-3.1-8b';
type Obj = Record<string, unknown>;

function cacheControl(g: G): Obj | undefined {
  if (!chance(g, 0.3)) return undefined;
  return pick(g, [{ type: 'ephemeral' }, { type: 'ephemeral', ttl: '5m' }, { type: 'ephemeral', ttl: '1h' }]);
}

const textBlock = (g: G): Obj => ({ type: 'text', text: draw(g, text), cache_control: cacheControl(g) });

function mediaBlock(g: G): Obj {
  switch (upTo(g, 4)) {
    case 0: return { type: 'image', source: { type: 'base64', media_type: pick(g, ['image/png', 'image/jpeg', 'image/gif', 'image/webp']), data: PNG }, cache_control: cacheControl(g) };
    case 1: return { type: 'image', source: { type: 'url', url: 'https://example.com/yard.png' } };
    case 2: return { type: 'document', source: { type: 'text', media_type: 'text/plain', data: draw(g, text) }, title: chance(g, 0.5) ? 'Manifest' : undefined, context: chance(g, 0.3) ? 'freight' : undefined, citations: chance(g, 0.3) ? { enabled: true } : undefined, cache_control: cacheControl(g) };
    case 3: return { type: 'document', source: { type: 'content', content: chance(g, 0.5) ? draw(g, text) : [textBlock(g), { type: 'text', text: 'second.' }] } };
    default: return textBlock(g);
  }
}

function tools(g: G): Obj[] {
  const n = chance(g, 0.5) ? 0 : chance(g, 0.2) ? upTo(g, 60, 20) : upTo(g, 5, 1);
  return Array.from({ length: n }, (_, i) => ({
    name: `t${i}_${draw(g, identifier)}`.slice(0, 128),
    description: chance(g, 0.7) ? draw(g, text) : undefined,
    input_schema: { type: 'object', properties: { q: { type: 'string', description: 'what to look up' }, n: { type: 'integer', minimum: 0 } }, required: chance(g, 0.5) ? ['q'] : [] },
    cache_control: cacheControl(g),
    strict: chance(g, 0.1) ? true : undefined,
  }));
}

/** A conversation: user first, tool_use answered by tool_result in the next user turn, maybe a prefill. */
function conversation(g: G, names: string[]): Obj[] {
  const msgs: Obj[] = [];
  const rounds = upTo(g, 3);
  let pending: string[] = [];
  for (let r = 0; r <= rounds; r++) {
    const blocks: Obj[] = pending.map((id) => ({
      type: 'tool_result', tool_use_id: id, is_error: chance(g, 0.2) ? true : undefined, cache_control: cacheControl(g),
      content: pick(g, ['plain result', undefined, [{ type: 'text', text: 'rows: 3' }], [{ type: 'text', text: 'chart' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }]]),
    }));
    // tool results answered in a shuffled order, as agents do
    if (blocks.length > 1 && chance(g, 0.5)) blocks.reverse();
    pending = [];
    const extra = upTo(g, 2);
    for (let k = 0; k < extra; k++) blocks.push(mediaBlock(g));
    if (blocks.length === 0 || chance(g, 0.3)) blocks.push(textBlock(g));
    msgs.push({ role: 'user', content: blocks.length === 1 && blocks[0].type === 'text' && chance(g, 0.5) ? blocks[0].text : blocks });
    if (chance(g, 0.1)) msgs.push({ role: 'user', content: draw(g, text) }); // same role twice: merged
    if (r === rounds) break;
    const out: Obj[] = [];
    if (chance(g, 0.3)) out.push({ type: 'thinking', thinking: draw(g, text), signature: 'sig' + upTo(g, 1e6) });
    if (chance(g, 0.1)) out.push({ type: 'redacted_thinking', data: 'opaque' });
    if (chance(g, 0.7)) out.push({ type: 'text', text: draw(g, text) });
    if (names.length > 0 && chance(g, 0.6)) {
      const calls = upTo(g, 4, 1);
      for (let c = 0; c < calls; c++) {
        const id = `toolu_${r}${c}${draw(g, identifier)}`;
        pending.push(id);
        out.push({ type: 'tool_use', id, name: pick(g, names), input: chance(g, 0.5) ? {} : { q: draw(g, text), n: upTo(g, 9) }, cache_control: cacheControl(g) });
      }
    }
    if (out.length === 0) out.push({ type: 'text', text: 'ok.' });
    msgs.push({ role: 'assistant', content: chance(g, 0.3) && out.length === 1 && out[0].type === 'text' ? out[0].text : out });
  }
  if (chance(g, 0.1)) msgs.push({ role: 'assistant', content: 'The answer is' });
  return msgs;
}

/** A valid Messages body (count_tokens: without max_tokens and stream). */
export function validBody(g: G, forCount: boolean): Obj {
  const ts = tools(g);
  const names = ts.map((t) => t.name as string);
  const b: Obj = { model: MODEL, messages: conversation(g, names) };
  const maxTokens = chance(g, 0.05) ? 32_000 : chance(g, 0.1) ? pick(g, [1024, 4096, 8192]) : upTo(g, 16, 1);
  if (!forCount) b.max_tokens = maxTokens;
  if (chance(g, 0.5)) b.system = chance(g, 0.5) ? draw(g, text) : [{ type: 'text', text: 'You are terse.', cache_control: cacheControl(g) }, textBlock(g)];
  if (ts.length > 0) b.tools = ts;
  if (ts.length > 0 && chance(g, 0.5)) {
    b.tool_choice = pick(g, [{ type: 'auto' }, { type: 'any' }, { type: 'none' }, { type: 'tool', name: names[0] }, { type: 'auto', disable_parallel_tool_use: true }]);
  }
  if (chance(g, 0.3)) b.metadata = { user_id: chance(g, 0.7) ? draw(g, text).slice(0, 256) : null };
  if (chance(g, 0.2)) b.service_tier = pick(g, ['auto', 'standard_only']);
  if (chance(g, 0.3)) b.temperature = g(fc.double, { min: 0, max: 1, noNaN: true });
  if (chance(g, 0.2)) b.top_p = g(fc.double, { min: 0, max: 1, noNaN: true });
  if (chance(g, 0.2)) b.top_k = upTo(g, 500);
  if (chance(g, 0.2)) b.stop_sequences = chance(g, 0.2) ? [] : ['\n\nHuman:', 'END'];
  if (chance(g, 0.2)) {
    const budgetFits = forCount || maxTokens > 2048;
    b.thinking = budgetFits && chance(g, 0.6) ? { type: 'enabled', budget_tokens: 1024 } : pick(g, [{ type: 'disabled' }, { type: 'adaptive' }]);
    // with thinking enabled the API takes temperature 1 only, and no top_k
    if ((b.thinking as Obj).type === 'enabled') {
      if (b.temperature !== undefined) b.temperature = 1;
      delete b.top_k;
    }
  }
  if (chance(g, 0.1)) b.cache_control = { type: 'ephemeral' };
  if (chance(g, 0.05)) b.container = null;
  if (!forCount && chance(g, 0.4)) b.stream = chance(g, 0.9);
  return b;
}

function headers(g: G): Record<string, string> {
  const h: Record<string, string> = {
    'content-type': pick(g, ['application/json', 'application/json; charset=utf-8', 'Application/JSON']),
    'anthropic-version': pick(g, ['2023-06-01', '2026-10-21']),
  };
  if (chance(g, 0.3)) h['anthropic-beta'] = pick(g, ['prompt-caching-2024-07-31', 'interleaved-thinking-2025-05-14,fine-grained-tool-streaming-2025-05-14', 'oauth-2025-04-20', 'some-future-flag-2030-01-01']);
  if (chance(g, 0.2)) h['x-session-id'] = 'sess-' + draw(g, identifier);
  if (chance(g, 0.2)) h['user-agent'] = 'claude-cli/2.1.197 (external, cli)';
  if (chance(g, 0.1)) h['x-stainless-timeout'] = '600';
  if (chance(g, 0.1)) h['anthropic-dangerous-direct-browser-access'] = 'true';
  return h;
}

const pathOf = (g: G, count: boolean): string => (count ? '/v1/messages/count_tokens' : '/v1/messages') + (chance(g, 0.2) ? '?beta=true' : '');

export const validMessages: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const b = validBody(g, false);
  const stream = b.stream === true;
  return { family: 'anthropic.valid', note: stream ? 'streamed' : 'not streamed', steps: [step({ method: 'POST', path: pathOf(g, false), headers: headers(g), body: toJson(b), expect: 'ok', envelope: 'anthropic', shape: stream ? 'message-stream' : 'message' })] };
});

export const validCountTokens: fc.Arbitrary<Case> = fc.gen().map((g) => ({
  family: 'count_tokens.valid', note: 'count',
  steps: [step({ method: 'POST', path: pathOf(g, true), headers: headers(g), body: toJson(validBody(g, true)), expect: 'ok', envelope: 'anthropic', shape: 'count' })],
}));

/** One way to break a valid body: its name, and the change (in place). */
type Breaker = [string, (b: Obj, g: G) => void];

const firstUser = (b: Obj): Obj => (b.messages as Obj[])[0];

const BREAKERS: Breaker[] = [
  ['model missing', (b) => void delete b.model],
  ['model of the wrong type', (b, g) => void (b.model = notA('string')(g))],
  ['model very long', (b, g) => void (b.model = draw(g, veryLong))],
  ['messages missing', (b) => void delete b.messages],
  ['messages not a list', (b, g) => void (b.messages = notA('array')(g))],
  ['messages empty', (b) => void (b.messages = [])],
  ['a message that is not an object', (b, g) => void (b.messages as unknown[]).push(pick(g, [1, 'hi', null, []]))],
  ['an unknown role', (b, g) => void (firstUser(b).role = pick(g, ['robot', 'System', 'tool', 'function', '', 'user ']))],
  ['a system message mid-conversation', (b) => void (b.messages as Obj[]).push({ role: 'system', content: 'Be brief.' })],
  ['role missing', (b) => void delete firstUser(b).role],
  ['content missing', (b) => void delete firstUser(b).content],
  ['content of the wrong type', (b, g) => void (firstUser(b).content = pick(g, [3, -1.5, null, { text: 'x' }, true, false]))],
  ['a block of unknown type', (b, g) => void (firstUser(b).content = [{ type: pick(g, ['video', 'audio', 'image_url', 'input_text', '', 'TEXT', 'x'.repeat(10_000)]), text: 'x' }])],
  ['a block without a type', (b) => void (firstUser(b).content = [{ text: 'x' }])],
  ['a block that is not an object', (b, g) => void (firstUser(b).content = [pick(g, ['text', 3, null, [[]]])])],
  ['a text block without text', (b) => void (firstUser(b).content = [{ type: 'text' }])],
  ['a text block with non-string text', (b, g) => void (firstUser(b).content = [{ type: 'text', text: notA('string')(g) }])],
  ['an empty text block', (b) => void (firstUser(b).content = [{ type: 'text', text: '' }])],
  ['an image of unknown media type', (b, g) => void (firstUser(b).content = [{ type: 'image', source: { type: 'base64', media_type: pick(g, ['image/bmp', 'text/plain', '', 'image/PNG']), data: PNG } }])],
  ['an image source of unknown type', (b) => void (firstUser(b).content = [{ type: 'image', source: { type: 'ftp', url: 'ftp://x' } }])],
  ['an image without a source', (b) => void (firstUser(b).content = [{ type: 'image' }])],
  ['a tool_result without tool_use_id', (b) => void (firstUser(b).content = [{ type: 'tool_result', content: 'x' }])],
  ['a tool_use left unanswered', (b) => void (b.messages as Obj[]).push(
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_dangling', name: 'lookup', input: {} }] }, { role: 'user', content: 'and?' })],
  ['a tool_use with non-object input', (b, g) => void (b.messages as Obj[]).push(
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_x', name: 'lookup', input: pick(g, ['{}', 3, null, [1]]) }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: 'r' }] })],
  ['max_tokens missing', (b) => void delete b.max_tokens],
  ['max_tokens of the wrong type', (b, g) => void (b.max_tokens = notA('number')(g))],
  ['max_tokens not a whole positive number', (b, g) => void (b.max_tokens = pick(g, [1.5, -1, -(2 ** 40), 0.0001]))],
  // Not 1e308 or 2^60: with output capping those are a valid (capped) request.
  ['max_tokens beyond any number', (b, g) => void (b.max_tokens = pick(g, [new Raw('1e400'), new Raw('-1e400'), -1e308, -(2 ** 63)]))],
  ['temperature out of range', (b, g) => void (b.temperature = pick(g, [1.5, -0.1, 2, 1e308]))],
  ['temperature beyond any number', (b, g) => void (b.temperature = draw(g, hugeNumber))],
  ['temperature of the wrong type', (b, g) => void (b.temperature = pick(g, ['hot', 'NaN', '0.5', [0.5], true]))],
  ['top_p out of range', (b, g) => void (b.top_p = pick(g, [1.01, -1, 1e308]))],
  ['top_k negative or fractional', (b, g) => void (b.top_k = pick(g, [-1, 1.5, 'ten']))],
  ['stop_sequences not a list', (b, g) => void (b.stop_sequences = pick(g, ['END', 3, { a: 1 }]))],
  ['stop_sequences with a non-string', (b, g) => void (b.stop_sequences = ['END', pick(g, [1, null, ['x']])])],
  ['stream of the wrong type', (b, g) => void (b.stream = pick(g, ['true', 1, 0, 'yes', {}]))],
  ['tools not a list', (b, g) => void (b.tools = pick(g, [{}, 'lookup', 3]))],
  ['a tool without a name', (b) => void (b.tools = [{ input_schema: { type: 'object' } }])],
  ['a tool name the API refuses', (b, g) => void (b.tools = [{ name: pick(g, ['has space', 'dot.name', '', 'x'.repeat(129), 'ünï', 'a/b']), input_schema: { type: 'object' } }])],
  ['a tool without input_schema', (b) => void (b.tools = [{ name: 'lookup' }])],
  ['a tool whose input_schema is not an object', (b, g) => void (b.tools = [{ name: 'lookup', input_schema: pick(g, ['object', [], 3, true]) }])],
  ['two tools with one name', (b) => void (b.tools = [{ name: 'dup', input_schema: { type: 'object' } }, { name: 'dup', input_schema: { type: 'object' } }])],
  ['tool_choice of unknown type', (b, g) => void ((b.tools = [{ name: 'lookup', input_schema: { type: 'object' } }]), (b.tool_choice = { type: pick(g, ['robot', 'required', 'function', '']) }))],
  ['tool_choice as a bare string', (b, g) => void ((b.tools = [{ name: 'lookup', input_schema: { type: 'object' } }]), (b.tool_choice = pick(g, ['auto', 'any'])))],
  ['tool_choice naming no defined tool', (b) => void ((b.tools = [{ name: 'lookup', input_schema: { type: 'object' } }]), (b.tool_choice = { type: 'tool', name: 'missing' }))],
  ['tool_choice tool without a name', (b) => void ((b.tools = [{ name: 'lookup', input_schema: { type: 'object' } }]), (b.tool_choice = { type: 'tool' }))],
  ['thinking of unknown type', (b, g) => void (b.thinking = { type: pick(g, ['on', 'maybe', 'ENABLED']) })],
  ['thinking enabled without a budget', (b) => void (b.thinking = { type: 'enabled' })],
  ['thinking budget too small', (b, g) => void ((b.max_tokens = 8192), (b.thinking = { type: 'enabled', budget_tokens: pick(g, [0, 10, 1023, -5]) }))],
  ['thinking budget not below max_tokens', (b) => void ((b.max_tokens = 2000), (b.thinking = { type: 'enabled', budget_tokens: 4000 }))],
  ['metadata not an object', (b, g) => void (b.metadata = pick(g, ['user-1', 3, [1]]))],
  ['metadata.user_id not a string', (b, g) => void (b.metadata = { user_id: pick(g, [3, {}, ['u'], true]) })],
  ['metadata.user_id over 256 characters', (b, g) => void (b.metadata = { user_id: 'u'.repeat(pick(g, [257, 5_000, 100_000])) })],
  ['text before the tool_result blocks that answer a call', (b, g) => void (b.messages as Obj[]).push(
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_late', name: 'lookup', input: {} }] },
    { role: 'user', content: [pick(g, [{ type: 'text', text: 'first' }, { type: 'image', source: { type: 'url', url: 'https://example.com/a.png' } }]), { type: 'tool_result', tool_use_id: 'toolu_late', content: 'r' }] })],
  ['thinking with a temperature other than 1 (Messages only)', (b, g) => void ((b.max_tokens = 4096), (b.thinking = { type: 'enabled', budget_tokens: 1024 }), (b.temperature = pick(g, [0, 0.5, 0.99])))],
  ['thinking with top_k (Messages only)', (b, g) => void ((b.max_tokens = 4096), (b.thinking = { type: 'enabled', budget_tokens: 1024 }), (b.top_k = pick(g, [0, 1, 40])))],
  ['system of the wrong type', (b, g) => void (b.system = pick(g, [3, { text: 'x' }, true]))],
  ['a system block that is not text', (b) => void (b.system = [{ type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG } }])],
  ['a system block without text', (b) => void (b.system = [{ type: 'text' }])],
  ['a tool input_schema nested thousands deep', (b, g) => void (b.tools = [{ name: 'deep', input_schema: { type: 'object', properties: { x: draw(g, deep) } } }])],
  ['a tool_use input nested thousands deep', (b, g) => void (b.messages as Obj[]).push(
    { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_deep', name: 'lookup', input: { x: draw(g, deep) } }] },
    { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_deep', content: 'r' }] })],
  ['content nested thousands deep', (b, g) => void (firstUser(b).content = draw(g, deep))],
  ['metadata nested thousands deep', (b, g) => void (b.metadata = { user_id: 'u', extra: draw(g, deep) })],
  ['a document PDF that is not a PDF source', (b) => void (firstUser(b).content = [{ type: 'document', source: { type: 'base64', media_type: 'text/html', data: PDF } }])],
];

function breakBody(g: G, forCount: boolean): { note: string; body: Obj } {
  const b = validBody(g, forCount);
  const usable = BREAKERS.filter(([n]) => !forCount || !/max_tokens|stream|Messages only/.test(n));
  const [note, brk] = pick(g, usable);
  brk(b, g);
  return { note, body: b };
}

function invalidCase(count: boolean): fc.Arbitrary<Case> {
  return fc.gen().map((g) => {
    const { note, body } = breakBody(g, count);
    const s: Step = step({ method: 'POST', path: pathOf(g, count), headers: headers(g), body: toJson(body), expect: 'reject', envelope: 'anthropic', shape: 'json' });
    return { family: count ? 'count_tokens.invalid' : 'anthropic.invalid', note, steps: [s] };
  });
}

export const invalidMessages = invalidCase(false);
export const invalidCountTokens = invalidCase(true);

/** Text with lone surrogates: either answered or refused in the envelope, never a 5xx. */
export const surrogateMessages: fc.Arbitrary<Case> = fc.gen().map((g) => {
  const b = validBody(g, chance(g, 0.3));
  const count = b.max_tokens === undefined;
  firstUser(b).content = draw(g, loneSurrogate);
  return { family: 'anthropic.surrogates', note: 'a lone surrogate in a text', steps: [step({ method: 'POST', path: pathOf(g, count), headers: headers(g), body: toJson(b), expect: 'any', envelope: 'anthropic', shape: count ? 'count' : b.stream === true ? 'message-stream' : 'message' })] };
});
