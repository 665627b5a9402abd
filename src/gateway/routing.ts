import type { InferenceRequest } from '../api/index.js';
import type { Config } from '../config/index.js';
import { hash53, PrefixIndex, SessionTable, type FleetRegistry, type Replica } from '../fleet/index.js';
import { Decider, promptPrefix, readsPrefix, regionOrder, resolveProfile, Router, type RouteTicket } from '../routing/index.js';
import { wall, type TimePorts } from '../time/index.js';

// The gateway's side of routing: it builds each request's route ticket (residency, prefix hashes,
// session key) and picks through the shared Decider, which asks the pure Router and teaches the
// learned state what the pick implies (the simulator picks through the same one).

export type { RouteTicket };

export class GatewayRouter {
  readonly router: Router;
  readonly prefixes: PrefixIndex;
  /** ~8 MiB whatever the session keys are: about 130 000 sessions */
  readonly sessions = new SessionTable({ maxBytes: 8 << 20 });
  readonly #home: string;
  readonly #cfg: Config['routing'];
  readonly #usesPrefix: boolean;
  readonly #decider: Decider;

  constructor(config: Config, fleet: FleetRegistry, ports: TimePorts = wall) {
    this.#cfg = config.routing;
    this.#home = config.region;
    const profile = resolveProfile(config.routing.profile, config.routing.profiles);
    this.#usesPrefix = readsPrefix(profile);
    const capacity = config.routing.prefix.capacityBlocks;
    this.prefixes = new PrefixIndex({ capacityBlocks: () => capacity, maxBlocks: config.routing.prefix.maxBlocks });
    this.router = new Router({
      profile,
      regionOrder: regionOrder(config.regions),
      state: { prefixIndex: this.prefixes, cachedBlocks: null, sessions: this.sessions },
    });
    this.#decider = new Decider({ router: this.router, prefixes: this.#usesPrefix ? this.prefixes : null, sessions: this.sessions, clock: ports.clock, rng: ports.rng });
    // a replica that left rotation may have restarted cold: what it was believed to hold is gone
    fleet.onRotation((r, routable) => {
      // a replica a rollout took out (weight 0) keeps its cache: forget it only for the other reasons
      if (!routable && r.versionWeight > 0) this.prefixes.forget(r.slot);
    });
  }

  /** `tenantId` scopes the session key: two tenants' `x-session-id: 1` are different sessions. */
  ticket(ireq: InferenceRequest, allowedRegions: readonly string[] | null, sessionHeader: string | undefined, tenantId = ''): RouteTicket {
    const session = sessionHeader ?? ireq.userId;
    const prefix = this.#usesPrefix ? promptPrefix(ireq.upstream, this.#cfg.prefix.blockChars, this.#cfg.prefix.maxBlocks) : null;
    // no tokenizer here: about four characters a token, as the block count measures them
    const promptTokens = prefix !== null ? Math.max(1, prefix.chars >> 2) : 0;
    return {
      homeRegion: this.#home, allowedRegions, exclude: null,
      prefix: prefix?.hashes ?? null, prefixStride: 1, prefixBlocks: prefix?.blocks ?? 0,
      sessionKey: session === null || session === '' ? null : sessionDigest(tenantId, session),
      tokens: (ireq.maxTokens ?? 0) + promptTokens, promptTokens, prefillOwed: 0,
      random: 0, sequence: 0, nowS: 0,
    };
  }

  /** A ticket with no prefix or session: for work that is not inference. */
  bareTicket(allowedRegions: readonly string[] | null): RouteTicket {
    return {
      homeRegion: this.#home, allowedRegions, exclude: null, prefix: null, prefixStride: 1, prefixBlocks: 0,
      sessionKey: null, tokens: 0, promptTokens: 0, prefillOwed: 0, random: 0, sequence: 0, nowS: 0,
    };
  }

  /** The candidate index for this attempt, or -1; on a pick, the learned state is updated. */
  pick(replicas: readonly Replica[], t: RouteTicket): number {
    return this.#decider.pick(replicas, t);
  }
}

/**
 * A short digest of (tenant, session value): what the routing state keys on, so a client's
 * megabyte-long session header costs it a dozen characters, hashed once per request.
 */
function sessionDigest(tenantId: string, session: string): string {
  return hash53(session, hash53(tenantId) % 4294967296).toString(36);
}
