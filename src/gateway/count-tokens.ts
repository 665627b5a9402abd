import type { ServerResponse } from 'node:http';
import { parseCountTokens, renderCountTokens } from '../api/index.js';
import type { AuthContext } from '../tenancy/index.js';
import type { CountResult } from './backends.js';
import type { Gateway } from './gateway.js';

/**
 * `POST /v1/messages/count_tokens`: the replica's own tokenizer counts (vLLM's `/tokenize` with
 * the chat template applied, or an Anthropic upstream's own count_tokens), so the figure matches
 * what the request will be billed.
 */
export async function countTokens(gw: Gateway, res: ServerResponse, requestId: string, auth: AuthContext, body: Buffer): Promise<void> {
  const parsed = parseCountTokens(body);
  if (!parsed.ok) return void gw.sendError(res, 'anthropic', parsed.error, requestId);
  const entry = gw.modelEntry(parsed.value.model);
  if (entry === undefined) {
    return void gw.sendError(res, 'anthropic', { kind: 'not_found', param: 'model', message: `model: ${parsed.value.model} is not served here. Available models: ${gw.modelIds.join(', ')}.` }, requestId);
  }
  const backend = gw.pickAny(entry, auth.allowedRegions);
  if (backend === null) return void gw.sendError(res, 'anthropic', { kind: 'overloaded', message: `No replica of model ${entry.config.id} is available to count tokens; try again shortly.`, retryAfterS: 1 }, requestId);
  const upstream = { ...parsed.value.upstream, model: backend.replica.servedModel };
  const outcome = await new Promise<CountResult>((resolve) => backend.countTokens(upstream, resolve));
  if (!outcome.ok) {
    gw.noteUpstreamFailure(backend, outcome.f);
    return void gw.sendError(res, 'anthropic', gw.classify(outcome.f, entry.config.id), requestId);
  }
  gw.sendJson(res, 'anthropic', requestId, 200, renderCountTokens(outcome.count));
}
