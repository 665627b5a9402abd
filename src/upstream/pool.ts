import { Pool } from 'undici';
import { UpstreamCall } from './call.js';
import type { UpstreamSink, UpstreamTimeouts } from './types.js';

export interface ReplicaPoolOptions {
  connections: number;
  timeouts: UpstreamTimeouts;
  /** sent as `Authorization: Bearer` (vLLM's --api-key) */
  apiKey?: string;
  /** more headers on every call (an Anthropic upstream's `x-api-key`, `anthropic-version`) */
  headers?: Readonly<Record<string, string>>;
}

/** One replica's connection pool: the dispatcher every call to that replica goes through. */
export class ReplicaPool {
  readonly #pool: Pool;
  readonly #headers: Record<string, string>;
  readonly timeouts: UpstreamTimeouts;

  constructor(readonly origin: string, opts: ReplicaPoolOptions) {
    this.timeouts = opts.timeouts;
    this.#pool = new Pool(origin, {
      connections: opts.connections,
      connect: { timeout: opts.timeouts.connectTimeoutMs },
      keepAliveTimeout: 30_000,
      pipelining: 1,
    });
    this.#headers = { 'content-type': 'application/json', ...opts.headers };
    if (opts.apiKey) this.#headers.authorization = `Bearer ${opts.apiKey}`;
  }

  /** POSTs a JSON body; the sink hears how it went. The returned call can be paused or aborted. */
  post(path: string, body: string, stream: boolean, sink: UpstreamSink): UpstreamCall {
    const call = new UpstreamCall(sink, stream, this.timeouts);
    this.#pool.dispatch(
      {
        origin: this.origin,
        path,
        method: 'POST',
        body,
        headers: this.#headers,
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
