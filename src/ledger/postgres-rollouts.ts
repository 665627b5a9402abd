import type pg from 'pg';
import type { LeaseToken, RolloutState, RolloutStore, RolloutStoreResult, RolloutTransition, StoredRollout } from '../control/rollouts/index.js';
import type { Clock } from '../time/index.js';
import type { DbRow } from './common.js';
import type { PostgresAudit } from './postgres-audit.js';
import { inTransaction, pgCode, UNIQUE } from './postgres-changes.js';
import {
  ACTIVE, alreadyActive, changedSince, checkLeaseArgs, checkListing, checkRevision, checkState, checkToken, checkTransition, checkWho, leaseFromRow,
  leaseLost, modelFixed, notFound, refuse, ROLLOUT_ORDER, rolloutFromRow, rolloutWhere, transitionRow,
} from './rollouts-common.js';

// Rollouts and the lead in PostgreSQL, shared by every gateway. A write locks its rollout row
// (FOR UPDATE) and, under a lease, the lease row too (FOR SHARE): a gateway taking the lead over
// waits for that write to commit, so no write lands after its author lost the lead. Taking or
// renewing a lease is one statement, so gateways racing for it cannot both win.

/**
 * Free (no row) → inserted at epoch 1; expired, or the caller's → the caller's (the epoch moves
 * on unless it is a renewal of a live lease); another's and live → no row comes back.
 */
const ACQUIRE = `INSERT INTO leases AS l (name, holder, epoch, expires_at) VALUES ($1, $2, 1, $4)
  ON CONFLICT (name) DO UPDATE SET
    epoch = CASE WHEN l.holder = EXCLUDED.holder AND l.expires_at > $3 THEN l.epoch ELSE l.epoch + 1 END,
    holder = EXCLUDED.holder,
    expires_at = EXCLUDED.expires_at
  WHERE l.holder = EXCLUDED.holder OR l.expires_at <= $3
  RETURNING name, holder, epoch, expires_at`;

export class PostgresRollouts implements RolloutStore {
  constructor(private readonly pool: pg.Pool, private readonly audit: PostgresAudit, private readonly clock: Clock) {}

  private async activeId(model: string): Promise<string | undefined> {
    return (await this.pool.query(`SELECT id FROM rollouts WHERE model = $1 AND ${ACTIVE}`, [model])).rows[0]?.id as string | undefined;
  }

  async createRollout(state: RolloutState, t: RolloutTransition): Promise<RolloutStoreResult<StoredRollout>> {
    const who = checkWho(t);
    if (who) return refuse('invalid', who);
    const s = checkState('new rollout', state);
    if (!s.ok) return s;
    const { id, model, phase } = s.value.state;
    const at = this.clock.nowMs();
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query('INSERT INTO rollouts (id, model, phase, revision, state, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $5, $5)', [id, model, phase, s.value.json, at]);
        await this.audit.insert(c, transitionRow(t, id, null, s.value.json, at));
      });
    } catch (err) {
      // the model's partial unique index is the rule: two gateways starting one each cannot both succeed
      if (pgCode(err) === UNIQUE) {
        if ((err as { constraint?: string }).constraint === 'rollouts_pkey') return refuse('conflict', `rollout ${id} already exists`);
        return refuse('conflict', alreadyActive(model, await this.activeId(model)));
      }
      throw err;
    }
    return { ok: true, value: { revision: 1, state: JSON.parse(s.value.json) as RolloutState } };
  }

  async getRollout(id: string): Promise<StoredRollout | null> {
    const r = (await this.pool.query('SELECT revision, state FROM rollouts WHERE id = $1', [id])).rows as DbRow[];
    return r.length ? rolloutFromRow(r[0]) : null;
  }

  async listRollouts(q: { model?: string; active?: boolean; limit?: number } = {}): Promise<StoredRollout[]> {
    checkListing(q);
    const w = rolloutWhere(q, (i) => '$' + i);
    const sql = `SELECT revision, state FROM rollouts ${w.sql}${ROLLOUT_ORDER}$${w.args.length + 1}`;
    return ((await this.pool.query(sql, [...w.args, w.limit])).rows as DbRow[]).map(rolloutFromRow);
  }

  async updateRollout(id: string, revision: number, t: RolloutTransition, lease?: LeaseToken): Promise<RolloutStoreResult<StoredRollout>> {
    const bad = checkRevision(revision) ?? (lease === undefined ? null : checkToken(lease));
    if (bad) return refuse('invalid', bad);
    const next = checkTransition(t);
    if (!next.ok) return next;
    const after = next.value;
    if (after.state.id !== id) return refuse('invalid', `the transition's after is rollout ${after.state.id}, not ${id}`);
    try {
      return await inTransaction(this.pool, async (c): Promise<RolloutStoreResult<StoredRollout>> => {
        const rows = (await c.query('SELECT revision, state, model FROM rollouts WHERE id = $1 FOR UPDATE', [id])).rows as DbRow[];
        if (rows.length === 0) return refuse('not_found', notFound(id));
        const row = rows[0];
        const now = this.clock.nowMs();
        // the lead first: a deposed leader told "conflict" would re-read and try again
        if (lease !== undefined) {
          const held = (await c.query('SELECT * FROM leases WHERE name = $1 FOR SHARE', [lease.name])).rows as DbRow[];
          const lost = leaseLost(lease, held[0], now);
          if (lost) return refuse('not_leader', lost);
        }
        const current = Number(row.revision);
        if (current !== revision) return refuse('conflict', changedSince(id, revision, current));
        if (row.model !== after.state.model) return refuse('invalid', modelFixed(id, row.model as string));
        await c.query('UPDATE rollouts SET phase = $2, revision = $3, state = $4, updated_at = $5 WHERE id = $1', [id, after.state.phase, current + 1, after.json, now]);
        if (t.audited) await this.audit.insert(c, transitionRow(t, id, row.state as string, after.json, now));
        return { ok: true, value: { revision: current + 1, state: JSON.parse(after.json) as RolloutState } };
      });
    } catch (err) {
      // a terminal rollout brought back while another of its model is active
      if (pgCode(err) === UNIQUE) return refuse('conflict', alreadyActive(after.state.model, await this.activeId(after.state.model)));
      throw err;
    }
  }

  async acquireLease(name: string, holder: string, ttlMs: number): Promise<LeaseToken | null> {
    checkLeaseArgs(name, holder, ttlMs);
    const now = this.clock.nowMs();
    const r = (await this.pool.query(ACQUIRE, [name, holder, now, now + ttlMs])).rows as DbRow[];
    return r.length ? leaseFromRow(r[0]) : null;
  }

  async releaseLease(token: LeaseToken): Promise<void> {
    const bad = checkToken(token);
    if (bad) throw new TypeError(bad);
    // expired, never deleted: the next holder's epoch must be above every earlier one
    await this.pool.query('UPDATE leases SET expires_at = 0 WHERE name = $1 AND holder = $2 AND epoch = $3', [token.name, token.holder, token.epoch]);
  }

  async stableVersion(model: string): Promise<string | null> {
    const r = (await this.pool.query(`SELECT state FROM rollouts WHERE model = $1 AND phase = 'succeeded'${ROLLOUT_ORDER}1`, [model])).rows as DbRow[];
    return r.length ? rolloutFromRow({ revision: 0, state: r[0].state }).state.candidate : null;
  }
}
