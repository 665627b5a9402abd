import { Pool } from 'undici';
import { wall } from '../time/index.js';
import { UpstreamCall, type CallTime } from './call.js';
import type { CallHeaders } from './dispatch.js';
import type { UpstreamSink, UpstreamTimeouts } from './types.js';

export interface ReplicaClientOptions {
  connections: number;
  timeouts: UpstreamTimeouts;
  /** sent as `Authorization: Bearer` (vLLM's --api-key) */
  apiKey?: string;
  /** more headers on every call (an Anthropic upstream's `x-api-key`, `anthropic-version`) */
  headers?: Readonly<Record<string, string>>;
  /** the clock and timers each call's first-token and whole-request deadlines run on (default: the wall's) */
  time?: CallTime;
}

/**
 * The client every call to one replica goes through: its connections (an undici `Pool`, which is
 * undici's word, not the fleet's pool of replicas), its headers and its deadlines.
 */
export class ReplicaClient {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  readonly #time: CallTime;
  readonly timeouts: UpstreamTimeouts;

  constructor(readonly origin: string, opts: ReplicaClientOptions) {
    this.timeouts = opts.timeouts;
    this.#time = opts.time ?? wall;
    this.#pool = new Pool(origin, {
      connections: opts.connections,
      connect: { timeout: opts.timeouts.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
    this.#headers = { 'content-type': 'application/json', ...opts.headers };
    if (opts.apiKey) this.#headers.authorization = `Bearer ${opts.apiKey}`;
  }

  /**
   * POSTs a JSON body; the sink hears how it went. The returned call can be paused or aborted.
   * `trace`: the call's trace context headers; without them the shared headers go as they are.
   */
  post(path: string, body: string, stream: boolean, sink: UpstreamSink, trace?: CallHeaders | null): UpstreamCall {
    const call = new UpstreamCall(sink, stream, this.timeouts, this.#time);
    this.#pool.dispatch(
      {
        origin: this.origin,
        path,
        method: 'POST',
        body,
        headers: trace == null ? this.#headers : withTrace(this.#headers, trace),
        headersTimeout: this.timeouts.headersTimeoutMs,
        bodyTimeout: this.timeouts.idleTimeoutMs,
      },
      call,
    );
    return call;
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  destroy(): Promise<void> {
    return this.#pool.destroy();
  }
}


function withTrace(headers: Record<string, string>, t: CallHeaders): Record<string, string> {
  const out: Record<string, string> = { ...headers, traceparent: t.traceparent };
  if (t.tracestate !== undefined) out.tracestate = t.tracestate;
  return out;
}
