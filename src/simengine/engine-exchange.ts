import type { ServerResponse } from 'node:http';
import type { SeqView, TokenRequest } from '../engine/index.js';
import type { Clock } from '../time/index.js';
import type { AnswerPlan } from './answer.js';
import type { EngineMetrics } from './metrics.js';
import {
  ROLE_DELTA, completeBody, contentDelta, frame, streamHead, toolArgsDelta, toolHeaderDelta, usageFrame, usageJson,
  type Kind, type UsageCounts,
} from './render.js';
import { SSE_DONE, SSE_HEADERS } from './wire.js';

/** What an exchange needs from its server. */
export interface EngineExchangeHost {
  readonly metrics: EngineMetrics;
  /** stamps `created` (epoch seconds) on each answer */
  readonly clock: Clock;
  /** take the request out of the engine (frees its KV) */
  abort(x: EngineExchange): void;
}

export interface EngineExchangeInit {
  kind: Kind;
  responseId: string;
  model: string;
  stream: boolean;
  includeUsage: boolean;
  continuousUsage: boolean;
  promptTokens: number[];
  plan: AnswerPlan;
  arrivalS: number;
}

/**
 * One in-flight generation: the engine request (it implements EngineRequest, so the engine holds
 * it directly) and its HTTP response. The driver calls `onToken` as the engine produces tokens.
 */
export class EngineExchange implements TokenRequest {
  readonly id: number;
  readonly promptTokens: number[];
  readonly maxTokens: number;
  readonly outputTokens: Uint32Array;
  seq: SeqView<EngineExchange> | null = null;
  /** answered or abandoned: the driver skips it */
  closed = false;
  readonly #host: EngineExchangeHost;
  readonly #res: ServerResponse;
  readonly #x: EngineExchangeInit;
  readonly #created: number;
  readonly #head: string;
  readonly #usage: UsageCounts;
  #delivered = 0;
  #emitted = 0;
  #lastS = 0;

  constructor(id: number, host: EngineExchangeHost, res: ServerResponse, init: EngineExchangeInit) {
    this.id = id;
    this.#host = host;
    this.#res = res;
    this.#x = init;
    this.#created = Math.floor(host.clock.nowMs() / 1000);
    this.promptTokens = init.promptTokens;
    this.maxTokens = init.plan.tokens;
    this.outputTokens = init.plan.ids;
    this.#head = init.stream ? streamHead(init.kind, init.responseId, this.#created, init.model) : '';
    this.#usage = { prompt: init.promptTokens.length, completion: 0, cached: 0 };
  }

  /** The client went away before the answer ended: abort in the engine now. */
  readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.#host.abort(this);
    this.#host.metrics.success('abort');
  };

  onStarted(stepStartS: number): void {
    this.#host.metrics.queue.observe(Math.max(0, stepStartS - this.#x.arrivalS));
  }

  onToken(nowS: number): void {
    const x = this.#x;
    const plan = x.plan;
    const i = this.#delivered++;
    const last = this.#delivered === plan.tokens;
    const m = this.#host.metrics;
    this.#usage.completion = this.#delivered;
    if (i === 0) {
      this.#usage.cached = this.seq?.cachedTokens ?? 0;
      m.ttft.observe(nowS - x.arrivalS);
    } else m.itl.observe(nowS - this.#lastS);
    this.#lastS = nowS;
    if (x.stream) this.#streamToken(i, last);
    if (last) this.#finish(nowS);
  }

  #streamToken(i: number, last: boolean): void {
    const x = this.#x;
    const plan = x.plan;
    const res = this.#res;
    const usage = x.continuousUsage ? usageJson(this.#usage) : null;
    let out = '';
    if (i === 0) {
      res.writeHead(200, SSE_HEADERS);
      if (x.kind === 'chat') {
        const u = x.continuousUsage ? usageJson({ prompt: this.#usage.prompt, completion: 0, cached: this.#usage.cached }) : null;
        out = frame(this.#head, ROLE_DELTA, null, null, u);
      }
    }
    // release the text up to this token's end, never past a stop string's cut
    const end = Math.min(plan.ends[i], plan.cut);
    const piece = end > this.#emitted ? plan.text.slice(this.#emitted, end) : '';
    if (end > this.#emitted) this.#emitted = end;
    let delta: string | null = null;
    if (plan.tool && i === 0) delta = toolHeaderDelta(plan.tool.id, plan.tool.name);
    else if (piece !== '') delta = plan.tool ? toolArgsDelta(piece) : contentDelta(x.kind, piece);
    else if (last) delta = contentDelta(x.kind, ''); // nothing left to show, but the finish must go out
    if (delta !== null) out += frame(this.#head, delta, last ? plan.finishReason : null, last ? plan.stopReason : null, usage);
    if (out !== '') res.write(out);
  }

  #finish(nowS: number): void {
    const x = this.#x;
    this.closed = true;
    const m = this.#host.metrics;
    m.success(x.plan.finishReason === 'length' ? 'length' : 'stop');
    m.e2e.observe(nowS - x.arrivalS);
    const res = this.#res;
    if (x.stream) {
      res.end(x.includeUsage ? usageFrame(this.#head, usageJson(this.#usage)) + SSE_DONE : SSE_DONE);
      return;
    }
    const body = completeBody(x.kind, x.responseId, this.#created, x.model, x.plan, this.#usage);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }
}
