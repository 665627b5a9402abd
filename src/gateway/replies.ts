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

  /**
   * A response head as one flat `[name, value, …]` list for `writeHead`: the request's own pairs
   * (`RequestContext.heads`), then `base`, then its request ids. Every inference response's head
   * goes through here, or the pairs the stages pushed are lost.
   */
  headersFor(wire: Wire, requestId: string, base: readonly string[] | null, heads: readonly string[] | null): string[] {
    // a copy: a head that failed to write is written again, with its pairs once
    const h = heads === null ? [] : heads.slice();
    if (base !== null) for (let i = 0; i < base.length; i++) h.push(base[i]);
    h.push('request-id', requestId);
    if (wire === 'openai') h.push('x-request-id', requestId);
    return h;
  }

  /** A JSON response with its length and request id (and any extra headers, and the request's own `heads`). */
  sendJson(res: ServerResponse, wire: Wire, requestId: string, status: number, body: string, extra?: Record<string, string> | null, heads?: readonly string[] | null): void {
    const h = this.headersFor(wire, requestId, extra == null ? null : flat(extra), heads ?? null);
    h.push('content-type', 'application/json', 'content-length', String(Buffer.byteLength(body)));
    res.writeHead(status, h);
    res.end(body);
  }

  /** Writes an error in the wire format (with the request's own `heads`, once it has them); returns the status sent. */
  sendError(res: ServerResponse, wire: Wire, err: GatewayError, requestId: string, heads?: readonly string[] | null): number {
    const w = renderError(wire, err, requestId);
    if (res.headersSent) res.end();
    else this.sendJson(res, wire, requestId, w.status, w.body, w.headers, heads);
    return w.status;
  }

  /** A throw or rejection the boundary caught: one log line with its stack, and a count. */
  noteInternalError(phase: Phase, err: unknown, requestId: string): void {
    try {
      this.#metrics.internalErrors.inc({ stage: phase });
      this.#log.error({ err, requestId, stage: phase }, 'request failed inside the gateway');
    } catch { /* the boundary itself must not throw */ }
  }

  /**
   * Ends a response the gateway failed on: 500 in the wire format, or the stream's error event
   * when `streaming` (its SSE head is out: a head written in one `writeHead` cannot be read back).
   */
  failInternal(res: ServerResponse, wire: Wire, requestId: string, heads?: readonly string[] | null, streaming = false): number {
    return endInternal(res, wire, requestId, streaming, (e) => this.sendError(res, wire, e, requestId, heads));
  }
}

function flat(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const k in headers) out.push(k, headers[k]);
  return out;
}
