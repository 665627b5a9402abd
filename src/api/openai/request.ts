// POST /v1/chat/completions: the schema checks every field (schema/openai.ts), then the body is
// passed through to the replica, unknown fields included (vLLM's extensions), with usage always
// requested on streams.
import { parseBody } from '../body.js';
import { bracketed, fail, openaiIssue, type Bad } from './check.js';
import { checkMessages } from './messages.js';
import { chatBody, type ChatBody } from '../schema/openai.js';
import { compile } from '../schema/compile.js';
import type { InferenceRequest, Result, UpstreamChatBody } from '../types.js';

const chatCheck = compile(chatBody);

export function parseOpenAIChat(body: Buffer | string): Result<InferenceRequest> {
  const parsed = parseBody(body, bracketed);
  if (!parsed.ok) return parsed;
  const issue = chatCheck.check(parsed.value);
  if (issue !== null) return openaiIssue(issue);
  const b = parsed.value as ChatBody;
  const e = checkParams(b) ?? checkMessages(b.messages) ?? checkToolChoice(b);
  if (e) return e;
  const stream = b.stream === true;
  const includeUsage = stream && b.stream_options?.include_usage === true;
  if (stream) {
    // The ledger needs usage on every stream; the transcoder hides it unless the client asked.
    b.stream_options = { include_usage: true, continuous_usage_stats: true };
  }
  // `"tools": null` means none; downstream code (and some replicas) read tools as a list
  if (b.tools === null) delete b.tools;
  const mct = b.max_completion_tokens;
  const mt = b.max_tokens;
  const user = typeof b.safety_identifier === 'string' ? b.safety_identifier : typeof b.user === 'string' ? b.user : null;
  return {
    ok: true,
    value: {
      wire: 'openai',
      model: b.model,
      stream,
      includeUsage,
      maxTokens: typeof mct === 'number' ? mct : typeof mt === 'number' ? mt : null,
      userId: user,
      upstream: b as unknown as UpstreamChatBody,
    },
  };
}

function checkParams(b: ChatBody): Bad | null {
  const legacy = legacyFunctions(b);
  if (legacy) return legacy;
  if (b.stream_options !== undefined && b.stream_options !== null && b.stream !== true) {
    return fail("The 'stream_options' parameter is only allowed when 'stream' is enabled.", 'stream_options');
  }
  // n below 1 is the schema's range error, as OpenAI words it
  const n = b.n;
  if (n !== undefined && n !== null && n !== 1) {
    return fail(`This gateway returns one choice per request, so 'n' must be 1 (got ${n}); send ${n} requests for ${n} samples.`, 'n');
  }
  if (b.top_logprobs !== undefined && b.top_logprobs !== null && b.logprobs !== true) {
    return fail("Invalid value for 'top_logprobs': 'logprobs' must be set to true when 'top_logprobs' is set.", 'top_logprobs');
  }
  return null;
}

/**
 * The deprecated function-calling fields are refused, not passed on: a replica ignores them (a
 * forced `function_call` would silently not be a call), and its calls would come back as
 * `tool_calls`, which a client of `functions` does not read. Each refusal names the tools form.
 */
function legacyFunctions(b: ChatBody): Bad | null {
  if (b.functions !== undefined && b.functions !== null) {
    return fail("The deprecated 'functions' parameter is not supported; send each function as a tool instead: 'tools': [{\"type\": \"function\", \"function\": {...}}].", 'functions');
  }
  if (b.function_call !== undefined && b.function_call !== null) {
    return fail("The deprecated 'function_call' parameter is not supported; use 'tool_choice' instead ('auto', 'none', or {\"type\": \"function\", \"function\": {\"name\": ...}}).", 'function_call');
  }
  return null;
}

function checkToolChoice(b: ChatBody): Bad | null {
  const tc = b.tool_choice;
  if (tc === undefined || tc === null || tc === 'none') return null;
  const tools = b.tools ?? [];
  if (tools.length === 0) return fail("Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.", 'tool_choice');
  if (typeof tc === 'object') {
    const name = tc.function.name;
    if (!tools.some((t) => t.function.name === name)) {
      return fail(`Invalid value for 'tool_choice': function '${name}' is not among the tools provided.`, 'tool_choice.function.name');
    }
  }
  return null;
}
