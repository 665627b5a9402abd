import type { ServerResponse } from 'node:http';
import { parseCountTokens, renderCountTokens } from '../api/index.js';
import type { AuthContext } from '../tenancy/index.js';
import type { UpstreamFailure, UpstreamSink } from '../upstream/index.js';
import type { Gateway } from './gateway.js';

/**
 * `POST /v1/messages/count_tokens`: the replica's own tokenizer counts (vLLM's `/tokenize` with
 * the chat template applied), so the figure matches what the request will be billed.
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
  const outcome = await new Promise<{ ok: true; count: number } | { ok: false; f: UpstreamFailure }>((resolve) => {
    const sink: UpstreamSink = {
      onEvent() {},
      onDone() {},
      onBody(text) {
        try {
          const j = JSON.parse(text) as { count?: unknown };
          if (typeof j.count === 'number') return resolve({ ok: true, count: j.count });
        } catch { /* fall through */ }
        resolve({ ok: false, f: { kind: 'status', status: 502, body: 'the replica answered /tokenize without a count' } });
      },
      onFailure(f) {
        resolve({ ok: false, f });
      },
    };
    backend.pool.post(backend.tokenizePath, JSON.stringify(upstream), false, sink);
  });
  if (!outcome.ok) {
    gw.noteUpstreamFailure(backend, outcome.f);
    return void gw.sendError(res, 'anthropic', gw.classify(outcome.f, entry.config.id), requestId);
  }
  gw.sendJson(res, 'anthropic', requestId, 200, renderCountTokens(outcome.count));
}
