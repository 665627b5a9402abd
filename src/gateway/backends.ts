import type { Config } from '../config/index.js';
import type { FleetRegistry, Replica } from '../fleet/index.js';
import { ReplicaPool } from '../upstream/index.js';

/** A replica and the way to reach it. */
export interface Backend {
  readonly replica: Replica;
  readonly pool: ReplicaPool;
  /** path of the OpenAI-compatible chat endpoint, e.g. `/v1/chat/completions` */
  readonly chatPath: string;
  /** vLLM's `/tokenize`, used for count_tokens */
  readonly tokenizePath: string;
}

/** Builds a pool per replica. A URL may name the `/v1` base or the server root; both work. */
export function createBackends(cfg: Config, fleet: FleetRegistry, apiKeys: ReadonlyMap<string, string | undefined>): Map<Replica, Backend> {
  const out = new Map<Replica, Backend>();
  for (const replica of fleet.all) {
    const url = new URL(replica.url);
    const base = url.pathname.replace(/\/+$/, '');
    const v1 = base.endsWith('/v1') ? base : `${base}/v1`;
    const root = v1.slice(0, -3);
    out.set(replica, {
      replica,
      pool: new ReplicaPool(url.origin, {
        connections: cfg.upstream.connections,
        timeouts: cfg.upstream,
        apiKey: apiKeys.get(replica.id),
      }),
      chatPath: `${v1}/chat/completions`,
      tokenizePath: `${root}/tokenize`,
    });
  }
  return out;
}
