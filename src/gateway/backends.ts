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

/** A pool for one replica. Its URL may name the `/v1` base or the server root; both work. */
export function createBackend(cfg: Config, replica: Replica, apiKey: string | undefined): Backend {
  const url = new URL(replica.url);
  const base = url.pathname.replace(/\/+$/, '');
  const v1 = base.endsWith('/v1') ? base : `${base}/v1`;
  const root = v1.slice(0, -3);
  return {
    replica,
    pool: new ReplicaPool(url.origin, { connections: cfg.upstream.connections, timeouts: cfg.upstream, apiKey }),
    chatPath: `${v1}/chat/completions`,
    tokenizePath: `${root}/tokenize`,
  };
}

/** Builds a pool per replica of the fleet. */
export function createBackends(cfg: Config, fleet: FleetRegistry, apiKeys: ReadonlyMap<string, string | undefined>): Map<Replica, Backend> {
  const out = new Map<Replica, Backend>();
  for (const replica of fleet.all) out.set(replica, createBackend(cfg, replica, apiKeys.get(replica.id)));
  return out;
}
