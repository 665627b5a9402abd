import type { ServerResponse } from 'node:http';
import { renderError, type GatewayError, type Wire } from '../api/index.js';

// The error boundary's answer. Whatever threw, the client hears a 500 `api_error` in its own wire
// format with the request id (or, on a stream already under way, the API's error event), and the
// operator gets the stack in the log under the same id.

/**
 * Where a failure happened, for `switchyard_internal_errors_total{stage}` and the log (a label,
 * not a pipeline stage: several stages share one).
 */
export type Phase =
  | 'route' | 'auth' | 'body' | 'parse' | 'limits' | 'admission' | 'routing' | 'upstream' | 'client'
  | 'count_tokens' | 'models' | 'admin' | 'metrics' | 'settle';

function internalError(requestId: string): GatewayError {
  return {
    kind: 'internal',
    message: `The gateway failed while handling this request (${requestId}); the failure is logged under that id. Retry; report the id if it persists.`,
  };
}

/** A stream's own error event: what both SDKs turn into an APIError mid-stream. */
export function streamErrorFrame(wire: Wire, e: GatewayError, requestId: string): string {
  const body = renderError(wire, e, requestId).body;
  return wire === 'anthropic' ? 'event: error\ndata: ' + body + '\n\n' : 'data: ' + body + '\n\n';
}

/**
 * Ends a response the gateway failed on, whatever state it is in; never throws. `send` writes a
 * complete error response (the gateway's own, with its request-id headers). `streaming` says an
 * SSE head went out (a head written in one `writeHead` is not kept to be read back). Returns the
 * status recorded for the request.
 */
export function endInternal(res: ServerResponse, wire: Wire, requestId: string, streaming: boolean, send: (e: GatewayError) => number): number {
  const e = internalError(requestId);
  try {
    if (!res.headersSent) return send(e);
    if (!res.writableEnded && (streaming || String(res.getHeader('content-type')).startsWith('text/event-stream'))) {
      res.end(streamErrorFrame(wire, e, requestId));
      return res.statusCode;
    }
    // a JSON body half written cannot be mended: close, so the client sees a broken response
    if (!res.writableEnded) res.destroy();
    return res.statusCode;
  } catch {
    res.destroy();
    return 500;
  }
}
