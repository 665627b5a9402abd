// GET /v1/models and /v1/models/{id}: Anthropic's paged list (`first_id`, `last_id`, `has_more`) or
// OpenAI's plain list (`object: "list"`). Models are listed newest first on the Anthropic wire, as the real API does.
import { fail, isInt } from './body.js';
import type { ModelInfo, Result, Wire } from './types.js';

/** RFC 3339 without fractional seconds, as the real API writes `created_at`. */
function rfc3339(unixS: number): string {
  return new Date(unixS * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function anthropicModel(m: ModelInfo): string {
  return JSON.stringify({
    type: 'model',
    id: m.id,
    display_name: m.displayName,
    created_at: rfc3339(m.created),
    max_input_tokens: m.maxInputTokens,
    max_tokens: m.maxOutputTokens,
  });
}

function openaiModel(m: ModelInfo): string {
  return JSON.stringify({ id: m.id, object: 'model', created: m.created, owned_by: 'switchyard' });
}

export function renderModel(wire: Wire, m: ModelInfo): string {
  return wire === 'anthropic' ? anthropicModel(m) : openaiModel(m);
}

export function renderModels(wire: Wire, models: readonly ModelInfo[], query: URLSearchParams): Result<string> {
  if (wire === 'openai') return { ok: true, value: '{"object":"list","data":[' + models.map(openaiModel).join(',') + ']}' };

  const rawLimit = query.get('limit');
  let limit = 20;
  if (rawLimit !== null) {
    const n = Number(rawLimit);
    if (rawLimit.trim() === '' || !isInt(n)) return fail('limit: Input should be a valid integer', 'limit');
    if (n < 1) return fail('limit: Input should be greater than or equal to 1', 'limit');
    if (n > 1000) return fail('limit: Input should be less than or equal to 1000', 'limit');
    limit = n;
  }
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  if (afterId !== null && beforeId !== null) return fail('after_id and before_id cannot be used together; page in one direction at a time.', 'before_id');

  // Newest first; ties keep their configured order.
  const sorted = models.slice().sort((a, b) => b.created - a.created);
  let start = 0;
  let end = sorted.length;
  let hasMore: boolean;
  if (afterId !== null) {
    const i = sorted.findIndex((m) => m.id === afterId);
    if (i < 0) return fail(`after_id: no model with id '${afterId}'; page with the last_id of the previous page.`, 'after_id');
    start = i + 1;
    end = Math.min(sorted.length, start + limit);
    hasMore = end < sorted.length;
  } else if (beforeId !== null) {
    const i = sorted.findIndex((m) => m.id === beforeId);
    if (i < 0) return fail(`before_id: no model with id '${beforeId}'; page with the first_id of the next page.`, 'before_id');
    end = i;
    start = Math.max(0, end - limit);
    hasMore = start > 0;
  } else {
    end = Math.min(sorted.length, limit);
    hasMore = end < sorted.length;
  }
  const page = sorted.slice(start, end);
  const first = page.length > 0 ? JSON.stringify(page[0].id) : 'null';
  const last = page.length > 0 ? JSON.stringify(page[page.length - 1].id) : 'null';
  return {
    ok: true,
    value: '{"data":[' + page.map(anthropicModel).join(',') + '],"has_more":' + hasMore + ',"first_id":' + first + ',"last_id":' + last + '}',
  };
}
