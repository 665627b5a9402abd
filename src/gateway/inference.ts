import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId, type GatewayError, type Wire } from '../api/index.js';
import type { UsageOutcome } from '../ledger/index.js';
import type { Tracing } from '../observe/index.js';
import type { Clock } from '../time/index.js';
import type { Admission } from './admission.js';
import type { DemandSink } from './autoscaler.js';
import type { BodyReader } from './body.js';
import { requestContext, type AdmittedContext, type RequestContext } from './context.js';
import { Exchange, type ExchangeDeps } from './exchange.js';
import { compose, type Ending, type Run, type Stage } from './pipeline.js';
import type { RateLimits } from './rate-limits.js';
import type { Replies } from './replies.js';
import type { GatewayRouter } from './routing.js';
import { outcomeOf, type Settlement } from './settle.js';
import { CLIENT_LEFT } from './stages/index.js';

export interface InferenceDeps {
  /** the way in, per API (the Anthropic one checks anthropic-version too) */
  readonly stages: { readonly anthropic: readonly Stage[]; readonly openai: readonly Stage[] };
  readonly exchange: ExchangeDeps;
  readonly routing: Pick<GatewayRouter, 'ticket'>;
  readonly admission: Pick<Admission, 'admit'>;
  readonly rateLimits: Pick<RateLimits, 'release'>;
  readonly replies: Replies;
  readonly settlement: Pick<Settlement, 'settle'>;
  readonly bodies: Pick<BodyReader, 'discard'>;
  readonly clock: Clock;
  /** lower-cased */
  readonly sessionHeader: string;
  /** told of every request that reaches admission (the autoscaler's demand); absent: none */
  readonly demand?: DemandSink | null;
  /** null or absent: tracing is off, and no request is traced */
  readonly tracing?: Tracing | null;
}

/**
 * `POST /v1/messages` and `POST /v1/chat/completions`: the stages, then admission and the
 * exchange; the one refusal and the error boundary for all of it.
 */
export class Inference implements Ending {
  readonly #d: InferenceDeps;
  readonly #anthropic: Run;
  readonly #openai: Run;

  constructor(d: InferenceDeps) {
    this.#d = d;
    this.#anthropic = compose(d.stages.anthropic, this);
    this.#openai = compose(d.stages.openai, this);
  }

  /** The error boundary of an inference request: whatever throws below ends as a 500, settled once. */
  handle(req: IncomingMessage, res: ServerResponse, wire: Wire): void {
    const clock = this.#d.clock;
    const cx = requestContext(req, res, wire, newRequestId(), clock.monoMs(), clock.nowMs());
    const tracing = this.#d.tracing;
    try {
      // inside the boundary: a trace that cannot start (whatever the client's headers) is this request's 500, not the server's
      if (tracing != null) cx.trace = tracing.start(req.headers, wire, cx.t0, cx.startedAt);
      const p = (wire === 'anthropic' ? this.#anthropic : this.#openai)(cx);
      if (p instanceof Promise) p.catch((err: unknown) => this.#crash(cx, err));
    } catch (err) {
      this.#crash(cx, err);
    }
  }

  /**
   * A request refused before it reached a replica: answered in its wire format and, once its key
   * is known, settled. A refusal before the body was asked for drops the body.
   */
  refuse(cx: RequestContext, err: GatewayError): void {
    const d = this.#d;
    if (cx.phase === 'auth') d.bodies.discard(cx.req);
    if (err === CLIENT_LEFT) {
      if (cx.auth !== null) this.#settle(cx, 499, 'cancelled');
      else if (cx.trace !== null) this.#endTrace(cx, 499, 'cancelled');
      return;
    }
    const status = d.replies.sendError(cx.res, cx.wire, err, cx.requestId, cx.heads);
    if (cx.auth !== null) this.#settle(cx, status, outcomeOf(err));
    else if (cx.trace !== null) this.#endTrace(cx, status, outcomeOf(err));
  }

  /** Every stage passed: its routing key, then the admission queue, which starts the exchange. */
  pass(cx: RequestContext): void {
    const d = this.#d;
    const ready = cx as AdmittedContext;
    // the client left while a stage waited (a key look-up, Redis): nothing goes upstream for nobody
    if (cx.res.destroyed) {
      d.rateLimits.release(ready.reservation, 0, 0, false);
      cx.reservation = null;
      return this.refuse(cx, CLIENT_LEFT);
    }
    cx.phase = 'routing';
    const trace = cx.trace;
    const routedAt = trace === null ? 0 : d.clock.monoMs();
    const session = cx.req.headers[d.sessionHeader];
    cx.ticket = d.routing.ticket(ready.ireq, ready.auth.allowedRegions, typeof session === 'string' && session !== '' ? session : undefined, ready.auth.tenantId);
    if (trace !== null) trace.stage('routing', routedAt, d.clock.monoMs());
    cx.heads.push('x-switchyard-priority', ready.priority);
    const exchange = cx.exchange = new Exchange(ready, d.exchange);
    // demand, whatever admission then does with it (served, queued or shed)
    const demand = d.demand;
    if (demand != null && demand.watching(ready.ireq.model)) demand.arrived(ready.ireq.model, exchange.promptTokens);
    cx.phase = 'admission';
    d.admission.admit(exchange, { model: ready.ireq.model, tenant: ready.auth.tenantId, weight: ready.tier.weight, priority: ready.priority, deadlineMs: cx.deadlineMs });
  }

  /** Settles a request refused before it had an exchange; its phase says so to the boundary. */
  #settle(cx: RequestContext, status: number, outcome: UsageOutcome): void {
    cx.phase = 'settle';
    this.#d.settlement.settle(cx, status, outcome);
  }

  /** Ends the trace of a request refused before its key was known (it has no record to settle). */
  #endTrace(cx: RequestContext, status: number, outcome: UsageOutcome): void {
    try {
      cx.trace!.end({ requestId: cx.requestId, status, outcome, record: null, maxTokens: null, priority: null }, this.#d.clock.monoMs());
    } catch { /* the trace is dropped */ }
  }

  #crash(cx: RequestContext, err: unknown): void {
    if (cx.exchange !== null) return cx.exchange.crash(err, cx.phase);
    const d = this.#d;
    d.replies.noteInternalError(cx.phase, err, cx.requestId);
    if (cx.reservation !== null) {
      try {
        d.rateLimits.release(cx.reservation, 0, 0, false);
      } catch (e) {
        d.replies.noteInternalError('settle', e, cx.requestId);
      }
    }
    const status = d.replies.failInternal(cx.res, cx.wire, cx.requestId, cx.heads);
    // not a second record for a request whose settling itself threw
    if (cx.auth === null && cx.trace !== null) this.#endTrace(cx, status, 'internal_error');
    if (cx.auth === null || cx.phase === 'settle') return;
    try {
      d.settlement.settle(cx, status, 'internal_error');
    } catch (e) {
      d.replies.noteInternalError('settle', e, cx.requestId);
    }
  }
}
