import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rolloutSpecSchema, type LeaseToken, type RolloutState, type RolloutTransition } from '../../src/control/rollouts/index.js';
import { newRolloutId, type Store } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';

// Rollouts and the lead: one specification for every Store backend. `open` may be called several
// times and must reach the same database each time: several stores on one database are several
// gateways sharing it.

export interface RolloutHarness {
  /** the store stamps rows and judges leases with `clock.nowMs()` */
  open(clock: Clock): Promise<Store>;
  cleanup(): Promise<void>;
  /** From now on the database refuses audit records whose actor is `saboteur` (a trigger). */
  sabotageAudit(): Promise<void>;
}

export function rolloutSpec(name: string, makeHarness: () => RolloutHarness): void {
  describe(`rollouts and the lead in the ${name} store`, () => {
    let h: RolloutHarness;
    let store: Store;
    let t = 1_760_000_000_000;
    const clock: Clock = { nowMs: () => t, monoMs: () => t };
    let models = 0;
    const newModel = () => `model-${++models}`;

    beforeAll(async () => {
      h = makeHarness();
      store = await h.open(clock);
    });
    afterAll(async () => {
      await store?.close();
      await h?.cleanup();
    });

    function rollout(over: Partial<RolloutState> = {}): RolloutState {
      const model = over.model ?? newModel();
      return {
        id: newRolloutId(t), spec: rolloutSpecSchema.parse({ model, candidate: 'v2', stable: 'v1' }), model, stable: 'v1', candidate: 'v2',
        waves: [['us-east'], ['eu-west', 'ap-south']], phase: 'pending', pause: null, wave: 0, step: 0, stepStartedAtMs: t, weights: {},
        failure: null, evidence: null, createdBy: 'admin:alice', createdAtMs: t, updatedAtMs: t, ...over,
      };
    }
    const start = (after: RolloutState, over: Partial<RolloutTransition> = {}): RolloutTransition =>
      ({ actor: 'admin:alice', action: 'rollout.start', reason: 'v2 fixes the tokenizer', requestId: 'req_start', before: null, after, audited: true, ...over });
    const step = (before: RolloutState, after: RolloutState, over: Partial<RolloutTransition> = {}): RolloutTransition =>
      ({ actor: 'leader:gw-1', action: 'rollout.step', reason: 'analysis passed', before, after, audited: true, ...over });

    async function created(over: Partial<RolloutState> = {}): Promise<RolloutState> {
      const s = rollout(over);
      const r = await store.createRollout(s, start(s));
      if (!r.ok) throw new Error(r.error.message);
      return s;
    }

    describe('a rollout and its audit trail', () => {
      it('creates it at revision 1 and audits who started it and why', async () => {
        t += 1_000;
        const s = rollout();
        expect(await store.createRollout(s, start(s))).toEqual({ ok: true, value: { revision: 1, state: s } });
        expect(await store.getRollout(s.id)).toEqual({ revision: 1, state: s });
        expect(await store.listAudit({ target: s.id })).toEqual([{
          id: expect.stringMatching(/^aud_/), at: t, actor: 'admin:alice', action: 'rollout.start', target: s.id, tenantId: null,
          requestId: 'req_start', reason: 'v2 fixes the tokenizer', before: null, after: s,
        }]);
      });

      it('reads back exactly the state it was given', async () => {
        const s = rollout({
          phase: 'paused', pause: { kind: 'step', message: 'hold\u0000 for the night — 夜', untilMs: null },
          weights: { 'us-east': 12.5, 'eu-west': 0.1 + 0.2, 'ap-south': 1e-7 },
          failure: { metric: 'ttft', reason: 'p50 up "20 %"', atMs: -1 },
          evidence: {
            method: 'sequential', candidateCalls: 1234, stableCalls: 98765, candidateFailures: 0, stableFailures: 3,
            metrics: [{ metric: 'ttft', comparisons: 800, statistic: 1.7976931348623157e308, threshold: 100, ratio: null },
              { metric: 'cost', comparisons: 5, statistic: 5e-324, threshold: 0.01, ratio: 0.9999999999999999 }],
          },
        });
        const r = await store.createRollout(s, start(s));
        expect(r.ok).toBe(true);
        expect((await store.getRollout(s.id))?.state).toEqual(s);
        expect((await store.listRollouts({ model: s.model }))[0].state).toEqual(s);
        expect((await store.listAudit({ target: s.id }))[0].after).toEqual(s);
      });

      it('writes a transition at the revision it was read at, bumps the revision, and audits before and after', async () => {
        const s1 = await created();
        t += 5_000;
        const s2: RolloutState = { ...s1, phase: 'progressing', weights: { 'us-east': 5 }, updatedAtMs: t };
        expect(await store.updateRollout(s1.id, 1, step(s1, s2, { requestId: 'req_tick' }))).toEqual({ ok: true, value: { revision: 2, state: s2 } });
        expect(await store.getRollout(s1.id)).toEqual({ revision: 2, state: s2 });
        const trail = await store.listAudit({ target: s1.id });
        expect(trail.map((a) => a.action)).toEqual(['rollout.step', 'rollout.start']);
        expect(trail[0]).toEqual({
          id: expect.stringMatching(/^aud_/), at: t, actor: 'leader:gw-1', action: 'rollout.step', target: s1.id, tenantId: null,
          requestId: 'req_tick', reason: 'analysis passed', before: s1, after: s2,
        });
      });

      it('persists a refresh of the evidence without auditing it', async () => {
        const s1 = await created();
        const s2: RolloutState = { ...s1, evidence: { method: 'sequential', candidateCalls: 10, stableCalls: 90, candidateFailures: 0, stableFailures: 0, metrics: [] } };
        const r = await store.updateRollout(s1.id, 1, step(s1, s2, { action: 'rollout.evidence', audited: false }));
        expect(r).toEqual({ ok: true, value: { revision: 2, state: s2 } });
        expect((await store.listAudit({ target: s1.id })).map((a) => a.action)).toEqual(['rollout.start']);
      });

      it('refuses a write at a stale revision, naming both revisions, and writes nothing', async () => {
        const s1 = await created();
        const s2: RolloutState = { ...s1, phase: 'progressing' };
        expect((await store.updateRollout(s1.id, 1, step(s1, s2))).ok).toBe(true);
        const s3: RolloutState = { ...s1, phase: 'paused', pause: { kind: 'manual', message: 'by hand' } };
        expect(await store.updateRollout(s1.id, 1, step(s1, s3, { action: 'rollout.pause' }))).toEqual({
          ok: false, error: { kind: 'conflict', message: `rollout ${s1.id} changed since it was read (revision 1, now 2)` },
        });
        expect(await store.getRollout(s1.id)).toEqual({ revision: 2, state: s2 });
        expect((await store.listAudit({ target: s1.id })).map((a) => a.action)).toEqual(['rollout.step', 'rollout.start']);
      });

      it('answers not_found for a rollout it does not have, and null to read one', async () => {
        const s = rollout({ id: 'rol_missing' });
        expect(await store.updateRollout('rol_missing', 1, step(s, s))).toMatchObject({ ok: false, error: { kind: 'not_found', message: 'rollout rol_missing not found' } });
        expect(await store.getRollout('rol_missing')).toBeNull();
      });

      it.each<[string, (s: RolloutState) => [RolloutState, Partial<RolloutTransition>], RegExp]>([
        ['an id that is not a rollout id', (s) => [{ ...s, id: 'ten_x' }, {}], /rollout id \(rol_…\)/],
        ['a phase it does not know', (s) => [{ ...s, phase: 'exploded' as RolloutState['phase'] }, {}], /phase must be one of pending, progressing/],
        ['a number JSON cannot carry', (s) => [{ ...s, weights: { 'us-east': Number.NaN } }, {}], /not finite/],
        ['no model', (s) => [{ ...s, model: '' }, {}], /model must be a non-empty string/],
        ['an empty reason', (s) => [s, { reason: '' }], /reason must be 1 to/],
        ['no actor', (s) => [s, { actor: ' ' }], /actor must be 1 to/],
        ['no word on auditing', (s) => [s, { audited: undefined as unknown as boolean }], /audited: true or false/],
      ])('refuses to create a rollout with %s', async (_why, make, message) => {
        const [s, over] = make(rollout());
        const r = await store.createRollout(s, start(s, over));
        expect(r).toMatchObject({ ok: false, error: { kind: 'invalid', message: expect.stringMatching(message) } });
        expect(await store.listAudit({ target: s.id })).toEqual([]);
      });

      it('refuses a transition to another rollout or another model, and a revision that is not one', async () => {
        const s1 = await created();
        const other = rollout();
        expect(await store.updateRollout(s1.id, 1, step(s1, other))).toMatchObject({ ok: false, error: { kind: 'invalid', message: `the transition's after is rollout ${other.id}, not ${s1.id}` } });
        expect(await store.updateRollout(s1.id, 1, step(s1, { ...s1, model: 'elsewhere' }))).toMatchObject({ ok: false, error: { kind: 'invalid', message: expect.stringMatching(/cannot change its model/) } });
        expect(await store.updateRollout(s1.id, 0, step(s1, s1))).toMatchObject({ ok: false, error: { kind: 'invalid', message: expect.stringMatching(/revision must be a whole number/) } });
        expect(await store.getRollout(s1.id)).toEqual({ revision: 1, state: s1 });
      });
    });

    describe('one active rollout per model', () => {
      it('refuses a second active rollout of a model, naming the first, until the first is terminal', async () => {
        const a = await created();
        const b = rollout({ model: a.model, candidate: 'v3' });
        expect(await store.createRollout(b, start(b))).toEqual({
          ok: false, error: { kind: 'conflict', message: expect.stringContaining(`model ${a.model} already has a rollout in progress (${a.id})`) },
        });
        expect(await store.getRollout(b.id)).toBeNull();
        expect(await store.listAudit({ target: b.id })).toEqual([]);
        // another model is not held up
        expect((await store.createRollout(rollout(), start(rollout()))).ok).toBe(true);

        expect((await store.updateRollout(a.id, 1, step(a, { ...a, phase: 'aborted' }, { action: 'rollout.abort' }))).ok).toBe(true);
        expect(await store.createRollout(b, start(b))).toEqual({ ok: true, value: { revision: 1, state: b } });
        // and the aborted one cannot come back while b is active
        expect(await store.updateRollout(a.id, 2, step(a, { ...a, phase: 'progressing' }))).toMatchObject({ ok: false, error: { kind: 'conflict', message: expect.stringContaining(b.id) } });
        expect((await store.getRollout(a.id))?.state.phase).toBe('aborted');
      });

      it('refuses an id that is taken', async () => {
        const a = await created();
        const again = rollout({ id: a.id });
        expect(await store.createRollout(again, start(again))).toMatchObject({ ok: false, error: { kind: 'conflict', message: `rollout ${a.id} already exists` } });
        expect((await store.getRollout(a.id))?.state.model).toBe(a.model);
      });
    });

    describe('listing and the stable version', () => {
      it('lists newest first, by model, active only, up to a limit', async () => {
        const m = newModel();
        t += 1_000;
        const old = await created({ model: m });
        await store.updateRollout(old.id, 1, step(old, { ...old, phase: 'rolled_back' }, { action: 'rollout.rollback' }));
        t += 1_000;
        const mid = await created({ model: m });
        await store.updateRollout(mid.id, 1, step(mid, { ...mid, phase: 'succeeded' }, { action: 'rollout.succeed' }));
        t += 1_000;
        const now = await created({ model: m });
        const ids = async (q: Parameters<Store['listRollouts']>[0]) => (await store.listRollouts(q)).map((r) => r.state.id);
        expect(await ids({ model: m })).toEqual([now.id, mid.id, old.id]);
        expect(await ids({ model: m, active: true })).toEqual([now.id]);
        expect(await ids({ model: m, limit: 2 })).toEqual([now.id, mid.id]);
        expect((await ids({ active: true }))[0]).toBe(now.id);
        expect((await store.listRollouts({ active: true })).every((r) => !['succeeded', 'rolled_back', 'aborted'].includes(r.state.phase))).toBe(true);
        expect((await store.listRollouts())[0]).toEqual({ revision: 1, state: now });
      });

      it('takes the stable version from the newest succeeded rollout, none before', async () => {
        const m = newModel();
        expect(await store.stableVersion(m)).toBeNull();
        const a = await created({ model: m, stable: 'v1', candidate: 'v2' });
        expect(await store.stableVersion(m)).toBeNull(); // in progress is not stable
        await store.updateRollout(a.id, 1, step(a, { ...a, phase: 'succeeded' }, { action: 'rollout.succeed' }));
        expect(await store.stableVersion(m)).toBe('v2');
        t += 1_000;
        const b = await created({ model: m, stable: 'v2', candidate: 'v3' });
        await store.updateRollout(b.id, 1, step(b, { ...b, phase: 'rolled_back' }, { action: 'rollout.rollback' }));
        expect(await store.stableVersion(m)).toBe('v2'); // rolled back: still v2
        t += 1_000;
        const c = await created({ model: m, stable: 'v2', candidate: 'v4' });
        await store.updateRollout(c.id, 1, step(c, { ...c, phase: 'succeeded' }, { action: 'rollout.succeed' }));
        expect(await store.stableVersion(m)).toBe('v4');
      });
    });

    describe('the lease', () => {
      it('takes a free lease at epoch 1, and renews it for its holder at the same epoch, later', async () => {
        const first = await store.acquireLease('lead-a', 'gw-1', 10_000);
        expect(first).toEqual({ name: 'lead-a', holder: 'gw-1', epoch: 1, expiresAtMs: t + 10_000 });
        t += 4_000;
        expect(await store.acquireLease('lead-a', 'gw-1', 10_000)).toEqual({ name: 'lead-a', holder: 'gw-1', epoch: 1, expiresAtMs: t + 10_000 });
      });

      it('refuses another holder until the lease expires, then gives it the next epoch', async () => {
        const held = await store.acquireLease('lead-b', 'gw-1', 10_000);
        expect(await store.acquireLease('lead-b', 'gw-2', 10_000)).toBeNull();
        t = held!.expiresAtMs - 1;
        expect(await store.acquireLease('lead-b', 'gw-2', 10_000)).toBeNull(); // 1 ms left
        t = held!.expiresAtMs;
        expect(await store.acquireLease('lead-b', 'gw-2', 10_000)).toEqual({ name: 'lead-b', holder: 'gw-2', epoch: 2, expiresAtMs: t + 10_000 });
        expect(await store.acquireLease('lead-b', 'gw-1', 10_000)).toBeNull();
      });

      it('gives a holder back from an expired lease a new epoch: whatever it did meanwhile is fenced off', async () => {
        const held = await store.acquireLease('lead-c', 'gw-1', 1_000);
        t += 1_000;
        expect(await store.acquireLease('lead-c', 'gw-1', 1_000)).toMatchObject({ holder: 'gw-1', epoch: held!.epoch + 1 });
      });

      it('lets it go only for the token of its holder and epoch; the next holder gets a higher epoch', async () => {
        const held = (await store.acquireLease('lead-d', 'gw-1', 60_000))!;
        await store.releaseLease({ ...held, epoch: held.epoch + 1 });
        await store.releaseLease({ ...held, holder: 'gw-2' });
        expect(await store.acquireLease('lead-d', 'gw-2', 60_000)).toBeNull();
        await store.releaseLease(held);
        expect(await store.acquireLease('lead-d', 'gw-2', 60_000)).toMatchObject({ holder: 'gw-2', epoch: held.epoch + 1 });
      });

      it('refuses a lease call that names nothing, or no time', async () => {
        await expect(store.acquireLease('', 'gw-1', 1_000)).rejects.toThrow(/lease name must be 1 to/);
        await expect(store.acquireLease('lead-e', ' ', 1_000)).rejects.toThrow(/lease holder must be 1 to/);
        await expect(store.acquireLease('lead-e', 'gw-1', 0)).rejects.toThrow(/ttl must be a whole number/);
      });
    });

    describe('writes under the lease', () => {
      async function ticked(s: RolloutState, revision: number, lease: LeaseToken) {
        return store.updateRollout(s.id, revision, step(s, { ...s, step: revision }), lease);
      }

      it('writes only while its lease is held, and writes nothing once it is not', async () => {
        const s = await created();
        const lease = (await store.acquireLease('lead-w', 'gw-1', 10_000))!;
        expect(await ticked(s, 1, lease)).toMatchObject({ ok: true, value: { revision: 2 } });

        expect(await ticked(s, 2, { ...lease, epoch: lease.epoch + 1 })).toMatchObject({ ok: false, error: { kind: 'not_leader', message: expect.stringMatching(/no longer leads/) } });
        expect(await ticked(s, 2, { ...lease, name: 'lead-never-taken' })).toMatchObject({ ok: false, error: { kind: 'not_leader', message: expect.stringMatching(/not held by anyone/) } });
        t = lease.expiresAtMs;
        expect(await ticked(s, 2, lease)).toMatchObject({ ok: false, error: { kind: 'not_leader', message: expect.stringMatching(/expired/) } });
        const next = (await store.acquireLease('lead-w', 'gw-2', 10_000))!;
        expect(await ticked(s, 2, lease)).toMatchObject({ ok: false, error: { kind: 'not_leader', message: expect.stringMatching(/held by gw-2/) } });
        expect(await store.getRollout(s.id)).toMatchObject({ revision: 2, state: { step: 1 } });
        expect((await store.listAudit({ target: s.id })).map((a) => a.action)).toEqual(['rollout.step', 'rollout.start']);

        expect(await ticked(s, 2, next)).toMatchObject({ ok: true, value: { revision: 3, state: { step: 2 } } });
      });

      it('tells a deposed leader it no longer leads before it tells it the row moved on', async () => {
        const s = await created();
        t += 60_000;
        const lease = (await store.acquireLease('lead-x', 'gw-1', 1_000))!;
        expect((await store.updateRollout(s.id, 1, step(s, { ...s, phase: 'paused', pause: { kind: 'manual', message: 'x' } }, { actor: 'admin:bob' }))).ok).toBe(true);
        t = lease.expiresAtMs;
        expect(await ticked(s, 1, lease)).toMatchObject({ ok: false, error: { kind: 'not_leader' } });
      });
    });

    describe('several gateways on one database', () => {
      let gateways: Store[] = [];
      beforeAll(async () => {
        gateways = await Promise.all(Array.from({ length: 20 }, () => h.open(clock)));
      });
      afterAll(async () => {
        await Promise.all(gateways.map((g) => g.close()));
      });

      it('20 gateways racing for a free lease, then for the expired one: exactly one wins each time', async () => {
        const race = () => Promise.all(gateways.map((g, i) => g.acquireLease('lead-race', `gw-${i}`, 5_000)));
        const first = (await race()).filter((l) => l !== null);
        expect(first).toHaveLength(1);
        expect(first[0]).toMatchObject({ epoch: 1 });
        t += 5_000;
        const second = (await race()).filter((l) => l !== null);
        expect(second).toHaveLength(1);
        expect(second[0]).toMatchObject({ epoch: 2 });
        expect(await store.acquireLease('lead-race', 'someone-else', 5_000)).toBeNull();
      });

      it('of gateways starting a rollout of one model at once, one succeeds; the rest are told which is active', async () => {
        const m = newModel();
        const states = gateways.slice(0, 5).map(() => rollout({ model: m }));
        const results = await Promise.all(gateways.slice(0, 5).map((g, i) => g.createRollout(states[i], start(states[i]))));
        const won = results.flatMap((r, i) => (r.ok ? [states[i].id] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (!r.ok) expect(r.error).toEqual({ kind: 'conflict', message: expect.stringContaining(won[0]) });
        expect((await store.listRollouts({ model: m })).map((r) => r.state.id)).toEqual(won);
      });

      it('of gateways writing one revision at once, one succeeds and one audit record is written', async () => {
        const s = await created();
        const results = await Promise.all(gateways.slice(0, 5).map((g, i) => g.updateRollout(s.id, 1, step(s, { ...s, step: i + 1 }))));
        expect(results.filter((r) => r.ok)).toHaveLength(1);
        expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.error.kind)).toEqual(['conflict', 'conflict', 'conflict', 'conflict']);
        expect((await store.getRollout(s.id))?.revision).toBe(2);
        expect((await store.listAudit({ target: s.id })).map((a) => a.action)).toEqual(['rollout.step', 'rollout.start']);
      });
    });

    // last: the trigger stays
    describe('when the audit record cannot be written', () => {
      it('writes neither the rollout nor the transition', async () => {
        const s = await created();
        await h.sabotageAudit();
        const s2: RolloutState = { ...s, phase: 'progressing' };
        await expect(store.updateRollout(s.id, 1, step(s, s2, { actor: 'saboteur' }))).rejects.toThrow(/audit write refused/);
        expect(await store.getRollout(s.id)).toEqual({ revision: 1, state: s });
        const n = rollout();
        await expect(store.createRollout(n, start(n, { actor: 'saboteur' }))).rejects.toThrow(/audit write refused/);
        expect(await store.getRollout(n.id)).toBeNull();
        // an unaudited refresh writes no record, so the refusal does not touch it
        expect(await store.updateRollout(s.id, 1, step(s, s2, { actor: 'saboteur', audited: false }))).toMatchObject({ ok: true, value: { revision: 2 } });
      });
    });
  });
}
