import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { RolloutStore, StoredRollout } from '../../src/control/rollouts/index.js';
import { FleetRegistry, ModelVersions } from '../../src/fleet/index.js';
import { RolloutService } from '../../src/gateway/rollouts.js';
import type { Store } from '../../src/ledger/index.js';
import { openStore } from '../../src/tenancy/index.js';
import { ManualTime } from '../../src/time/index.js';
import { MODEL, spec } from './rollouts-rig.js';

// The rollout service without sockets: a FleetRegistry driven by hand, a real SQLite store wrapped
// so a spec can take it down or make it refuse, and a ManualTime that moves the loop (tick 50 ms,
// poll 100 ms, lease 1 s) and the store's clock together.

const WHO = { actor: 'admin', reason: 'spec' };
const TICK = 50;
const POLL = 100;

interface Flaky {
  down: boolean;
  /** the next unleased updateRollout (a person's command) answers conflict */
  conflictOnce: boolean;
  updates: number;
}

/** The store, with every call failing while `ctl.down`. */
function flaky(s: Store, ctl: Flaky): RolloutStore {
  return new Proxy(s, {
    get(target, key) {
      const v = Reflect.get(target, key) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if (ctl.down) return Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
        if (key === 'updateRollout') {
          ctl.updates++;
          if (ctl.conflictOnce && args[3] === undefined) {
            ctl.conflictOnce = false;
            return Promise.resolve({ ok: false, error: { kind: 'conflict', message: 'changed since it was read' } });
          }
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  }) as RolloutStore;
}

interface Node {
  svc: RolloutService;
  fleet: FleetRegistry;
  versions: ModelVersions;
  lines: Array<{ level: number; msg: string }>;
}

const time = new ManualTime(1_800_000_000_000);
let stores: Store[] = [];
let nodes: Node[] = [];
let file = '';

afterEach(async () => {
  await Promise.all(nodes.map((n) => n.svc.close()));
  await Promise.all(stores.map((s) => s.close()));
  nodes = [];
  stores = [];
});

function config(id: string): Config {
  const c = loadConfig(undefined, { port: 0 });
  c.rollouts = { tickMs: TICK, pollMs: POLL, leaseTtlMs: 1_000, gatewayId: id };
  const m = c.models.find((x) => x.id === MODEL)!;
  m.versions = [{ id: 'v1' }, { id: 'v2' }];
  m.stable = 'v1';
  return c;
}

async function node(id: string, ctl: Flaky = { down: false, conflictOnce: false, updates: 0 }): Promise<Node> {
  const store = await openStore(file, { clock: time });
  stores.push(store);
  const fleet = new FleetRegistry();
  // as the platform adds them: the candidate joins with no weight
  for (const [rid, version, weight] of [['s1', 'v1', 1], ['s2', 'v1', 1], ['c1', 'v2', 0]] as const) {
    const r = fleet.add({ id: rid, model: MODEL, servedModel: 'm', region: 'us-east', url: 'http://127.0.0.1:9', version, versionWeight: weight });
    fleet.markHealthy(r, time.nowMs());
  }
  const lines: Node['lines'] = [];
  const log = pino({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString())); cb(); } }));
  const c = config(id);
  const versions = new ModelVersions(c.models);
  const svc = new RolloutService({ config: c, store: flaky(store, ctl), fleet, versions, backends: new Map(), log, time: time.ports(() => 0.5) });
  const n = { svc, fleet, versions, lines };
  nodes.push(n);
  await svc.run();
  return n;
}

/** Lets the store's promises settle. */
async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

/** Moves the clock, a poll at a time, letting each round's store calls land. */
async function run(ms: number): Promise<void> {
  for (let t = 0; t < ms; t += TICK) {
    time.advance(TICK);
    await flush();
  }
}

const weights = (n: Node): Record<string, number> => Object.fromEntries(n.fleet.replicasOf(MODEL).map((r) => [r.id, r.versionWeight]));
const errors = (n: Node, msg: RegExp): number => n.lines.filter((l) => l.level >= 50 && msg.test(l.msg)).length;

async function started(n: Node, steps: unknown[]): Promise<string> {
  const r = await n.svc.start(spec({ steps: steps as never }), WHO);
  if (!r.ok) throw new Error(r.error.message);
  return r.value.state.id;
}

async function row(n: Node, id: string): Promise<StoredRollout> {
  const r = await n.svc.get(id);
  if (r === null) throw new Error(`no rollout ${id}`);
  return r;
}

describe('rollout service', () => {
  it('at start-up a candidate\'s replicas get no weight; a rollout gives them theirs', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    expect(a.svc.leadership()).toMatchObject({ leader: true, holder: 'gw-a' });
    expect(weights(a)).toEqual({ s1: 100, s2: 100, c1: 0 });
    const id = await started(a, [{ setWeight: 20 }, { pause: {} }]);
    await run(200);
    expect((await row(a, id)).state).toMatchObject({ phase: 'paused', weights: { 'us-east': 20 } });
    expect(weights(a)).toEqual({ s1: 80, s2: 80, c1: 20 });
    // every transition was logged on one line: id, action, reason
    expect(a.lines.some((l) => l.msg.startsWith(`${id} rollout.start: spec`))).toBe(true);
  });

  it('a follower applies the leader\'s weights and samples nothing; only the leader watches the model', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const b = await node('gw-b');
    expect([a.svc.leadership().leader, b.svc.leadership().leader]).toEqual([true, false]);
    await started(b, [{ setWeight: 40 }, { pause: {} }]);
    await run(300);
    expect(weights(a)).toEqual({ s1: 60, s2: 60, c1: 40 });
    expect(weights(b)).toEqual({ s1: 60, s2: 60, c1: 40 });
    expect(a.svc.watching(MODEL)).toBe(true);
    expect(b.svc.watching(MODEL)).toBe(false);
  });

  it('a leader that vanishes without letting go: another leads once its lease expires, and resumes the rollout', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const gone: Flaky = { down: false, conflictOnce: false, updates: 0 };
    const a = await node('gw-a', gone);
    const b = await node('gw-b');
    const id = await started(a, [{ setWeight: 20 }, { pause: {} }, { setWeight: 70 }, { pause: {} }]);
    await run(200);
    expect(b.svc.leadership().leader).toBe(false);
    // a can no longer reach anything: it renews nothing and releases nothing
    gone.down = true;
    await run(900);
    expect(b.svc.leadership().leader).toBe(false);
    await run(300);
    expect(b.svc.leadership().leader).toBe(true);
    expect(b.svc.watching(MODEL)).toBe(true);
    expect((await row(b, id)).state).toMatchObject({ phase: 'paused', step: 1 });
    const r = await b.svc.command(id, { kind: 'promote', full: false }, WHO);
    expect(r.ok).toBe(true);
    await run(200);
    expect((await row(b, id)).state.step).toBe(3);
    expect(weights(b)).toEqual({ s1: 30, s2: 30, c1: 70 });
  });

  it('a store that goes down: the leader stops deciding, weights stay, the failure is logged once per 60; it leads again when the store answers', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const ctl: Flaky = { down: false, conflictOnce: false, updates: 0 };
    const a = await node('gw-a', ctl);
    const id = await started(a, [{ setWeight: 30 }, { pause: { duration: 2_000 } }, { setWeight: 60 }, { pause: {} }]);
    await run(200);
    expect(weights(a).c1).toBe(30);
    ctl.down = true;
    await run(POLL * 30);
    expect(a.svc.leadership().leader).toBe(false);
    expect(a.svc.watching(MODEL)).toBe(false);
    expect(weights(a)).toEqual({ s1: 70, s2: 70, c1: 30 });
    expect(errors(a, /rollout store failed/)).toBe(1);
    await run(POLL * 31);
    expect(errors(a, /rollout store failed/)).toBe(2);
    ctl.down = false;
    await run(POLL * 2);
    expect(a.svc.leadership().leader).toBe(true);
    expect(a.lines.some((l) => /rollout store answers again/.test(l.msg))).toBe(true);
    // the timed pause had long passed: resumed from the store's row, it moves on
    await run(POLL * 3);
    expect((await row(a, id)).state).toMatchObject({ step: 3, weights: { 'us-east': 60 } });
    expect(weights(a).c1).toBe(60);
  });

  it('a gateway whose lease another took stops deciding; the rollout is not written by it after', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const id = await started(a, [{ setWeight: 10 }, { pause: { duration: 500 } }, { setWeight: 50 }, { pause: {} }]);
    await run(100);
    const before = await row(a, id);
    expect(before.state.step).toBe(1);
    // a store whose clock is past the lease's expiry hands it to another holder
    const ahead = await openStore(file, { clock: { nowMs: () => time.nowMs() + 5_000, monoMs: () => time.monoMs() } });
    stores.push(ahead);
    expect(await ahead.acquireLease('rollouts', 'gw-other', 60_000)).not.toBeNull();
    await run(1_000);
    expect(a.svc.leadership().leader).toBe(false);
    expect(a.lines.some((l) => /lost the rollouts lead/.test(l.msg))).toBe(true);
    const after = await row(a, id);
    expect(after.revision).toBe(before.revision);
    expect(after.state.step).toBe(1);
  });

  it('a person\'s command that races a write is read again and applied once', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const ctl: Flaky = { down: false, conflictOnce: false, updates: 0 };
    const a = await node('gw-a', ctl);
    const id = await started(a, [{ setWeight: 10 }, { pause: {} }]);
    await run(100);
    ctl.conflictOnce = true;
    const r = await a.svc.command(id, { kind: 'abort' }, { actor: 'ops', reason: 'looks wrong' });
    expect(r.ok && r.value.state.phase).toBe('rolling_back');
    const audit = await stores[0].listAudit({ limit: 20 });
    expect(audit.filter((x) => x.action === 'rollout.abort').map((x) => [x.actor, x.reason])).toEqual([['ops', 'looks wrong']]);
    await run(200);
    expect((await row(a, id)).state.phase).toBe('aborted');
    expect(weights(a)).toEqual({ s1: 100, s2: 100, c1: 0 });
  });

  it('after a rollout succeeded, a gateway that starts takes the store\'s stable version over the config\'s', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const id = await started(a, [{ setWeight: 100 }]);
    await run(200);
    expect((await row(a, id)).state.phase).toBe('succeeded');
    const b = await node('gw-b');
    expect(b.versions.stableOf(MODEL)).toBe('v2');
    expect(weights(b)).toEqual({ s1: 0, s2: 0, c1: 100 });
  });

  it('a gateway that starts while the store is down serves the config\'s stable version, and the store\'s once it answers', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const id = await started(a, [{ setWeight: 100 }]);
    await run(200);
    expect((await row(a, id)).state.phase).toBe('succeeded');
    const ctl: Flaky = { down: true, conflictOnce: false, updates: 0 };
    const b = await node('gw-b', ctl);
    expect(b.versions.stableOf(MODEL)).toBe('v1');
    expect(weights(b)).toEqual({ s1: 100, s2: 100, c1: 0 });
    ctl.down = false;
    await run(POLL * 2);
    expect(b.versions.stableOf(MODEL)).toBe('v2');
    expect(weights(b)).toEqual({ s1: 0, s2: 0, c1: 100 });
  });
});

describe('a rollout that ends while a gateway changes between leading and following', () => {
  it('a follower that takes the lead settles a rollout it followed that ended since its last poll', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const b = await node('gw-b');
    const id = await started(a, [{ setWeight: 20 }, { pause: {} }]);
    await run(300);
    expect(weights(b)).toEqual({ s1: 80, s2: 80, c1: 20 });
    // promoted in full and handed over before b polls again: b leads with no active rollout to read
    const r = await a.svc.command(id, { kind: 'promote', full: true }, WHO);
    expect(r.ok && r.value.state.phase).toBe('succeeded');
    await a.svc.close();
    await run(POLL * 2);
    expect(b.svc.leadership().leader).toBe(true);
    expect(b.versions.stableOf(MODEL)).toBe('v2');
    expect(weights(b)).toEqual({ s1: 0, s2: 0, c1: 100 });
  });

  it('a leader that lost the lead settles a rollout it held that another ended meanwhile', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const ctl: Flaky = { down: false, conflictOnce: false, updates: 0 };
    const a = await node('gw-a', ctl);
    const b = await node('gw-b');
    const id = await started(a, [{ setWeight: 20 }, { pause: {} }]);
    await run(200);
    expect(weights(a)).toEqual({ s1: 80, s2: 80, c1: 20 });
    // a loses the store, b takes the lead once a's lease expires and ends the rollout
    ctl.down = true;
    await run(1_500);
    expect([a.svc.leadership().leader, b.svc.leadership().leader]).toEqual([false, true]);
    const r = await b.svc.command(id, { kind: 'promote', full: true }, WHO);
    expect(r.ok && r.value.state.phase).toBe('succeeded');
    ctl.down = false;
    await run(POLL * 2);
    expect(a.svc.leadership().leader).toBe(false);
    expect(a.versions.stableOf(MODEL)).toBe('v2');
    expect(weights(a)).toEqual({ s1: 0, s2: 0, c1: 100 });
  });

  it('a follower settles a rollout it never saw active (started and ended between two of its polls)', async () => {
    file = join(mkdtempSync(join(tmpdir(), 'sy-rs-')), 'db.sqlite');
    const a = await node('gw-a');
    const b = await node('gw-b');
    await run(POLL * 2);
    expect([a.svc.leadership().leader, b.svc.leadership().leader]).toEqual([true, false]);
    expect(weights(b)).toEqual({ s1: 100, s2: 100, c1: 0 });
    // started and promoted in full at once, on the leader: never active when b polls
    const id = await started(a, [{ setWeight: 20 }, { pause: {} }]);
    const r = await a.svc.command(id, { kind: 'promote', full: true }, WHO);
    expect(r.ok && r.value.state.phase).toBe('succeeded');
    await run(POLL * 2);
    expect(b.versions.stableOf(MODEL)).toBe('v2');
    expect(weights(b)).toEqual({ s1: 0, s2: 0, c1: 100 });
  });
});
