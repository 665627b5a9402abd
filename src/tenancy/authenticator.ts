import { hashSecret, type KeyEntitlement, type Priority, type Store } from '../ledger/index.js';
import { wallClock, wallTimers, type Clock, type TimerHandle, type Timers } from '../time/index.js';

// API key → who is calling, on the hot path. Every active key is held in memory by its hash, so a
// known key answers synchronously with a shared, frozen context (no allocation beyond the hash).
// A miss costs one store look-up (concurrent misses for one hash share it), and its negative answer
// is cached briefly in a bounded map: random keys sprayed at the gateway cost a look-up each at
// most once per TTL and never more than `maxNegative` entries of memory. The whole set is reloaded
// every `refreshMs`, which is how changes made by other processes arrive (revocations, a key's
// priority, a workspace's spend limit, a tenant's tier or regions): on another gateway instance a
// change takes effect within one refresh period. Changes made in this process take effect at once:
// the admin API calls `invalidate` for each affected key, then `remember` with its new entitlement.
// A look-up the store fails (a partition: the store's own deadline passed) answers AUTH_UNAVAILABLE,
// not null, so the caller says "try again" rather than "unknown key"; while the store is failing,
// one look-up at a time probes it and the other unknown keys get that answer at once.

export interface AuthContext {
  readonly keyId: string;
  readonly tenantId: string;
  readonly workspaceId: string;
  readonly tier: string;
  /** null = any region */
  readonly allowedRegions: readonly string[] | null;
  /** the key's own priority; null = the tier's default */
  readonly priority: Priority | null;
  /** the workspace's monthly spend limit in USD; null = the tier's */
  readonly spendLimitUsd: number | null;
}

/**
 * The store could not be asked (a partition, a timeout): the key may be fine, so the honest answer
 * is "try again shortly" (503), not "unknown key" (401). Compared by identity.
 */
export const AUTH_UNAVAILABLE: { readonly unavailable: true } = Object.freeze({ unavailable: true as const });
export type AuthOutcome = AuthContext | null | typeof AUTH_UNAVAILABLE;

export interface AuthenticatorOptions {
  /** reload every active key this often (default 30 s) */
  refreshMs?: number;
  /** how long an unknown or revoked key is remembered as such (default 5 s) */
  negativeTtlMs?: number;
  /** bound on remembered unknown keys (default 10 000) */
  maxNegative?: number;
  /** bound on concurrent store look-ups for unknown keys; beyond it unknown keys fail at once (default 256) */
  maxPendingLookups?: number;
  /** negative-cache expiry and report pacing read `nowMs` (default: the wall clock) */
  clock?: Clock;
  /** the refresh interval runs on these (default: Node's, unref'd) */
  timers?: Timers;
  onError?: (err: Error) => void;
}

export interface Authenticator {
  /**
   * null = no such key, or revoked; AUTH_UNAVAILABLE = the store did not answer. Synchronous when
   * the answer is in memory, and while the store is known to be failing (one look-up probes it).
   */
  authenticate(secret: string): AuthOutcome | Promise<AuthOutcome>;
  /** A key was just created or changed in this process: answer with this entitlement, without a look-up. */
  remember(entitlement: KeyEntitlement): void;
  /** A key was revoked or changed in this process: forget it now, and distrust answers already in flight. */
  invalidate(keyId: string): void;
  /** Reload every active key now (also runs on the interval). */
  refresh(): Promise<void>;
  /** Resolves when the first load has finished; rejects if it failed (authenticate still works, by look-up). */
  readonly ready: Promise<void>;
  /** Sizes of the caches, for metrics. */
  stats(): { keys: number; negative: number; pending: number; unavailable: number };
  close(): void;
}

const MAX_SECRET = 256;
const MAX_REMEMBERED_SECRETS = 10_000;

export function createAuthenticator(store: Store, opts: AuthenticatorOptions = {}): Authenticator {
  return new KeyCache(store, opts);
}

function contextOf(g: KeyEntitlement): AuthContext {
  return Object.freeze({
    keyId: g.key.id,
    tenantId: g.key.tenantId,
    workspaceId: g.key.workspaceId,
    tier: g.tier,
    allowedRegions: g.allowedRegions === null ? null : Object.freeze([...g.allowedRegions]),
    priority: g.priority,
    spendLimitUsd: g.spendLimitUsd,
  });
}

class KeyCache implements Authenticator {
  private byHash = new Map<string, AuthContext>();
  private hashById = new Map<string, string>();
  private readonly negative = new Map<string, number>();
  /** secret → its hash, for secrets that were valid when seen */
  private readonly hashOf = new Map<string, string>();
  private readonly pending = new Map<string, Promise<AuthOutcome>>();
  /** the store failed the last look-up: further unknown keys are answered at once while one probes */
  private storeDown = false;
  private probing = false;
  /** answers of AUTH_UNAVAILABLE, and when that was last reported */
  private unavailable = 0;
  private reportedAt = 0;
  /** keyId → epoch of its last invalidation; answers fetched before it are not trusted */
  private readonly invalidated = new Map<string, number>();
  private epoch = 0;
  private readonly timer: TimerHandle;
  private readonly timers: Timers;
  private readonly clock: Clock;
  private readonly negativeTtl: number;
  private readonly maxNegative: number;
  private readonly maxPending: number;
  private readonly onError: (err: Error) => void;
  readonly ready: Promise<void>;

  constructor(private readonly store: Store, opts: AuthenticatorOptions) {
    this.clock = opts.clock ?? wallClock;
    this.timers = opts.timers ?? wallTimers;
    this.negativeTtl = opts.negativeTtlMs ?? 5_000;
    this.maxNegative = Math.max(1, opts.maxNegative ?? 10_000);
    this.maxPending = Math.max(1, opts.maxPendingLookups ?? 256);
    this.onError = opts.onError ?? (() => {});
    this.ready = this.refresh();
    this.ready.catch(() => {}); // a caller that never awaits `ready` must not see an unhandled rejection
    this.timer = this.timers.every(Math.max(10, opts.refreshMs ?? 30_000), refreshTick, this);
  }

  authenticate(secret: string): AuthOutcome | Promise<AuthOutcome> {
    if (secret.length === 0 || secret.length > MAX_SECRET) return null;
    const known = this.hashOf.get(secret);
    const hash = known ?? hashSecret(secret);
    const hit = this.byHash.get(hash);
    if (hit !== undefined) {
      if (known === undefined) this.rememberHash(secret, hash);
      return hit;
    }
    const until = this.negative.get(hash);
    if (until !== undefined) {
      if (until > this.clock.nowMs()) return null;
      this.negative.delete(hash);
    }
    const inflight = this.pending.get(hash);
    if (inflight !== undefined) return inflight;
    if (this.storeDown && this.probing) return this.refuse();
    if (this.pending.size >= this.maxPending) return this.storeDown ? this.refuse() : null;
    const probe = this.storeDown;
    if (probe) this.probing = true;
    const p = this.lookup(hash).finally(() => {
      this.pending.delete(hash);
      if (probe) this.probing = false;
    });
    this.pending.set(hash, p);
    return p;
  }

  private refuse(): typeof AUTH_UNAVAILABLE {
    this.unavailable++;
    return AUTH_UNAVAILABLE;
  }

  private async lookup(hash: string): Promise<AuthOutcome> {
    for (let attempt = 0; ; attempt++) {
      const started = this.epoch;
      let entitlement: KeyEntitlement | null;
      try {
        entitlement = await this.store.findKeyByHash(hash);
        this.storeDown = false;
      } catch (err) {
        // Not "unknown key", and not cached: the key may be fine once the store answers again.
        // Reported when the store starts failing, then at most once a minute with a count.
        const t = this.clock.nowMs();
        if (!this.storeDown || t - this.reportedAt >= 60_000) {
          this.reportedAt = t;
          this.onError(new Error(`looking up an API key in the store failed (${(err as Error).message}); unknown keys get 503 until it answers (${this.unavailable + 1} so far)`));
        }
        this.storeDown = true;
        return this.refuse();
      }
      // Invalidated while we asked: ask again (a fresh answer reflects the change).
      if (entitlement !== null && this.stale(entitlement.key.id, started) && attempt < 2) continue;
      if (entitlement === null || entitlement.key.revokedAt !== null) {
        this.rememberMiss(hash);
        return null;
      }
      return this.put(hash, entitlement);
    }
  }

  private stale(keyId: string, since: number): boolean {
    const at = this.invalidated.get(keyId);
    return at !== undefined && at > since;
  }

  /**
   * Hashing costs more per request than the rest of authentication, so the hash of a secret that
   * proved valid is kept, in memory only, bounded. Only valid keys enter, so random keys sprayed at
   * the gateway cannot grow it; a revoked key still fails, because its hash leaves `byHash`.
   */
  private rememberHash(secret: string, hash: string): void {
    if (this.hashOf.size >= MAX_REMEMBERED_SECRETS) this.hashOf.clear();
    this.hashOf.set(secret, hash);
  }

  private rememberMiss(hash: string): void {
    if (this.negative.size >= this.maxNegative) {
      // Insertion order is expiry order (one TTL for all): the first entry is the oldest.
      const oldest = this.negative.keys().next().value;
      if (oldest !== undefined) this.negative.delete(oldest);
    }
    this.negative.set(hash, this.clock.nowMs() + this.negativeTtl);
  }

  private put(hash: string, entitlement: KeyEntitlement): AuthContext {
    const ctx = contextOf(entitlement);
    this.byHash.set(hash, ctx);
    this.hashById.set(entitlement.key.id, hash);
    this.negative.delete(hash);
    return ctx;
  }

  remember(entitlement: KeyEntitlement): void {
    if (entitlement.key.revokedAt === null) this.put(entitlement.key.hash, entitlement);
  }

  invalidate(keyId: string): void {
    this.epoch++;
    this.invalidated.set(keyId, this.epoch);
    // Only admin actions land here, so this map stays small; a cap keeps it so regardless.
    if (this.invalidated.size > 100_000) this.invalidated.clear();
    const hash = this.hashById.get(keyId);
    if (hash !== undefined) {
      this.byHash.delete(hash);
      this.hashById.delete(keyId);
    }
  }

  async refresh(): Promise<void> {
    const started = this.epoch;
    let entitlements: KeyEntitlement[];
    try {
      entitlements = await this.store.activeKeys();
      this.storeDown = false;
    } catch (err) {
      this.onError(err as Error);
      throw err;
    }
    const byHash = new Map<string, AuthContext>();
    const hashById = new Map<string, string>();
    for (const g of entitlements) {
      if (this.stale(g.key.id, started)) {
        // Changed while loading: the load may predate the change. Keep what this process put since
        // (the entitlement an admin change remembered); without one, the key is looked up afresh.
        const kept = this.byHash.get(g.key.hash);
        if (kept !== undefined) {
          byHash.set(g.key.hash, kept);
          hashById.set(g.key.id, g.key.hash);
        }
        continue;
      }
      byHash.set(g.key.hash, contextOf(g));
      hashById.set(g.key.id, g.key.hash);
    }
    this.byHash = byHash;
    this.hashById = hashById;
  }

  stats(): { keys: number; negative: number; pending: number; unavailable: number } {
    return { keys: this.byHash.size, negative: this.negative.size, pending: this.pending.size, unavailable: this.unavailable };
  }

  close(): void {
    this.timers.cancel(this.timer);
  }
}

/** The interval's callback: a failed reload was reported through onError and is retried next time. */
function refreshTick(cache: KeyCache): void {
  cache.refresh().catch(() => {});
}
