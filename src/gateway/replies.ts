import type { ServerResponse } from 'node:http';
import { renderError, type GatewayError, type Wire } from '../api/index.js';
import type { GatewayMetrics, Logger } from '../observe/index.js';
import { endInternal, type Phase } from './boundary.js';

/** How the gateway answers: JSON and errors with their request-id headers, and the boundary's 500. */
export class Replies {
  readonly #metrics: Pick<GatewayMetrics, 'internalErrors'>;
  readonly #log: Logger;

  constructor(metrics: Pick<GatewayMetrics, 'internalErrors'>, log: Logger) {
    this.#metrics = metrics;
    this.#log = log;
  }

  headersFor(wire: Wire, requestId: string, base: Record<string, string> | null): Record<string, string> {
    const h: Record<string, string> = base === null ? {} : { ...base };
    h['request-id'] = requestId;
    if (wire === 'openai') h['x-request-id'] = requestId;
    return h;
  }

  /** A JSON response with its length and request id (and any extra headers). */
  sendJson(res: ServerResponse, wire: Wire, requestId: string, status: number, body: string, extra?: Record<string, string>): void {
    const h = this.headersFor(wire, requestId, extra ?? null);
    h['content-type'] = 'application/json';
    h['content-length'] = String(Buffer.byteLength(body));
    res.writeHead(status, h);
    res.end(body);
  }

  /** Writes an error in the wire format; returns the status sent. */
  sendError(res: ServerResponse, wire: Wire, err: GatewayError, requestId: string): number {
    const w = renderError(wire, err, requestId);
    if (res.headersSent) res.end();
    else this.sendJson(res, wire, requestId, w.status, w.body, w.headers);
    return w.status;
  }

  /** A throw or rejection the boundary caught: one log line with its stack, and a count. */
  noteInternalError(phase: Phase, err: unknown, requestId: string): void {
    try {
      this.#metrics.internalErrors.inc({ stage: phase });
      this.#log.error({ err, requestId, stage: phase }, 'request failed inside the gateway');
    } catch { /* the boundary itself must not throw */ }
  }

  /** Ends a response the gateway failed on: 500 in the wire format, or the stream's error event. */
  failInternal(res: ServerResponse, wire: Wire, requestId: string): number {
    return endInternal(res, wire, requestId, (e) => this.sendError(res, wire, e, requestId));
  }
}
