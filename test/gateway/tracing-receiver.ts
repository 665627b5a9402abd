import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// An OTLP/HTTP collector for specs: it decodes the JSON export requests posted to /v1/traces and
// keeps their spans, flattened, with attributes as plain values.

export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's numbering: 1 internal, 2 server, 3 client */
  readonly kind: number;
  /** epoch ns */
  readonly start: bigint;
  readonly end: bigint;
  readonly attributes: Readonly<Record<string, unknown>>;
  /** 0 unset, 1 ok, 2 error */
  readonly statusCode: number;
  readonly resource: Readonly<Record<string, unknown>>;
}

export interface Receiver {
  readonly url: string;
  readonly spans: ReceivedSpan[];
  /** the headers of each export request */
  readonly requests: Array<Record<string, string | string[] | undefined>>;
  /** the spans of one trace, once `count` of them arrived (or throws after `ms`) */
  trace(traceId: string, count: number, ms?: number): Promise<ReceivedSpan[]>;
  /** the spans of the trace whose root carries this request id */
  traceOf(requestId: string, count: number, ms?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } };

function value(v: OtlpValue): unknown {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attrs(list: Array<{ key: string; value: OtlpValue }> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of list ?? []) out[a.key] = value(a.value);
  return out;
}

/** `delayMs`: how long it takes to answer each export (a slow collector); `Infinity`: never. */
export async function otlpReceiver(opts: { delayMs?: number } = {}): Promise<Receiver> {
  const spans: ReceivedSpan[] = [];
  const requests: Receiver['requests'] = [];
  const server: Server = createServer((q, s) => {
    let raw = '';
    q.setEncoding('utf8');
    q.on('data', (d: string) => (raw += d)).on('end', () => {
      if (q.url !== '/v1/traces') return void s.writeHead(404).end();
      requests.push({ ...q.headers });
      const body = JSON.parse(raw) as { resourceSpans?: any[] };
      for (const rs of body.resourceSpans ?? []) {
        const resource = attrs(rs.resource?.attributes);
        for (const ss of rs.scopeSpans ?? []) {
          for (const sp of ss.spans ?? []) {
            spans.push({
              traceId: sp.traceId, spanId: sp.spanId, parentSpanId: sp.parentSpanId ?? '', name: sp.name, kind: sp.kind,
              start: BigInt(sp.startTimeUnixNano), end: BigInt(sp.endTimeUnixNano), attributes: attrs(sp.attributes),
              statusCode: sp.status?.code ?? 0, resource,
            });
          }
        }
      }
      const answer = () => void s.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (opts.delayMs === undefined) answer();
      else if (Number.isFinite(opts.delayMs)) setTimeout(answer, opts.delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  async function until(pick: () => ReceivedSpan[] | null, what: string, ms: number): Promise<ReceivedSpan[]> {
    const deadline = Date.now() + ms;
    for (;;) {
      const got = pick();
      if (got !== null) return got;
      if (Date.now() > deadline) throw new Error(`the collector did not get ${what} in ${ms} ms (it has ${spans.length} spans)`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  return {
    url, spans, requests,
    trace(traceId, count, ms = 3_000) {
      return until(() => {
        const t = spans.filter((s) => s.traceId === traceId);
        return t.length >= count ? t : null;
      }, `${count} spans of trace ${traceId}`, ms);
    },
    traceOf(requestId, count, ms = 3_000) {
      return until(() => {
        const root = spans.find((s) => s.attributes['switchyard.request.id'] === requestId);
        if (root === undefined) return null;
        const t = spans.filter((s) => s.traceId === root.traceId);
        return t.length >= count ? t : null;
      }, `${count} spans of request ${requestId}`, ms);
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
