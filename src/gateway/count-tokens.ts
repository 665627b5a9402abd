import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId, parseCountTokens, renderCountTokens } from '../api/index.js';
import type { Clock } from '../time/index.js';
import { classify } from '../upstream/index.js';
import type { CountResult } from './backends.js';
import type { BodyReader } from './body.js';
import type { ModelCatalogue } from './catalogue.js';
import { requestContext, type RequestContext } from './context.js';
import { firstRefusal, type Stage } from './pipeline.js';
import type { Replies } from './replies.js';
import { CLIENT_LEFT } from './stages/index.js';
import type { Upstreams } from './upstreams.js';

export interface CountTokensDeps {
  /** authenticate, anthropic-version, body: the inference stages up to the body */
  readonly stages: readonly Stage[];
  readonly catalogue: Pick<ModelCatalogue, 'get' | 'ids'>;
  readonly upstreams: Pick<Upstreams, 'pickAny' | 'failed'>;
  readonly replies: Replies;
  readonly bodies: Pick<BodyReader, 'discard'>;
  readonly clock: Clock;
}

/**
 * `POST /v1/messages/count_tokens`: the replica's own tokenizer counts (vLLM's `/tokenize` with
 * the chat template applied, or an Anthropic upstream's own count_tokens), so the figure matches
 * what the request will be billed. Not inference: it is not settled.
 */
export class CountTokens {
  readonly #d: CountTokensDeps;

  constructor(d: CountTokensDeps) {
    this.#d = d;
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const d = this.#d;
    const cx = requestContext(req, res, 'anthropic', newRequestId(), d.clock.monoMs(), d.clock.nowMs());
    try {
      const e = await firstRefusal(d.stages, cx);
      if (e === null) return await this.#count(cx);
      if (cx.phase === 'auth') d.bodies.discard(req);
      if (e !== CLIENT_LEFT) d.replies.sendError(res, 'anthropic', e, cx.requestId);
    } catch (err) {
      d.replies.noteInternalError('count_tokens', err, cx.requestId);
      d.replies.failInternal(res, 'anthropic', cx.requestId);
    }
  }

  async #count(cx: RequestContext): Promise<void> {
    const { catalogue, upstreams, replies } = this.#d;
    const { res, requestId } = cx;
    const parsed = parseCountTokens(cx.body!);
    if (!parsed.ok) return void replies.sendError(res, 'anthropic', parsed.error, requestId);
    const entry = catalogue.get(parsed.value.model);
    if (entry === undefined) {
      return void replies.sendError(res, 'anthropic', { kind: 'not_found', param: 'model', message: `model: ${parsed.value.model} is not served here. Available models: ${catalogue.ids.join(', ')}.` }, requestId);
    }
    const backend = upstreams.pickAny(entry, cx.auth!.allowedRegions);
    if (backend === null) return void replies.sendError(res, 'anthropic', { kind: 'overloaded', message: `No replica of model ${entry.config.id} is available to count tokens; try again shortly.`, retryAfterS: 1 }, requestId);
    const upstream = { ...parsed.value.upstream, model: backend.replica.servedModel };
    const outcome = await new Promise<CountResult>((resolve) => backend.countTokens(upstream, resolve));
    if (!outcome.ok) {
      upstreams.failed(backend, outcome.f);
      return void replies.sendError(res, 'anthropic', classify(outcome.f, entry.config.id), requestId);
    }
    replies.sendJson(res, 'anthropic', requestId, 200, renderCountTokens(outcome.count));
  }
}
