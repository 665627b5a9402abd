import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../../config/index.js';
import {
  RolloutDriver, sequentialAnalysis, TERMINAL_PHASES,
  type CallSample, type LeaseToken, type RegionView, type RolloutStore, type RolloutStoreResult, type RolloutTransition, type StoredRollout,
} from '../../control/rollouts/index.js';
import type { FleetRegistry, ModelVersions, Replica } from '../../fleet/index.js';
import type { Logger } from '../../observe/index.js';
import type { TimePorts, TimerHandle } from '../../time/index.js';
import type { Backend } from '../backends.js';
import { FleetWeights } from './fleet.js';
import { Warmups } from './warmup.js';

// The lead: one gateway at a time holds a lease in the store, renewed every poll. Its driver
// advances each rollout, judges it on the calls this gateway measures, sets the weights, and writes
// each change under the lease (in order, one queue per rollout), so a gateway that lost the lead
// can no longer write. The others follow: each poll they read the active rollouts and apply their
// weights, deciding nothing. The store's row is the truth: a gateway that takes the lead, after a
// restart or a handover, resumes each rollout from it. The store being down stops the deciding
// and leaves every weight as it was.

export interface RolloutLeadOptions {
  readonly config: Pick<Config, 'rollouts' | 'admission' | 'models'>;
  readonly store: RolloutStore;
  readonly fleet: FleetRegistry;
  readonly versions: ModelVersions;
  /** the gateway's own clients, for warm-ups */
  readonly backends: ReadonlyMap<Replica, Backend>;
  readonly log: Logger;
  readonly time: TimePorts;
}

/** The one lease the leader holds. */
const LEASE = 'rollouts';
/** the actor the leader's own transitions name */
const CONTROLLER = 'controller';

export class RolloutLead {
  /** this gateway's name as lease holder */
  readonly holder: string;
  readonly #o: RolloutLeadOptions;
  readonly #weights: FleetWeights;
  readonly #driver: RolloutDriver;
  readonly #warmups: Warmups;
  #lease: LeaseToken | null = null;
  #leading = false;
  #sinceMs: number | null = null;
  /** bumped at every change of lead: writes queued under an earlier lead are dropped */
  #term = 0;
  /** leader: each held rollout's revision as last read or written */
  readonly #revisions = new Map<string, number>();
  /** bumped when a rollout's state is replaced from outside the driver: its writes queued before are stale */
  readonly #lineage = new Map<string, number>();
  /** leader: one queue of writes per rollout, so its changes land in order */
  readonly #queues = new Map<string, Promise<void>>();
  /** follower: the rollout whose weights it applies, by model */
  #followed = new Map<string, string>();
  /** per model, the newest ended rollout this gateway has settled (so one it never saw active still reaches it) */
  readonly #settledEnd = new Map<string, string>();
  #timer: TimerHandle | null = null;
  #polling: Promise<void> | null = null;
  #running = false;
  #closed = false;
  #storeFailures = 0;
  /** models whose stable version the store has not told yet */
  #unread = new Set<string>();

  constructor(o: RolloutLeadOptions) {
    this.#o = o;
    const r = o.config.rollouts;
    this.holder = r.gatewayId ?? `gw-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#weights = new FleetWeights(o.fleet, o.versions, o.config.admission.maxInflightPerReplica);
    this.#driver = new RolloutDriver({
      ports: o.time, view: this.#weights, weights: this.#weights, tickMs: r.tickMs, actor: CONTROLLER,
      analysisFor: (s) => sequentialAnalysis(s.spec.analysis, o.time.rng),
      persist: (t) => this.#persist(t),
      onError: (err, id) => o.log.error({ err, rollout: id }, 'a rollout tick failed; its state is kept and tried again next tick'),
    });
    this.#warmups = new Warmups(o.fleet, o.versions, o.backends,
      (rep, message) => o.log.warn({ replica: rep.id, version: rep.version, message }, 'replica warm-up failed; tried again at the next poll'),
      (rep) => o.log.info({ replica: rep.id, version: rep.version }, 'replica warmed up'));
  }

  get leading(): boolean {
    return this.#leading;
  }

  /** wall ms this gateway began leading or following; null before it runs */
  get sinceMs(): number | null {
    return this.#sinceMs;
  }

  /** The fleet as a rollout sees it, per region. */
  regions(model: string, stable: string, candidate: string): readonly RegionView[] {
    return this.#weights.regions(model, stable, candidate);
  }

  /** fast: is a rollout of this model judged here (only on the leader) */
  watching(model: string): boolean {
    return this.#driver.watching(model);
  }

  observe(model: string, version: string, s: CallSample): void {
    this.#driver.observe(model, version, s);
  }

  // ── life ───────────────────────────────────────────────────────────────────

  /**
   * Gives every model's stable version all its traffic (the store's word on which is stable wins
   * over the config's), then takes or follows the lead once, and again every poll.
   */
  async run(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    this.#sinceMs = this.#o.time.clock.nowMs();
    this.#unread = new Set(this.#o.versions.models());
    await this.#readStables();
    this.#weights.settleAll(NONE);
    await this.poll();
    if (!this.#closed) this.#timer = this.#o.time.timers.every(this.#o.config.rollouts.pollMs, RolloutLead.#onPoll, this);
  }

  /** Stops deciding and following; a leader lets its lease go (after its queued writes land), so another may lead at once. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.time.timers.cancel(this.#timer);
    await this.#polling;
    this.#driver.stop();
    this.#driver.clear();
    await Promise.allSettled([...this.#queues.values()]);
    const lease = this.#lease;
    this.#leading = false;
    this.#lease = null;
    if (lease === null) return;
    try {
      await this.#o.store.releaseLease(lease);
      this.#o.log.info({ holder: this.holder, epoch: lease.epoch }, 'released the rollouts lead');
    } catch (err) {
      this.#o.log.warn({ err, holder: this.holder }, 'releasing the rollouts lead failed; another gateway takes it when it expires');
    }
  }

  /**
   * The store's word on each model's stable version (the candidate of its latest succeeded rollout)
   * wins over the config's. A model whose read failed (the store down at start-up) is read again
   * each round; when it then turns out to differ, its weights move to the store's stable version.
   */
  async #readStables(): Promise<void> {
    const { versions, store, log } = this.#o;
    for (const model of [...this.#unread]) {
      let stable: string | null;
      try {
        stable = await store.stableVersion(model);
        this.#storeOk();
      } catch (err) {
        this.#storeDown(err);
        return;
      }
      this.#unread.delete(model);
      if (stable === null || stable === versions.stableOf(model)) continue;
      const set = versions.setStable(model, stable);
      if (!set.ok) log.warn({ model, stable, message: set.error.message }, 'the store names a stable version this gateway does not know; keeping the configured one');
    }
  }

  static #onPoll(s: RolloutLead): void {
    void s.poll();
  }

  /** One round: renew or seek the lead, then lead or follow; warm-ups start. Never rejects; rounds do not overlap. */
  poll(): Promise<void> {
    this.#polling ??= this.#round()
      .catch((err: unknown) => this.#o.log.error({ err }, 'a rollouts poll failed'))
      .finally(() => { this.#polling = null; });
    return this.#polling;
  }

  async #round(): Promise<void> {
    if (this.#closed) return;
    void this.#warmups.poll();
    if (this.#unread.size > 0) await this.#readStables();
    let lease: LeaseToken | null = null;
    let reachable = true;
    try {
      lease = await this.#o.store.acquireLease(LEASE, this.holder, this.#o.config.rollouts.leaseTtlMs);
      this.#storeOk();
    } catch (err) {
      this.#storeDown(err);
      reachable = false;
    }
    if (this.#closed) return;
    let read: boolean;
    if (lease !== null) read = await this.#lead(lease);
    else {
      this.#loseLead(reachable ? 'another gateway holds the lease' : 'the store is unreachable');
      read = reachable && (await this.#follow());
    }
    // only on what was read: a round that could not read the rollouts leaves every weight as it was
    if (read) this.#weights.settleAll(this.#activeModels());
  }

  // ── leading ────────────────────────────────────────────────────────────────

  /** Leads a round; false when the rollouts could not be read. */
  async #lead(lease: LeaseToken): Promise<boolean> {
    const { store, log, time } = this.#o;
    if (!this.#leading || this.#lease?.epoch !== lease.epoch) {
      // a new term (or the lease lapsed and was taken again): start from the store's rows
      this.#endTerm();
      this.#leading = true;
      this.#sinceMs = time.clock.nowMs();
      log.info({ holder: this.holder, epoch: lease.epoch }, 'leading the rollouts');
      this.#driver.start();
    }
    this.#lease = lease;
    const term = this.#term;
    const rows = await this.#readActive();
    if (rows === null || term !== this.#term || this.#closed) return false;
    const active = new Set<string>();
    for (const row of rows) {
      active.add(row.state.id);
      const known = this.#revisions.get(row.state.id);
      // new to this term, or moved by someone else (a person's command on another gateway)
      if ((known === undefined || row.revision > known) && !this.#queues.has(row.state.id)) this.#adopt(row);
    }
    // a held rollout that left the active list was ended elsewhere (promoted in full): its final state settles it
    for (const s of this.#driver.states()) {
      if (active.has(s.id) || this.#queues.has(s.id)) continue;
      let row: StoredRollout | null;
      try {
        row = await store.getRollout(s.id);
      } catch (err) {
        this.#storeDown(err);
        return false;
      }
      if (term !== this.#term) return false;
      if (row === null) this.#forget(s.id);
      // (one started here since the list was read is active and already held)
      else if (TERMINAL_PHASES.has(row.state.phase) || row.revision > (this.#revisions.get(s.id) ?? 0)) this.#adopt(row);
    }
    // one followed until this term that ended since the last poll is in no list: its final state settles it
    for (const [, id] of this.#followed) {
      if (active.has(id)) continue;
      let row: StoredRollout | null;
      try {
        row = await store.getRollout(id);
      } catch (err) {
        this.#storeDown(err);
        return false;
      }
      if (term !== this.#term) return false;
      if (row !== null && TERMINAL_PHASES.has(row.state.phase)) this.#adopt(row);
    }
    this.#followed.clear();
    return true;
  }

  /** The driver decides this rollout from the row's state on; its writes queued from an older state are dropped. */
  #adopt(row: StoredRollout): void {
    const s = row.state;
    this.#lineage.set(s.id, (this.#lineage.get(s.id) ?? 0) + 1);
    if (TERMINAL_PHASES.has(s.phase)) {
      this.#forget(s.id);
      this.#weights.settle(s.model, s.phase === 'succeeded' ? s.candidate : s.stable);
      return;
    }
    this.#revisions.set(s.id, row.revision);
    this.#driver.adopt(s);
  }

  #forget(id: string): void {
    this.#driver.drop(id);
    this.#revisions.delete(id);
  }

  /** The driver's change, to the store under the lease, in order per rollout. */
  #persist(t: RolloutTransition): void {
    const id = t.after.id;
    if (t.audited) this.logTransition(t);
    const term = this.#term;
    const lineage = this.#lineage.get(id) ?? 0;
    const next: Promise<void> = (this.#queues.get(id) ?? Promise.resolve())
      .then(() => this.#write(t, term, lineage))
      .catch((err: unknown) => this.#o.log.error({ err, rollout: id }, 'writing a rollout change failed'))
      .finally(() => { if (this.#queues.get(id) === next) this.#queues.delete(id); });
    this.#queues.set(id, next);
  }

  async #write(t: RolloutTransition, term: number, lineage: number): Promise<void> {
    const id = t.after.id;
    const stale = (): boolean => term !== this.#term || !this.#leading || (this.#lineage.get(id) ?? 0) !== lineage;
    const revision = this.#revisions.get(id);
    const lease = this.#lease;
    if (stale() || revision === undefined || lease === null) return;
    let r: RolloutStoreResult<StoredRollout>;
    try {
      r = await this.#o.store.updateRollout(id, revision, t, lease);
      this.#storeOk();
    } catch (err) {
      // the driver's state runs ahead of the row; its next write carries the whole state
      return this.#storeDown(err);
    }
    if (stale()) return;
    if (r.ok) {
      if (TERMINAL_PHASES.has(r.value.state.phase)) this.#revisions.delete(id);
      else this.#revisions.set(id, r.value.revision);
      return;
    }
    const e = r.error;
    if (e.kind === 'not_leader') return this.#loseLead(e.message);
    if (e.kind === 'conflict') {
      // someone changed it since (a person's command): their state is the truth from here
      let row: StoredRollout | null;
      try {
        row = await this.#o.store.getRollout(id);
      } catch (err) {
        return this.#storeDown(err);
      }
      if (stale()) return;
      if (row === null) this.#forget(id);
      else this.#adopt(row);
      return;
    }
    this.#o.log.warn({ rollout: id, kind: e.kind, message: e.message }, 'the store refused a rollout change; the rollout is dropped until it is read again');
    this.#forget(id);
  }

  #loseLead(why: string): void {
    if (!this.#leading) return;
    const held = this.#driver.states().map((s) => [s.model, s.id] as const);
    this.#endTerm();
    // followed from here, so that one another gateway ends before this one's next poll is still settled
    for (const [model, id] of held) this.#followed.set(model, id);
    this.#sinceMs = this.#o.time.clock.nowMs();
    this.#o.log.warn({ holder: this.holder, why }, 'lost the rollouts lead; following');
  }

  /** Decides nothing more: the held rollouts go, writes still queued are dropped (the followed stay, to be settled if they ended). */
  #endTerm(): void {
    this.#term++;
    this.#leading = false;
    this.#lease = null;
    this.#driver.stop();
    this.#driver.clear();
    this.#revisions.clear();
  }

  // ── following ──────────────────────────────────────────────────────────────

  /** The active rollouts, or null when the store could not be read (logged). */
  async #readActive(): Promise<StoredRollout[] | null> {
    try {
      const rows = await this.#o.store.listRollouts({ active: true });
      this.#storeOk();
      return rows;
    } catch (err) {
      this.#storeDown(err);
      return null;
    }
  }

  /** Follows a round; false when the rollouts could not be read. */
  async #follow(): Promise<boolean> {
    const { store } = this.#o;
    const rows = await this.#readActive();
    if (rows === null || this.#leading || this.#closed) return false;
    const now = new Map<string, string>();
    for (const { state: s } of rows) {
      now.set(s.model, s.id);
      this.#weights.apply(s.model, s.stable, s.candidate, s.weights);
    }
    for (const [model, id] of this.#followed) {
      if (now.has(model)) continue;
      let row: StoredRollout | null;
      try {
        row = await store.getRollout(id);
      } catch (err) {
        // tried again next poll: its weights stay as they were
        this.#storeDown(err);
        now.set(model, id);
        continue;
      }
      if (row !== null && !this.#leading) this.#weights.settle(model, row.state.phase === 'succeeded' ? row.state.candidate : row.state.stable);
    }
    if (this.#leading) return false;
    this.#followed = now;
    await this.#settleEnded(now);
    return true;
  }

  /**
   * A rollout started and ended between two polls was never active here: the newest ended one of
   * each model not under rollout now is settled once (its stable version, or its candidate if it succeeded).
   */
  async #settleEnded(active: ReadonlyMap<string, string>): Promise<void> {
    let recent: StoredRollout[];
    try {
      recent = await this.#o.store.listRollouts({ limit: 20 });
    } catch (err) {
      this.#storeDown(err);
      return;
    }
    if (this.#leading || this.#closed) return;
    const seen = new Set<string>();
    // newest first: the first ended row of a model is what its stable version is now
    for (const { state: s } of recent) {
      if (seen.has(s.model)) continue;
      seen.add(s.model);
      // a model whose newest rollout is under way (even one started since the poll's first read) is the active list's
      if (!TERMINAL_PHASES.has(s.phase) || active.has(s.model) || this.#settledEnd.get(s.model) === s.id) continue;
      this.#settledEnd.set(s.model, s.id);
      this.#weights.settle(s.model, s.phase === 'succeeded' ? s.candidate : s.stable);
    }
  }

  #activeModels(): Set<string> {
    const out = new Set<string>(this.#followed.keys());
    for (const s of this.#driver.states()) out.add(s.model);
    return out;
  }

  /** A person's change landed: the leader decides from it at once; a follower applies its weights at once. */
  landed(row: StoredRollout): void {
    const s = row.state;
    if (this.#leading) return this.#adopt(row);
    this.#lineage.set(s.id, (this.#lineage.get(s.id) ?? 0) + 1);
    if (TERMINAL_PHASES.has(s.phase)) this.#weights.settle(s.model, s.phase === 'succeeded' ? s.candidate : s.stable);
    else {
      this.#weights.apply(s.model, s.stable, s.candidate, s.weights);
      this.#followed.set(s.model, s.id);
    }
  }

  /** One line per transition: id, action, reason. */
  logTransition(t: RolloutTransition): void {
    const s = t.after;
    this.#o.log.info({ rollout: s.id, model: s.model, action: t.action, actor: t.actor, phase: s.phase, reason: t.reason }, `${s.id} ${t.action}: ${t.reason}`);
  }

  #storeDown(err: unknown): void {
    // a store that stays down fails every poll: logged when it starts, then every 60th
    if (this.#storeFailures++ % 60 === 0) {
      this.#o.log.error({ err, failures: this.#storeFailures }, 'the rollout store failed; weights stay as they are until it answers');
    }
  }

  #storeOk(): void {
    if (this.#storeFailures > 0) this.#o.log.warn({ failures: this.#storeFailures }, 'the rollout store answers again');
    this.#storeFailures = 0;
  }
}

const NONE: ReadonlySet<string> = new Set();
