import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId, renderModel, renderModels, type Wire } from '../api/index.js';
import type { Clock } from '../time/index.js';
import type { BodyReader } from './body.js';
import type { ModelCatalogue } from './catalogue.js';
import { requestContext, type RequestContext } from './context.js';
import { firstRefusal, type Stage } from './pipeline.js';
import type { Replies } from './replies.js';
import { decodePathSegment, wireOf } from './request-head.js';

export interface ModelsApiDeps {
  readonly authenticate: Stage;
  readonly catalogue: Pick<ModelCatalogue, 'get' | 'infos'>;
  readonly replies: Replies;
  readonly bodies: Pick<BodyReader, 'discard'>;
  readonly clock: Clock;
}

/** `GET /v1/models` and `GET /v1/models/{id}`, in either API's format. */
export class ModelsApi {
  readonly #d: ModelsApiDeps;
  readonly #stages: readonly Stage[];

  constructor(d: ModelsApiDeps) {
    this.#d = d;
    this.#stages = [d.authenticate];
  }

  async list(req: IncomingMessage, res: ServerResponse, query: string): Promise<void> {
    const cx = this.#context(req, res);
    try {
      if (!(await this.#authenticated(cx))) return;
      const out = renderModels(cx.wire, this.#d.catalogue.infos, new URLSearchParams(query));
      if (!out.ok) return void this.#d.replies.sendError(res, cx.wire, out.error, cx.requestId);
      this.#d.replies.sendJson(res, cx.wire, cx.requestId, 200, out.value);
    } catch (err) {
      this.#crash(cx, err);
    }
  }

  /** `raw` is the id as it is in the path (percent-encoded). */
  async get(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const cx = this.#context(req, res);
    try {
      if (!(await this.#authenticated(cx))) return;
      const r = this.#d.replies;
      const id = decodePathSegment(raw);
      if (id === null) {
        return void r.sendError(res, cx.wire, { kind: 'invalid_request', param: 'model', message: `The model id in the path is not valid percent-encoding: ${JSON.stringify(raw.slice(0, 200))}.` }, cx.requestId);
      }
      const entry = this.#d.catalogue.get(id);
      if (!entry) return void r.sendError(res, cx.wire, { kind: 'not_found', param: 'model', message: `model: ${id} is not served here.` }, cx.requestId);
      r.sendJson(res, cx.wire, cx.requestId, 200, renderModel(cx.wire, entry.info));
    } catch (err) {
      this.#crash(cx, err);
    }
  }

  #context(req: IncomingMessage, res: ServerResponse): RequestContext {
    const wire: Wire = wireOf(req, '/v1/models');
    return requestContext(req, res, wire, newRequestId(), this.#d.clock.monoMs(), this.#d.clock.nowMs());
  }

  /** The key checked (or the refusal sent); a GET's body, if any, is dropped either way. */
  async #authenticated(cx: RequestContext): Promise<boolean> {
    const e = await firstRefusal(this.#stages, cx);
    this.#d.bodies.discard(cx.req);
    if (e === null) return true;
    this.#d.replies.sendError(cx.res, cx.wire, e, cx.requestId);
    return false;
  }

  #crash(cx: RequestContext, err: unknown): void {
    this.#d.replies.noteInternalError('models', err, cx.requestId);
    this.#d.replies.failInternal(cx.res, cx.wire, cx.requestId);
  }
}
