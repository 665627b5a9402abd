import { afterEach, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import {
  eventually, MODEL, postgresStore, rolloutOf, spec, startEngines, startGateway, stopAll, TIMES, weightsOf, type Engine,
} from './rollouts-rig.js';

// Two gateways on one PostgreSQL store (a fresh schema; the spec fails, never skips, when PostgreSQL
// is unreachable) in front of the same simulated replicas: one leads, the other follows, and the
// lead passes over when the leader stops.

const WHO = { actor: 'admin', reason: 'spec' };
let platforms: Array<Platform | null> = [];
let engines: Engine[] = [];
let drop: (() => Promise<void>) | null = null;

afterEach(async () => {
  await stopAll(platforms, engines);
  await drop?.();
  platforms = [];
  engines = [];
  drop = null;
});

describe('two gateways on one PostgreSQL store', () => {
  it('exactly one leads; the follower applies the leader\'s weights; stopping the leader hands the lead over and the rollout goes on', async () => {
    engines = await startEngines([{ id: 's1', version: 'v1' }, { id: 's2', version: 'v1' }, { id: 'c1', version: 'v2' }]);
    const store = await postgresStore();
    drop = store.drop;
    // started together: both race for the lease
    const [a, b] = await Promise.all([
      startGateway({ storeUrl: store.url, engines, gatewayId: 'gw-a' }),
      startGateway({ storeUrl: store.url, engines, gatewayId: 'gw-b' }),
    ]);
    platforms = [a, b];
    const leaders = (): Platform[] => [a, b].filter((p) => p.rollouts.leadership().leader);
    await eventually(() => leaders().length === 1, 5_000, 'one leader');
    // and it stays one over several lease renewals
    for (let i = 0; i < 10; i++) {
      expect(leaders()).toHaveLength(1);
      await new Promise((r) => setTimeout(r, TIMES.pollMs));
    }
    const leader = leaders()[0];
    const follower = leader === a ? b : a;
    expect(follower.rollouts.leadership()).toMatchObject({ leader: false, holder: leader === a ? 'gw-b' : 'gw-a' });

    // a person starts it on the follower; the leader decides it; the follower applies its weights
    const r = await follower.rollouts.start(spec({ steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] }), WHO);
    expect(r.ok).toBe(true);
    const id = r.ok ? r.value.state.id : '';
    await eventually(async () => (await rolloutOf(leader, id)).state.phase === 'paused', 5_000, 'held at step 1');
    expect(weightsOf(leader)).toEqual({ s1: 75, s2: 75, c1: 25 });
    await eventually(() => weightsOf(follower).c1 === 25, 5_000, 'the follower applies 25');
    expect(weightsOf(follower)).toEqual({ s1: 75, s2: 75, c1: 25 });
    // only the leader judges, so only it measures calls
    expect([leader.rollouts.watching(MODEL), follower.rollouts.watching(MODEL)]).toEqual([true, false]);

    // the leader stops: the follower leads within the lease's time, and resumes the rollout where it was
    const stoppedAt = Date.now();
    await leader.close();
    platforms = [follower];
    await eventually(() => follower.rollouts.leadership().leader, TIMES.leaseTtlMs + 2 * TIMES.pollMs, 'the follower leads');
    expect(Date.now() - stoppedAt).toBeLessThan(TIMES.leaseTtlMs + 2 * TIMES.pollMs);
    expect((await rolloutOf(follower, id)).state).toMatchObject({ phase: 'paused', step: 1 });
    const promoted = await follower.rollouts.command(id, { kind: 'promote', full: false }, WHO);
    expect(promoted.ok).toBe(true);
    await eventually(async () => (await rolloutOf(follower, id)).state.step === 3, 5_000, 'at step 3');
    expect(weightsOf(follower)).toEqual({ s1: 50, s2: 50, c1: 50 });
  }, 40_000);
});
