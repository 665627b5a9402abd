// The canonical shapes every wire format is parsed into and rendered from.
// Replicas speak the OpenAI-compatible protocol (vLLM's), so the canonical request carries the
// body to send them; the gateway only fills in the replica's served model name.

export type Wire = 'anthropic' | 'openai';

/** An OpenAI-compatible chat body as sent to a replica (vLLM extensions allowed). */
export interface UpstreamChatBody {
  model: string;
  messages: UpstreamMessage[];
  max_tokens?: number;
  max_completion_tokens?: number;
  stream?: boolean;
  stream_options?: { include_usage?: boolean; continuous_usage_stats?: boolean };
  stop?: string[];
  temperature?: number;
  top_p?: number;
  top_k?: number;
  tools?: UpstreamTool[];
  tool_choice?: 'none' | 'auto' | 'required' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean;
  [extra: string]: unknown;
}

export type UpstreamMessage =
  | { role: 'system' | 'developer'; content: string | UpstreamContentPart[] }
  | { role: 'user'; content: string | UpstreamContentPart[] }
  | { role: 'assistant'; content: string | null; tool_calls?: UpstreamToolCall[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export type UpstreamContentPart =
  | { type: 'text'; text: string }
  | { type: 'image_url'; image_url: { url: string; detail?: string } };

export interface UpstreamTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean };
}

export interface UpstreamToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** What the gateway needs to know about a request, whatever wire it came in on. */
export interface InferenceRequest {
  readonly wire: Wire;
  /** The public model name the client asked for. */
  readonly model: string;
  readonly stream: boolean;
  /** OpenAI clients only: `stream_options.include_usage`. The replica is always asked for usage. */
  readonly includeUsage: boolean;
  /** The output cap the client set; null when it set none (OpenAI allows that). */
  readonly maxTokens: number | null;
  /** `metadata.user_id` (Anthropic) or `user` / `safety_identifier` (OpenAI), for affinity later. */
  readonly userId: string | null;
  /** The body for the replica; `model` is replaced by the replica's served name before sending. */
  readonly upstream: UpstreamChatBody;
}

/** Token counts in canonical form: `inputTokens` includes cached ones (OpenAI's prompt_tokens). */
export interface TokenUsage {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
}

/** Identity of one response, fixed by the gateway. */
export interface ResponseContext {
  readonly requestId: string;
  /** The public model name echoed to the client. */
  readonly model: string;
}

/** A failure as the client should understand it; only `api/` maps it to a status and an envelope. */
export type GatewayError =
  /** `code`: a replica's own code for a request it refused (OpenAI's `context_length_exceeded`) */
  | { kind: 'invalid_request'; message: string; param?: string; code?: string }
  | { kind: 'authentication'; message: string }
  | { kind: 'permission'; message: string }
  | { kind: 'not_found'; message: string; param?: string }
  | { kind: 'method_not_allowed'; message: string }
  | { kind: 'request_too_large'; message: string }
  /** a request body in an encoding the gateway does not decode */
  | { kind: 'unsupported_media_type'; message: string }
  /** retryAfterS null: never at this tier (the request alone is over a whole minute's limit); retrying cannot help */
  | { kind: 'rate_limited'; message: string; retryAfterS: number | null }
  /** the workspace's monthly spend limit is reached: no retry helps until the month turns or it is raised */
  | { kind: 'spend_limited'; message: string }
  | { kind: 'overloaded'; message: string; retryAfterS?: number }
  | { kind: 'timeout'; message: string }
  /** the client did not send its request body in time */
  | { kind: 'request_timeout'; message: string }
  | { kind: 'upstream'; message: string }
  | { kind: 'internal'; message: string };

export type Result<T> = { ok: true; value: T } | { ok: false; error: GatewayError };

/** An error ready to send: status, body text (JSON), content-type is always application/json. */
export interface WireError {
  status: number;
  body: string;
  /** extra headers such as retry-after */
  headers: Record<string, string>;
}

/** A model as listed by GET /v1/models. */
export interface ModelInfo {
  id: string;
  displayName: string;
  /** unix seconds */
  created: number;
  maxInputTokens: number;
  maxOutputTokens: number;
}

/** Turns an upstream OpenAI-compatible chunk stream into the client's SSE frames. */
export interface StreamTranscoder {
  /** SSE text for one upstream chunk (the parsed `data:` JSON); may be ''. */
  chunk(c: UpstreamChunk): string;
  /** SSE text that ends a stream the upstream completed ([DONE] seen). */
  finish(): string;
  /** SSE text that ends a stream with an error after it began (the API's own error event). */
  fail(e: GatewayError): string;
  /** Usage as last reported by the upstream. */
  readonly usage: TokenUsage;
  /** Whether the upstream has sent a finish_reason (the answer is complete). */
  readonly finished: boolean;
}

/** The subset of an OpenAI chat.completion.chunk the gateway reads. */
export interface UpstreamChunk {
  id?: string;
  object?: string;
  created?: number;
  model?: string;
  choices?: Array<{
    index: number;
    delta?: {
      role?: string;
      content?: string | null;
      reasoning_content?: string | null;
      tool_calls?: Array<{ index: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
    stop_reason?: string | number | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null } | null;
  error?: unknown;
}

/** The subset of an OpenAI chat.completion the gateway reads. */
export interface UpstreamCompletion {
  id?: string;
  created?: number;
  model?: string;
  choices: Array<{
    index: number;
    message: { role: string; content: string | null; tool_calls?: UpstreamToolCall[]; reasoning_content?: string | null };
    finish_reason: string | null;
    stop_reason?: string | number | null;
  }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens?: number; prompt_tokens_details?: { cached_tokens?: number } | null };
}
