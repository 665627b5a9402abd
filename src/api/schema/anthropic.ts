// The Messages API request body (POST /v1/messages and /v1/messages/count_tokens) as one schema,
// checked before any code reads a field. Shapes follow the API reference; what Switchyard does
// with each field is in docs/request-fields.md. Objects are not strict: a client that sends a field
// newer than this schema is served, and translation reads only the fields it knows.
import { z } from 'zod';
import { MAX_MODEL_CHARS } from '../body.js';

const str = z.string();
const opt = <T extends z.ZodType>(t: T) => t.nullish();
const loose = z.looseObject({});

/** `{type: "ephemeral", ttl?}` on system blocks, message blocks, tools and the top level. */
const cacheControl = opt(z.looseObject({ type: z.literal('ephemeral'), ttl: opt(z.enum(['5m', '1h'])) }));

const text = z.object({ type: z.literal('text'), text: str, cache_control: cacheControl, citations: opt(z.array(loose)) });

const IMAGE_MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'] as const;
const imageSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.enum(IMAGE_MEDIA_TYPES), data: str }),
  z.object({ type: z.literal('url'), url: str }),
  z.object({ type: z.literal('file'), file_id: str }),
]);
const image = z.object({ type: z.literal('image'), source: imageSource, cache_control: cacheControl });

const documentSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: str }),
  z.object({ type: z.literal('text'), media_type: opt(z.literal('text/plain')), data: str }),
  z.object({ type: z.literal('content'), content: z.union([str, z.array(z.discriminatedUnion('type', [text, image]))]) }),
  z.object({ type: z.literal('url'), url: str }),
  z.object({ type: z.literal('file'), file_id: str }),
]);
const document = z.object({
  type: z.literal('document'),
  source: documentSource,
  title: opt(str),
  context: opt(str),
  citations: opt(loose),
  cache_control: cacheControl,
});

const toolUse = z.object({ type: z.literal('tool_use'), id: str, name: str, input: z.record(str, z.unknown()), cache_control: cacheControl });
const toolResult = z.object({
  type: z.literal('tool_result'),
  tool_use_id: str,
  content: opt(z.union([str, z.array(z.discriminatedUnion('type', [text, image, document]))])),
  is_error: opt(z.boolean()),
  cache_control: cacheControl,
});
const thinking = z.object({ type: z.literal('thinking'), thinking: str, signature: str });
const redactedThinking = z.object({ type: z.literal('redacted_thinking'), data: str });

/** Every block a message may hold; which role may hold which is checked in translation. */
const block = z.discriminatedUnion('type', [text, image, document, toolUse, toolResult, thinking, redactedThinking]);

const message = z.object({
  // a `system` role is refused in the API's own words, which clients match on (anthropic/check.ts)
  role: z.enum(['user', 'assistant']),
  content: z.union([str, z.array(block)]),
});

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,128}$/;

// Client tools; a server tool (typed, no input_schema) passes here and is refused in translation.
const tool = z.looseObject({
  type: opt(str),
  name: str.regex(TOOL_NAME),
  description: opt(str),
  input_schema: z.record(str, z.unknown()).optional(),
  cache_control: cacheControl,
  strict: opt(z.boolean()),
});

const parallel = { disable_parallel_tool_use: opt(z.boolean()) };
const toolChoice = z.discriminatedUnion('type', [
  z.object({ type: z.literal('auto'), ...parallel }),
  z.object({ type: z.literal('any'), ...parallel }),
  z.object({ type: z.literal('tool'), name: str, ...parallel }),
  z.object({ type: z.literal('none') }),
]);

const thinkingConfig = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('enabled'), budget_tokens: z.int().min(1024) }),
  z.looseObject({ type: z.literal('disabled') }),
  z.looseObject({ type: z.literal('adaptive') }),
]);

/** Fields count_tokens shares with /v1/messages. */
const common = {
  // the model name and user_id reach the ledger, logs and routing keys: bounded, as the real API bounds them
  model: str.min(1).max(MAX_MODEL_CHARS),
  messages: z.array(message).min(1).max(100_000),
  system: opt(z.union([str, z.array(text)])),
  tools: opt(z.array(tool)),
  tool_choice: opt(toolChoice),
  thinking: opt(thinkingConfig),
  metadata: opt(z.looseObject({ user_id: opt(str.max(256)) })),
  stop_sequences: opt(z.array(str)),
  temperature: opt(z.number().min(0).max(1)),
  top_p: opt(z.number().min(0).max(1)),
  top_k: opt(z.int().min(0)),
  cache_control: cacheControl,
  service_tier: opt(z.enum(['auto', 'standard_only'])),
  container: opt(z.union([str, loose])),
  context_management: opt(loose),
  mcp_servers: opt(z.array(loose)),
  inference_geo: opt(str),
  output_config: opt(loose),
};

export const messagesBody = z.looseObject({ ...common, max_tokens: z.int().min(1), stream: opt(z.boolean()) });
export const countTokensBody = z.looseObject({ ...common, stream: opt(z.boolean()) });

export type MessagesBody = z.infer<typeof messagesBody>;
export type CountTokensBody = z.infer<typeof countTokensBody>;
export type Block = z.infer<typeof block>;
export type TextBlock = z.infer<typeof text>;
export type Message = z.infer<typeof message>;
