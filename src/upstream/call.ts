import type { Dispatcher } from 'undici';
import { refusedConnection } from '../fleet/index.js';
import { wall, type Clock, type TimerHandle, type Timers } from '../time/index.js';
import { SseReader, type SseDataHandler } from './sse.js';
import type { TimeoutPhase, UpstreamSink, UpstreamTimeouts } from './types.js';

type Controller = Dispatcher.DispatchController;

/** The longest wait a replica's retry-after is passed on with: a client is not told to stay away for an hour. */
export const MAX_RETRY_AFTER_S = 60;

/**
 * A replica's `retry-after` (RFC 9110: delay-seconds, or an HTTP date) in whole seconds from
 * `nowMs`, at most MAX_RETRY_AFTER_S; undefined for a header absent, repeated or not one of the
 * two forms. A date already past is 0.
 */
export function retryAfterS(v: string | string[] | undefined, nowMs: number): number | undefined {
  if (typeof v !== 'string') return undefined;
  const text = v.trim();
  if (/^\d+$/.test(text)) return Math.min(MAX_RETRY_AFTER_S, Number(text));
  // IMF-fixdate and the obsolete RFC 850 form both end in GMT; Date.parse alone takes almost anything
  if (!text.endsWith(' GMT')) return undefined;
  const at = Date.parse(text);
  if (!Number.isFinite(at)) return undefined;
  return Math.min(MAX_RETRY_AFTER_S, Math.max(0, Math.ceil((at - nowMs) / 1000)));
}

/** The clock a call measures its deadlines on and the timers it arms them with. */
export interface CallTime {
  readonly clock: Clock;
  readonly timers: Timers;
}

/**
 * One request to one replica: an undici dispatch handler that reads the response and tells the
 * sink once. It owns the first-token and whole-request deadlines; undici owns connect, headers and
 * idle-body timeouts.
 */
export class UpstreamCall implements Dispatcher.DispatchHandler, SseDataHandler {
  #controller: Controller | null = null;
  #status = 0;
  /** an error answer's valid retry-after, in seconds */
  #retryAfterS: number | undefined = undefined;
  #chunks: Buffer[] | null = null;
  #sse: SseReader | null = null;
  #timer: TimerHandle | null = null;
  #over = false;
  #firstEvent = true;
  #startedAt = 0;
  /** the deadline the armed timer enforces (the port's callbacks take one argument) */
  #phase: TimeoutPhase = 'total';
  /** true once response headers arrived: a failure after that is not safe to retry */
  responded = false;

  constructor(
    private readonly sink: UpstreamSink,
    private readonly stream: boolean,
    private readonly timeouts: UpstreamTimeouts,
    private readonly time: CallTime = wall,
  ) {
    this.#startedAt = time.clock.monoMs();
    const phase: TimeoutPhase = stream ? 'first_token' : 'total';
    const ms = stream ? Math.min(timeouts.firstTokenTimeoutMs, timeouts.requestTimeoutMs) : timeouts.requestTimeoutMs;
    this.#arm(phase, ms);
  }

  /** Stops reading (backpressure from the client). */
  pause(): void {
    this.#controller?.pause();
  }

  resume(): void {
    this.#controller?.resume();
  }

  /** Cancels the call (the client went away); the sink hears nothing more. */
  abort(): void {
    if (this.#over) return;
    this.#over = true;
    this.#clear();
    this.#controller?.abort(new Error('client closed the request'));
  }

  onRequestStart(controller: Controller): void {
    this.#controller = controller;
    if (this.#over) controller.abort(new Error('client closed the request'));
  }

  onResponseStart(_c: Controller, statusCode: number, headers?: Record<string, string | string[] | undefined>): void {
    if (statusCode < 200) return;
    this.#status = statusCode;
    this.responded = true;
    if (statusCode >= 300) this.#retryAfterS = retryAfterS(headers?.['retry-after'], this.time.clock.nowMs());
    if (this.stream && statusCode < 300) this.#sse = new SseReader(this);
    else this.#chunks = [];
  }

  onResponseData(_c: Controller, chunk: Buffer): void {
    if (this.#over) return;
    if (this.#sse !== null) this.#sse.push(chunk);
    else this.#chunks!.push(chunk);
  }

  onSseData(data: string): void {
    if (this.#over) return;
    if (data === '[DONE]') return this.#finishStream();
    if (this.#firstEvent) {
      this.#firstEvent = false;
      const left = this.timeouts.requestTimeoutMs - (this.time.clock.monoMs() - this.#startedAt);
      this.#arm('total', Math.max(1, left));
    }
    this.sink.onEvent(data);
  }

  onResponseEnd(): void {
    if (this.#over) return;
    if (this.#sse !== null) return this.#finishStream();
    this.#over = true;
    this.#clear();
    const body = this.#chunks!.length === 1 ? this.#chunks![0].toString('utf8') : Buffer.concat(this.#chunks!).toString('utf8');
    if (this.#status >= 200 && this.#status < 300) this.sink.onBody(body);
    else if (this.#retryAfterS === undefined) this.sink.onFailure({ kind: 'status', status: this.#status, body });
    else this.sink.onFailure({ kind: 'status', status: this.#status, body, retryAfterS: this.#retryAfterS });
  }

  onResponseError(_c: Controller, err: Error): void {
    if (this.#over) return;
    this.#over = true;
    this.#clear();
    const code = (err as { code?: string }).code;
    if (code === 'UND_ERR_CONNECT_TIMEOUT') this.sink.onFailure({ kind: 'timeout', phase: 'connect' });
    else if (code === 'UND_ERR_HEADERS_TIMEOUT') this.sink.onFailure({ kind: 'timeout', phase: 'headers' });
    else if (code === 'UND_ERR_BODY_TIMEOUT') this.sink.onFailure({ kind: 'timeout', phase: 'idle' });
    else if (this.responded) this.sink.onFailure({ kind: 'broken', message: err.message });
    else this.sink.onFailure({ kind: 'connect', message: err.message || String(code), refused: refusedConnection(code) });
  }

  #finishStream(): void {
    this.#over = true;
    this.#clear();
    // A stream that ends without [DONE] is still over; the transcoder knows whether it was whole.
    this.sink.onDone();
  }

  #arm(phase: TimeoutPhase, ms: number): void {
    this.#clear();
    this.#phase = phase;
    this.#timer = this.time.timers.after(ms, UpstreamCall.#onTimeout, this);
  }

  #clear(): void {
    if (this.#timer !== null) {
      this.time.timers.cancel(this.#timer);
      this.#timer = null;
    }
  }

  static #onTimeout(call: UpstreamCall): void {
    if (call.#over) return;
    const phase = call.#phase;
    call.#over = true;
    call.#timer = null;
    call.#controller?.abort(new Error(`upstream ${phase} timeout`));
    call.sink.onFailure({ kind: 'timeout', phase });
  }
}
