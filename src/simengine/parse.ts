import { renderChat, type ChatMessageLike, type ChatToolLike } from '../engine/index.js';
import { badRequest, type RequestParse } from './wire.js';

// Request validation for the generation endpoints. Parsing yields the prompt text and the few
// knobs the simulated model honours; sampling parameters are accepted and ignored, as a
// deterministic model has nothing to sample.

export interface ForcedTool {
  name: string;
  parameters: unknown;
}

export interface GenSpec {
  kind: 'chat' | 'completion';
  /** null when the client left it out (vLLM then serves its one model) */
  model: string | null;
  /** the prompt text, chat template applied for chat */
  prompt: string;
  /** completions may send token ids instead of text */
  promptIds: number[] | null;
  /** null: up to max_model_len (chat) */
  maxTokens: number | null;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  stop: string[];
  ignoreEos: boolean;
  /** set when tool_choice forces a call */
  tool: ForcedTool | null;
}

const ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function', 'ipython']);

type JsonObject = Record<string, unknown>;
const isObj = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

export function parseChat(body: unknown): RequestParse<GenSpec> {
  if (!isObj(body)) return badRequest('The request body must be a JSON object.');
  const common = parseCommon(body);
  if (!common.ok) return common;
  const msgs = body.messages;
  if (!Array.isArray(msgs) || msgs.length === 0) return badRequest('`messages` must be a non-empty array of messages.', 'messages');
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    if (!isObj(m) || typeof m.role !== 'string' || !ROLES.has(m.role)) return badRequest(`messages.${i}: each message needs a role (system, developer, user, assistant or tool).`, 'messages');
    const c = m.content;
    if (c !== undefined && c !== null && typeof c !== 'string' && !Array.isArray(c)) return badRequest(`messages.${i}.content must be a string or an array of content parts.`, 'messages');
  }
  const tools = body.tools ?? null;
  if (tools !== null && (!Array.isArray(tools) || tools.some((t) => !isObj(t) || !isObj(t.function) || typeof t.function.name !== 'string'))) {
    return badRequest('`tools` must be an array of {type:"function", function:{name, parameters}}.', 'tools');
  }
  const forced = forcedTool(body.tool_choice, tools as ChatToolLike[] | null);
  if (!forced.ok) return forced;
  const continueFinal = body.continue_final_message === true;
  if (continueFinal && body.add_generation_prompt !== false) {
    return badRequest('Cannot set both `continue_final_message` and `add_generation_prompt` to True.', 'continue_final_message');
  }
  const prompt = renderChat(msgs as ChatMessageLike[], {
    tools: tools as ChatToolLike[] | null, addGenerationPrompt: body.add_generation_prompt !== false, continueFinalMessage: continueFinal,
  });
  return { ok: true, value: { ...common.value, kind: 'chat', prompt, promptIds: null, tool: forced.value } };
}

export function parseCompletion(body: unknown): RequestParse<GenSpec> {
  if (!isObj(body)) return badRequest('The request body must be a JSON object.');
  const common = parseCommon(body);
  if (!common.ok) return common;
  let p = body.prompt;
  if (Array.isArray(p) && p.length === 1 && (typeof p[0] === 'string' || Array.isArray(p[0]))) p = p[0];
  let prompt = '';
  let promptIds: number[] | null = null;
  if (typeof p === 'string') prompt = p;
  else if (Array.isArray(p) && p.length > 0 && p.every((t) => Number.isInteger(t) && t >= 0)) promptIds = p as number[];
  else return badRequest('`prompt` must be a string or an array of token ids (one prompt per request here).', 'prompt');
  // legacy completions default to 16 tokens (OpenAI, vLLM)
  const v = common.value;
  return { ok: true, value: { ...v, kind: 'completion', prompt, promptIds, maxTokens: v.maxTokens ?? 16, tool: null } };
}

type Common = Omit<GenSpec, 'kind' | 'prompt' | 'promptIds' | 'tool'>;

function parseCommon(b: JsonObject): RequestParse<Common> {
  if (b.model !== undefined && b.model !== null && typeof b.model !== 'string') return badRequest('`model` must be a string.', 'model');
  const cap = b.max_completion_tokens ?? b.max_tokens ?? null;
  if (cap !== null && (!Number.isInteger(cap) || (cap as number) < 1)) return badRequest('`max_tokens` must be a positive integer.', 'max_tokens');
  if (b.n !== undefined && b.n !== null && b.n !== 1) return badRequest('This simulated engine serves n=1 only.', 'n');
  if (b.stream !== undefined && b.stream !== null && typeof b.stream !== 'boolean') return badRequest('`stream` must be a boolean.', 'stream');
  const stream = b.stream === true;
  const so = b.stream_options ?? null;
  if (so !== null && !isObj(so)) return badRequest('`stream_options` must be an object.', 'stream_options');
  if (so !== null && !stream) return badRequest('Stream options can only be defined when `stream=True`.', 'stream_options');
  const stop = b.stop ?? null;
  let stops: string[] = [];
  if (typeof stop === 'string') stops = [stop];
  else if (Array.isArray(stop) && stop.every((s) => typeof s === 'string')) stops = stop as string[];
  else if (stop !== null) return badRequest('`stop` must be a string or an array of strings.', 'stop');
  return {
    ok: true,
    value: {
      model: (b.model as string | undefined) ?? null,
      maxTokens: cap as number | null,
      stream,
      // vLLM: include_usage defaults to true once stream_options is present
      includeUsage: so !== null && so.include_usage !== false,
      continuousUsage: so !== null && so.continuous_usage_stats === true,
      stop: stops.filter((s) => s.length > 0),
      ignoreEos: b.ignore_eos === true,
    },
  };
}

function forcedTool(choice: unknown, tools: ChatToolLike[] | null): RequestParse<ForcedTool | null> {
  if (choice === undefined || choice === null || choice === 'auto' || choice === 'none') return { ok: true, value: null };
  if (choice === 'required') {
    if (!tools || tools.length === 0) return badRequest('When using `tool_choice`, `tools` must be set.', 'tool_choice');
    return { ok: true, value: { name: tools[0].function.name, parameters: tools[0].function.parameters } };
  }
  if (isObj(choice) && isObj(choice.function) && typeof choice.function.name === 'string') {
    const name = choice.function.name;
    const tool = tools?.find((t) => t.function.name === name);
    if (!tool) return badRequest(`Tool '${name}' has not been passed in \`tools\`.`, 'tool_choice');
    return { ok: true, value: { name, parameters: tool.function.parameters } };
  }
  return badRequest('`tool_choice` must be "none", "auto", "required" or {"type":"function","function":{"name":…}}.', 'tool_choice');
}

/** `/tokenize`: a prompt, or messages rendered with the chat template. */
export function parseTokenize(body: unknown): RequestParse<{ model: string | null; text: string; bos: boolean }> {
  if (!isObj(body)) return badRequest('The request body must be a JSON object.');
  const model = typeof body.model === 'string' ? body.model : null;
  if (typeof body.prompt === 'string') return { ok: true, value: { model, text: body.prompt, bos: body.add_special_tokens !== false } };
  if (Array.isArray(body.messages)) {
    const chat = parseChat({ messages: body.messages, tools: body.tools, add_generation_prompt: body.add_generation_prompt });
    if (!chat.ok) return chat;
    return { ok: true, value: { model, text: chat.value.prompt, bos: body.add_special_tokens === true } };
  }
  return badRequest('Send either `prompt` (a string) or `messages`.', 'prompt');
}
