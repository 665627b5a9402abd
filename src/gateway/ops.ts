import type { IncomingMessage, ServerResponse } from 'node:http';
import { newRequestId } from '../api/index.js';
import type { GatewayMetrics } from '../observe/index.js';
import type { BodyReader } from './body.js';
import type { Replies } from './replies.js';
import { bearerMatches } from './request-head.js';

// What operators and load balancers ask the gateway: /healthz and /metrics.

export interface OpsDeps {
  readonly registry: GatewayMetrics['registry'];
  /** sha256 of the /metrics bearer token, or null when /metrics is open */
  readonly token: Buffer | null;
  readonly bodies: Pick<BodyReader, 'discard'>;
  readonly replies: Replies;
  /** more Prometheus text after the gateway's own (the replicas' re-exported metrics); '' when none */
  readonly more?: () => string;
}

/** 200 once ready; 503 while starting, and while draining (with `connection: close`). */
export function healthz(res: ServerResponse, ready: boolean, draining: boolean): void {
  const status = ready ? 200 : 503;
  const body = ready ? '{"status":"ok"}' : draining ? '{"status":"draining"}' : '{"status":"starting"}';
  const h: Record<string, string> = { 'content-type': 'application/json', 'content-length': String(body.length) };
  if (draining) h.connection = 'close';
  res.writeHead(status, h);
  res.end(body);
}

/** The Prometheus text, behind `server.metricsToken` when one is set. */
export async function metricsText(d: OpsDeps, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    d.bodies.discard(req);
    if (d.token !== null && !bearerMatches(req.headers.authorization, d.token)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' });
      res.end('/metrics needs Authorization: Bearer <server.metricsToken>\n');
      return;
    }
    const own = await d.registry.metrics();
    const more = d.more?.() ?? '';
    const text = more === '' ? own : own + more;
    res.writeHead(200, { 'content-type': d.registry.contentType });
    res.end(text);
  } catch (err) {
    const requestId = newRequestId();
    d.replies.noteInternalError('metrics', err, requestId);
    d.replies.failInternal(res, 'openai', requestId);
  }
}
