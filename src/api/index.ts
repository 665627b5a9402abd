// The wire formats: Anthropic Messages and OpenAI Chat Completions in, OpenAI-compatible replica
// bodies out, and every response, stream frame and error back in the client's own format.
export type * from './types.js';
export type { CountTokensRequest, TokenizeBody } from './anthropic/request.js';
export type { Rendered } from './render.js';
export { parseAnthropicMessages, parseCountTokens, renderCountTokens } from './anthropic/request.js';
export { parseOpenAIChat } from './openai/request.js';
export { renderAnthropicMessage, renderOpenAIChat } from './render.js';
export { anthropicStream } from './anthropic/stream.js';
export { openaiStream } from './openai/stream.js';
export { renderError } from './errors.js';
export { duration, pushLimitHeaders } from './rate-limit-headers.js';
export { renderModel, renderModels } from './models.js';
export { newMessageId, newRequestId } from './ids.js';
/** a client's string, quoted in an error at most 64 characters long */
export { clip } from './body.js';
// The admin API (api/admin/); the door re-exports it.
export { createAdminApi } from './admin/api.js';
export type { AdminApi, AdminApiOptions, AdminResponse, AdminView, Caller, RolloutControl, RolloutView, Who } from './admin/api.js';
// Upstreams that speak the Anthropic Messages API: the canonical body out, their answers back.
export { toAnthropicRequest } from './anthropic/upstream.js';
export { fromAnthropicMessage } from './anthropic/upstream-answer.js';
export type { AnthropicRequest } from './anthropic/upstream.js';
export { AnthropicUpstreamStream } from './anthropic/upstream-stream.js';
