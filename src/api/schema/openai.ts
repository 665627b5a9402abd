// The Chat Completions request body (POST /v1/chat/completions) as one schema, checked before any
// code reads a field. The body goes to the replica as sent, unknown fields included (vLLM's
// extensions), so objects are not strict; what Switchyard does with each field is in
// docs/request-fields.md.
import { z } from 'zod';
import { MAX_MODEL_CHARS } from '../body.js';

const str = z.string();
const opt = <T extends z.ZodType>(t: T) => t.nullish();
const loose = z.looseObject({});

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

const textPart = z.looseObject({ type: z.literal('text'), text: str });
const imagePart = z.looseObject({ type: z.literal('image_url'), image_url: z.looseObject({ url: str, detail: opt(z.enum(['auto', 'low', 'high'])) }) });
const audioPart = z.looseObject({ type: z.literal('input_audio'), input_audio: z.looseObject({ data: str, format: z.enum(['wav', 'mp3']) }) });
const filePart = z.looseObject({ type: z.literal('file'), file: z.looseObject({ file_data: opt(str), file_id: opt(str), filename: opt(str) }) });
const refusalPart = z.looseObject({ type: z.literal('refusal'), refusal: str });

const texts = z.union([str, z.array(z.discriminatedUnion('type', [textPart]))]);

const toolCall = z.looseObject({
  id: str,
  type: z.literal('function'),
  function: z.looseObject({ name: str, arguments: str }),
});

const named = { name: opt(str) };
const message = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: texts, ...named }),
  z.looseObject({ role: z.literal('developer'), content: texts, ...named }),
  z.looseObject({ role: z.literal('user'), content: z.union([str, z.array(z.discriminatedUnion('type', [textPart, imagePart, audioPart, filePart])).min(1)]), ...named }),
  z.looseObject({
    role: z.literal('assistant'),
    // absent or null when the turn is only tool calls (checked in openai/messages.ts)
    content: opt(z.union([str, z.array(z.discriminatedUnion('type', [textPart, refusalPart]))])),
    tool_calls: opt(z.array(toolCall)),
    refusal: opt(str),
    ...named,
  }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: str, content: texts }),
]);

const tool = z.discriminatedUnion('type', [
  z.looseObject({
    type: z.literal('function'),
    function: z.looseObject({ name: str.regex(TOOL_NAME), description: opt(str), parameters: opt(z.record(str, z.unknown())), strict: opt(z.boolean()) }),
  }),
]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: str }) }),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({ type: z.literal('json_schema'), json_schema: z.looseObject({ name: str, description: opt(str), schema: opt(z.record(str, z.unknown())), strict: opt(z.boolean()) }) }),
]);

const int = z.int();
// `model`, `user` and `safety_identifier` reach the ledger, logs or routing keys: bounded, as
// OpenAI bounds them (safety_identifier at 64 characters, documented; user and model at 256)
export const chatBody = z.looseObject({
  model: str.max(MAX_MODEL_CHARS),
  messages: z.array(message).min(1),
  stream: opt(z.boolean()),
  stream_options: opt(z.looseObject({ include_usage: opt(z.boolean()), include_obfuscation: opt(z.boolean()) })),
  n: opt(int.min(1)),
  max_tokens: opt(int.min(1)),
  max_completion_tokens: opt(int.min(1)),
  temperature: opt(z.number().min(0).max(2)),
  top_p: opt(z.number().min(0).max(1)),
  presence_penalty: opt(z.number().min(-2).max(2)),
  frequency_penalty: opt(z.number().min(-2).max(2)),
  stop: opt(z.union([str, z.array(str).max(4)])),
  tools: opt(z.array(tool).min(1).max(128)),
  tool_choice: opt(toolChoice),
  parallel_tool_calls: opt(z.boolean()),
  response_format: opt(responseFormat),
  seed: opt(int),
  logprobs: opt(z.boolean()),
  top_logprobs: opt(int.min(0).max(20)),
  logit_bias: opt(z.record(str, z.number())),
  user: opt(str.max(256)),
  safety_identifier: opt(str.max(64)),
  prompt_cache_key: opt(str),
  store: opt(z.boolean()),
  metadata: opt(z.record(str.max(64), str.max(512))),
  service_tier: opt(z.enum(['auto', 'default', 'flex', 'scale', 'priority'])),
  reasoning_effort: opt(z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh'])),
  verbosity: opt(z.enum(['low', 'medium', 'high'])),
  modalities: opt(z.array(z.enum(['text', 'audio']))),
  audio: opt(loose),
  prediction: opt(loose),
  web_search_options: opt(loose),
});

export type ChatBody = z.infer<typeof chatBody>;
