import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/index.js';
import type { Platform } from '../../src/gateway/index.js';
import type { Logger } from '../../src/observe/index.js';
import { openStore } from '../../src/tenancy/index.js';
import { wall, type TimePorts } from '../../src/time/index.js';
import {
  eventually, MODEL, rolloutOf, served, servedBy, spec, sqliteStore, startEngines, startGateway, stopAll, traffic, weightsOf,
  type Engine,
} from './rollouts-rig.js';

// Rollouts through a real gateway on a SQLite store, in front of real simulated replicas: two of
// the stable version v1 and one of the candidate v2, in us-east. The loop's times are short
// (tick 50 ms, poll 100 ms, lease 1 s).

const WHO = { actor: 'admin', reason: 'spec' };
let platforms: Array<Platform | null> = [];
let engines: Engine[] = [];

afterEach(async () => {
  await stopAll(platforms, engines);
  platforms = [];
  engines = [];
});

interface RigOptions {
  warmup?: Record<string, { requests: number }>;
  configure?: (c: Config) => void;
  log?: Logger;
  /** before the gateway starts */
  before?: (engines: Engine[]) => Promise<void>;
}

async function rig(o: RigOptions = {}) {
  engines = await startEngines([{ id: 's1', version: 'v1' }, { id: 's2', version: 'v1' }, { id: 'c1', version: 'v2' }]);
  await o.before?.(engines);
  const storeUrl = await sqliteStore();
  const p = await startGateway({ storeUrl, engines, gatewayId: 'gw-a', warmup: o.warmup, configure: o.configure, log: o.log });
  platforms.push(p);
  return { p, storeUrl };
}

describe('weights reach routing', () => {
  it('a candidate\'s replicas get no traffic until a rollout gives it some', async () => {
    const { p } = await rig();
    expect(weightsOf(p)).toEqual({ s1: 100, s2: 100, c1: 0 });
    const statuses = await traffic(p.url, 40);
    expect(statuses.every((s) => s === 200)).toBe(true);
    expect(await servedBy(engines, 'v2')).toBe(0);
  });

  it('a rollout at 30 % sends the candidate about 30 % of the calls', async () => {
    const { p } = await rig();
    await eventually(() => p.rollouts.leadership().leader, 5_000, 'leading');
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 30 }, { pause: {} }] }), WHO);
    expect(r.ok).toBe(true);
    const id = r.ok ? r.value.state.id : '';
    // progressing once the candidate's replica passed a probe, held at the pause
    await eventually(async () => (await rolloutOf(p, id)).state.phase === 'paused', 5_000, 'held at the pause');
    expect((await rolloutOf(p, id)).state.weights).toEqual({ 'us-east': 30 });
    expect(weightsOf(p)).toEqual({ s1: 70, s2: 70, c1: 30 });
    const statuses = await traffic(p.url, 300);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    const share = (await servedBy(engines, 'v2')) / 300;
    // binomial(300, 0.3): sd ≈ 2.6 %; ±9 % is more than 3 sd
    expect(share).toBeGreaterThan(0.21);
    expect(share).toBeLessThan(0.39);
  }, 30_000);

  it('a candidate version with a warm-up gets weight only once its replicas were warmed', async () => {
    const { p } = await rig({ warmup: { v2: { requests: 3 } } });
    const c1 = p.fleet.byId('c1')!;
    await eventually(() => c1.warm, 5_000, 'warmed');
    // the warm-up requests went to the candidate through the gateway's own client, and only to it
    expect(await served(engines[2])).toBe(3);
    expect(await servedBy(engines, 'v1')).toBe(0);
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 50 }, { pause: {} }] }), WHO);
    expect(r.ok).toBe(true);
    await eventually(() => weightsOf(p).c1 === 50, 5_000, 'candidate weighted');
  }, 20_000);

  it('a warm-up that fails is logged and tried again at the next poll; the replica stays cold until one succeeds', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, cb) { lines.push(chunk.toString()); cb(); } }));
    const setFaults = (e: Engine, f: unknown) => fetch(`${e.server.url}/sim/faults`, { method: 'POST', body: JSON.stringify(f) });
    const { p } = await rig({ warmup: { v2: { requests: 1 } }, log, before: (es) => setFaults(es[2], { mode: 'error' }).then(() => undefined) });
    const c1 = p.fleet.byId('c1')!;
    await eventually(() => lines.filter((l) => l.includes('warm-up failed')).length >= 2, 5_000, 'two failed warm-ups');
    expect(c1.warm).toBe(false);
    await setFaults(engines[2], { mode: 'none' });
    await eventually(() => c1.warm, 5_000, 'warmed');
    expect(lines.some((l) => l.includes('replica warmed up'))).toBe(true);
  }, 20_000);
});

describe('a bad candidate is rolled back by the analysis while requests flow', () => {
  it('half its calls failing: rolled_back, the failure names the errors, stable takes everything', async () => {
    // outlier detection off: it would eject the failing replica first, and an ejected candidate
    // serves nothing to judge (the rollout then holds, inconclusive, until a person decides)
    const { p } = await rig({ configure: (c) => { c.fleet.outlier.enabled = false; } });
    await fetch(`${engines[2].server.url}/sim/faults`, { method: 'POST', body: JSON.stringify({ mode: 'error', errorRate: 0.5 }) });
    await eventually(() => p.rollouts.leadership().leader, 5_000, 'leading');
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 50 }, { analysis: { minDuration: '1h', maxDuration: '2h' } }, { setWeight: 100 }] }), WHO);
    expect(r).toMatchObject({ ok: true });
    const id = r.ok ? r.value.state.id : '';
    let ended = false;
    const flow = (async () => {
      const statuses: number[] = [];
      while (!ended && statuses.length < 2_000) statuses.push(...(await traffic(p.url, 16)));
      return statuses;
    })();
    try {
      await eventually(async () => (await rolloutOf(p, id)).state.phase === 'rolled_back', 25_000, 'rolled back');
    } finally {
      ended = true;
    }
    const statuses = await flow;
    const s = (await rolloutOf(p, id)).state;
    expect(s.failure?.metric).toBe('errors');
    expect(s.weights['us-east'] ?? 0).toBe(0);
    expect(weightsOf(p)).toEqual({ s1: 100, s2: 100, c1: 0 });
    // the candidate's failures were retried on stable: the clients barely saw them
    expect(statuses.filter((x) => x === 200).length).toBeGreaterThan(statuses.length * 0.9);
    const before = await served(engines[2]);
    await traffic(p.url, 30);
    expect(await served(engines[2])).toBe(before);
  }, 40_000);
});

describe('the store is the truth', () => {
  it('a gateway restarted mid-rollout resumes it at the same step', async () => {
    const { p, storeUrl } = await rig();
    await eventually(() => p.rollouts.leadership().leader, 5_000, 'leading');
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 60 }, { pause: {} }] }), WHO);
    const id = r.ok ? r.value.state.id : '';
    await eventually(async () => (await rolloutOf(p, id)).state.phase === 'paused', 5_000, 'paused at step 1');
    const held = (await rolloutOf(p, id)).state;
    expect(held.step).toBe(1);
    await p.close();
    platforms = [];

    const q = await startGateway({ storeUrl, engines, gatewayId: 'gw-a' });
    platforms.push(q);
    // the restarted gateway leads at once (its lease was released) and holds the same rollout at the same step
    expect(q.rollouts.leadership().leader).toBe(true);
    expect(weightsOf(q)).toEqual({ s1: 80, s2: 80, c1: 20 });
    const again = await rolloutOf(q, id);
    expect(again.state).toMatchObject({ phase: 'paused', step: 1, weights: { 'us-east': 20 } });
    // and goes on from there when promoted
    const promoted = await q.rollouts.command(id, { kind: 'promote', full: false }, WHO);
    expect(promoted.ok).toBe(true);
    await eventually(async () => (await rolloutOf(q, id)).state.step === 3, 5_000, 'at step 3');
    expect(weightsOf(q)).toEqual({ s1: 40, s2: 40, c1: 60 });
  }, 30_000);

  it('a gateway whose lease expired in the store stops deciding at once', async () => {
    const { p, storeUrl } = await rig();
    await eventually(() => p.rollouts.leadership().leader, 5_000, 'leading');
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 10 }, { pause: { duration: '300ms' } }, { setWeight: 40 }, { pause: {} }] }), WHO);
    const id = r.ok ? r.value.state.id : '';
    await eventually(async () => (await rolloutOf(p, id)).state.step === 1, 5_000, 'at the timed pause');
    // another holder takes the lease, as if this gateway's had expired: a store whose clock is past it
    const later: TimePorts = { ...wall, clock: { nowMs: () => Date.now() + 60_000, monoMs: () => performance.now() } };
    const intruder = await openStore(storeUrl, { clock: later.clock });
    try {
      expect(await intruder.acquireLease('rollouts', 'gw-intruder', 600_000)).not.toBeNull();
      await eventually(() => !p.rollouts.leadership().leader, 5_000, 'following');
      const frozen = await rolloutOf(p, id);
      // the timed pause has long passed: a leader would have moved on to step 2
      await new Promise((res) => setTimeout(res, 800));
      const now = await rolloutOf(p, id);
      expect(now.revision).toBe(frozen.revision);
      expect(now.state.step).toBe(1);
      expect(p.rollouts.leadership()).toMatchObject({ leader: false, holder: 'gw-a' });
      // a person's hand still works on a follower (revision-checked, no lease)
      const paused = await p.rollouts.command(id, { kind: 'abort' }, WHO);
      expect(paused.ok && paused.value.state.phase).toBe('rolling_back');
    } finally {
      await intruder.close();
    }
  }, 20_000);
});

describe('starting a rollout', () => {
  it.each([
    { why: 'an invalid spec names the field', spec: spec({ steps: [{ setWeight: 140 }] }), kind: 'invalid', message: /steps\.0/ },
    { why: 'an unknown version', spec: spec({ candidate: 'v9' }), kind: 'not_found', message: /no version v9/ },
    { why: 'an unknown model', spec: spec({ model: 'nope' }), kind: 'not_found', message: /not served/ },
    { why: 'the stable version as candidate', spec: spec({ candidate: 'v1' }), kind: 'invalid', message: /already the stable/ },
  ])('refuses $why', async ({ spec: s, kind, message }) => {
    const { p } = await rig();
    const r = await p.rollouts.start(s, WHO);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.kind).toBe(kind);
      expect(r.error.message).toMatch(message);
    }
  });

  it('refuses a second active rollout of the model, naming the first', async () => {
    const { p } = await rig();
    const first = await p.rollouts.start(spec({ steps: [{ setWeight: 5 }, { pause: {} }] }), WHO);
    expect(first.ok).toBe(true);
    const second = await p.rollouts.start(spec(), WHO);
    expect(second.ok).toBe(false);
    if (!second.ok && first.ok) {
      expect(second.error.kind).toBe('conflict');
      expect(second.error.message).toContain(first.value.state.id);
    }
    expect((await p.rollouts.list({ model: MODEL, active: true })).length).toBe(1);
  });

  it('a rollout that succeeds makes the candidate stable, here and after a restart', async () => {
    const { p, storeUrl } = await rig();
    await eventually(() => p.rollouts.leadership().leader, 5_000, 'leading');
    const r = await p.rollouts.start(spec({ steps: [{ setWeight: 100 }] }), WHO);
    const id = r.ok ? r.value.state.id : '';
    await eventually(async () => (await rolloutOf(p, id)).state.phase === 'succeeded', 5_000, 'succeeded');
    expect(p.versions.stableOf(MODEL)).toBe('v2');
    expect(weightsOf(p)).toEqual({ s1: 0, s2: 0, c1: 100 });
    await p.close();
    platforms = [];
    const q = await startGateway({ storeUrl, engines, gatewayId: 'gw-b' });
    platforms.push(q);
    expect(q.versions.stableOf(MODEL)).toBe('v2');
    expect(weightsOf(q)).toEqual({ s1: 0, s2: 0, c1: 100 });
  }, 20_000);
});
