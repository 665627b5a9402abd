import type Database from 'better-sqlite3';
import type { LeaseToken, RolloutState, RolloutStore, RolloutStoreResult, RolloutTransition, StoredRollout } from '../control/rollouts/index.js';
import type { Clock } from '../time/index.js';
import type { DbRow } from './common.js';
import {
  ACTIVE, alreadyActive, changedSince, checkLeaseArgs, checkListing, checkRevision, checkState, checkToken, checkTransition, checkWho, isTerminal, leaseFromRow,
  leaseLost, modelFixed, nextLease, notFound, refuse, ROLLOUT_ORDER, rolloutFromRow, rolloutWhere, transitionRow,
} from './rollouts-common.js';
import type { SqliteAudit } from './sqlite-audit.js';
import { isConstraint } from './sqlite-changes.js';

// Rollouts and the lead in the SQLite file. Every write is one IMMEDIATE transaction: it takes the
// write lock before it reads, so a second process sharing the file (a CLI beside the gateway)
// waits its turn (busy_timeout) instead of reading a row, or a lease, that is about to change.

export class SqliteRollouts implements RolloutStore {
  private readonly q;
  private readonly lists = new Map<string, Database.Statement>();

  constructor(private readonly db: Database.Database, private readonly audit: SqliteAudit, private readonly clock: Clock) {
    const p = (sql: string) => db.prepare(sql);
    this.q = {
      get: p('SELECT revision, state, model FROM rollouts WHERE id = ?'),
      active: p(`SELECT id FROM rollouts WHERE model = ? AND ${ACTIVE}`),
      insert: p('INSERT INTO rollouts (id, model, phase, revision, state, created_at, updated_at) VALUES (?, ?, ?, 1, ?, ?, ?)'),
      update: p('UPDATE rollouts SET phase = ?, revision = ?, state = ?, updated_at = ? WHERE id = ?'),
      stable: p("SELECT state FROM rollouts WHERE model = ? AND phase = 'succeeded'" + ROLLOUT_ORDER + '1'),
      lease: p('SELECT * FROM leases WHERE name = ?'),
      putLease: p('INSERT INTO leases (name, holder, epoch, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = excluded.epoch, expires_at = excluded.expires_at'),
      // expired, never deleted: the next holder's epoch must be above every earlier one
      release: p('UPDATE leases SET expires_at = 0 WHERE name = ? AND holder = ? AND epoch = ?'),
    };
  }

  async createRollout(state: RolloutState, t: RolloutTransition): Promise<RolloutStoreResult<StoredRollout>> {
    const who = checkWho(t);
    if (who) return refuse('invalid', who);
    const s = checkState('new rollout', state);
    if (!s.ok) return s;
    const { id, model } = s.value.state;
    try {
      return this.db.transaction((): RolloutStoreResult<StoredRollout> => {
        const active = this.q.active.get(model) as DbRow | undefined;
        if (active && !isTerminal(s.value.state)) return refuse('conflict', alreadyActive(model, active.id as string));
        const at = this.clock.nowMs();
        this.q.insert.run(id, model, s.value.state.phase, s.value.json, at, at);
        this.audit.insert(transitionRow(t, id, null, s.value.json, at));
        return { ok: true, value: { revision: 1, state: JSON.parse(s.value.json) as RolloutState } };
      }).immediate();
    } catch (err) {
      // the id was taken (the check above makes the model's index the backstop, not the rule)
      if (isConstraint(err)) return refuse('conflict', `rollout ${id} already exists`);
      throw err;
    }
  }

  async getRollout(id: string): Promise<StoredRollout | null> {
    const r = this.q.get.get(id) as DbRow | undefined;
    return r ? rolloutFromRow(r) : null;
  }

  async listRollouts(q: { model?: string; active?: boolean; limit?: number } = {}): Promise<StoredRollout[]> {
    checkListing(q);
    const w = rolloutWhere(q, () => '?');
    let s = this.lists.get(w.sql);
    if (!s) this.lists.set(w.sql, (s = this.db.prepare(`SELECT revision, state FROM rollouts ${w.sql}${ROLLOUT_ORDER}?`)));
    return (s.all(...w.args, w.limit) as DbRow[]).map(rolloutFromRow);
  }

  async updateRollout(id: string, revision: number, t: RolloutTransition, lease?: LeaseToken): Promise<RolloutStoreResult<StoredRollout>> {
    const bad = checkRevision(revision) ?? (lease === undefined ? null : checkToken(lease));
    if (bad) return refuse('invalid', bad);
    const next = checkTransition(t);
    if (!next.ok) return next;
    if (next.value.state.id !== id) return refuse('invalid', `the transition's after is rollout ${next.value.state.id}, not ${id}`);
    try {
      return this.db.transaction((): RolloutStoreResult<StoredRollout> => {
        const row = this.q.get.get(id) as DbRow | undefined;
        if (!row) return refuse('not_found', notFound(id));
        const now = this.clock.nowMs();
        // the lead first: a deposed leader told "conflict" would re-read and try again
        if (lease !== undefined) {
          const lost = leaseLost(lease, this.q.lease.get(lease.name) as DbRow | undefined, now);
          if (lost) return refuse('not_leader', lost);
        }
        const current = Number(row.revision);
        if (current !== revision) return refuse('conflict', changedSince(id, revision, current));
        if (row.model !== next.value.state.model) return refuse('invalid', modelFixed(id, row.model as string));
        this.q.update.run(next.value.state.phase, current + 1, next.value.json, now, id);
        if (t.audited) this.audit.insert(transitionRow(t, id, row.state as string, next.value.json, now));
        return { ok: true, value: { revision: current + 1, state: JSON.parse(next.value.json) as RolloutState } };
      }).immediate();
    } catch (err) {
      // a terminal rollout brought back while another of its model is active
      if (isConstraint(err)) return refuse('conflict', alreadyActive(next.value.state.model, (this.q.active.get(next.value.state.model) as DbRow | undefined)?.id as string | undefined));
      throw err;
    }
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseToken | null> {
    checkLeaseArgs(name, holder, ttlMs);
    return this.db.transaction((): LeaseToken | null => {
      const row = this.q.lease.get(name) as DbRow | undefined;
      const taken = nextLease(row ? leaseFromRow(row) : null, name, holder, this.clock.nowMs(), ttlMs);
      if (taken) this.q.putLease.run(taken.name, taken.holder, taken.epoch, taken.expiresAtMs);
      return taken;
    }).immediate();
  }

  async releaseLease(token: LeaseToken): Promise<void> {
    const bad = checkToken(token);
    if (bad) throw new TypeError(bad);
    this.q.release.run(token.name, token.holder, token.epoch);
  }

  async stableVersion(model: string): Promise<string | null> {
    const r = this.q.stable.get(model) as DbRow | undefined;
    return r ? rolloutFromRow({ revision: 0, state: r.state }).state.candidate : null;
  }
}
