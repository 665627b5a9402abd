import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessActuator, type ProcessActuatorOptions } from '../../../src/control/actuators/process.js';
import type { FleetHands, PoolName, ReplicaStats } from '../../../src/control/autoscaler/types.js';
import { ProcessSupervisor } from '../../../src/control/supervisor.js';
import { wallClock, wallTimers } from '../../../src/time/index.js';

// Real `switchyard engine` processes (the built dist/) under a real supervisor; the gateway's side
// is a FleetHands that records what it is told and lets the spec decide when a drain is over.

const MAIN = join(import.meta.dirname, '..', '..', '..', 'dist', 'cli', 'main.js');
const POOL: PoolName = 'us-east/llama-3.1-8b';

const engineArgs = (startup: string) => (_pool: PoolName, port: number): string[] =>
  [MAIN, 'engine', '--host', '127.0.0.1', '--port', String(port), '--model', 'llama-3.1-8b', '--startup', startup];

class RecordingHands implements FleetHands {
  readonly events: string[] = [];
  readonly joined = new Map<string, string>();
  /** per id, ends its drain */
  readonly finish = new Map<string, () => void>();
  /** the pid each replica had when its drain began, and whether it was alive then */
  readonly aliveAtDrain = new Map<string, boolean>();
  constructor(private readonly pidOf: (id: string) => number | undefined) {}
  join(pool: PoolName, r: { id: string; url: string }): void {
    this.events.push(`join ${pool} ${r.id}`);
    this.joined.set(r.id, r.url);
  }
  drain(id: string): Promise<void> {
    this.events.push(`drain ${id}`);
    const pid = this.pidOf(id);
    this.aliveAtDrain.set(id, pid !== undefined && alive(pid));
    return new Promise((resolve) => this.finish.set(id, resolve));
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await sleep(25);
  }
}

let cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

function rig(o: Partial<ProcessActuatorOptions> & { startup?: string } = {}) {
  const supervisor = new ProcessSupervisor({ restart: true });
  const hands = new RecordingHands((id) => supervisor.pid(id));
  const errors: string[] = [];
  const stats = new Map<string, ReplicaStats>();
  const actuator = new ProcessActuator({
    supervisor, hands, clock: wallClock, timers: wallTimers, engineArgs: engineArgs(o.startup ?? '1'),
    replicaStats: (id) => stats.get(id) ?? null, onError: (e) => errors.push((e as Error).message), ...o,
  });
  cleanup.push(() => supervisor.stop(500), () => actuator.close());
  const phases = () => actuator.replicas(POOL).map((r) => `${r.id} ${r.phase}`);
  return { supervisor, hands, actuator, errors, stats, phases };
}

describe('the embedded process actuator', () => {
  it('starts a replica as starting, and makes it ready and joins it only once its /health answers 200', async () => {
    const ports: number[] = [];
    const { actuator, hands, supervisor } = rig({ engineArgs: (pool, port) => (ports.push(port), engineArgs('1')(pool, port)) });
    const t0 = Date.now();
    actuator.apply(POOL, { start: 1, drain: [] });
    const [r] = actuator.replicas(POOL);
    expect(r).toMatchObject({ phase: 'starting', reportedAtMs: null, inflight: 0 });
    expect(r.id).toBe(`${POOL}/as-0`);
    expect(r.sinceMs).toBeGreaterThanOrEqual(t0);
    expect(r.sinceMs).toBeLessThanOrEqual(Date.now());
    await until(() => supervisor.pid(r.id) !== undefined);
    // once it listens it is loading: still starting, and not in the fleet
    let first = 0;
    for (const deadline = Date.now() + 10_000; first === 0 && Date.now() < deadline; await sleep(20)) {
      first = await fetch(`http://127.0.0.1:${ports[0]}/health`).then((res) => res.status, () => 0);
    }
    expect(first).toBe(503);
    expect(actuator.replicas(POOL)[0].phase).toBe('starting');
    expect(hands.events).toEqual([]);

    await until(() => actuator.replicas(POOL)[0]?.phase === 'ready');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect(hands.events).toEqual([`join ${POOL} ${r.id}`]);
    const health = await fetch(`${hands.joined.get(r.id)}/health`);
    expect(health.status).toBe(200);
    expect(actuator.replicas(POOL)[0].sinceMs).toBeGreaterThan(r.sinceMs);
    expect(actuator.queued(POOL)).toBe(0);
  });

  it('drains a ready replica through the gateway before its process gets SIGTERM, then forgets it', async () => {
    const { actuator, hands, supervisor, phases } = rig();
    actuator.apply(POOL, { start: 1, drain: [] });
    const id = actuator.replicas(POOL)[0].id;
    await until(() => actuator.replicas(POOL)[0]?.phase === 'ready');
    const pid = supervisor.pid(id)!;

    actuator.apply(POOL, { start: 0, drain: [id] });
    expect(phases()).toEqual([`${id} draining`]);
    expect(hands.events.at(-1)).toBe(`drain ${id}`);
    expect(hands.aliveAtDrain.get(id)).toBe(true);
    // while the gateway still has requests on it, the process is left alone
    await sleep(400);
    expect(alive(pid)).toBe(true);
    expect(phases()).toEqual([`${id} draining`]);

    hands.finish.get(id)!();
    await until(() => !alive(pid));
    await until(() => phases().length === 0);
    expect(supervisor.pid(id)).toBeUndefined();
  });

  it('takes a ready replica whose process dies out of the fleet, and forgets it', async () => {
    const { actuator, hands, supervisor, phases, errors } = rig();
    actuator.apply(POOL, { start: 1, drain: [] });
    const id = actuator.replicas(POOL)[0].id;
    await until(() => actuator.replicas(POOL)[0]?.phase === 'ready');
    process.kill(supervisor.pid(id)!, 'SIGKILL');
    await until(() => hands.events.includes(`drain ${id}`));
    expect(phases()).toEqual([`${id} draining`]);
    expect(errors.join('\n')).toMatch(/exited on SIGKILL while serving/);
    hands.finish.get(id)!();
    await until(() => phases().length === 0);
    // not restarted behind the autoscaler's back: the next tick decides
    await sleep(700);
    expect(supervisor.pid(id)).toBeUndefined();
  });

  it('cancels a starting replica: its process is stopped and it never joins', async () => {
    const { actuator, hands, supervisor, phases } = rig({ startup: '30' });
    actuator.apply(POOL, { start: 1, drain: [] });
    const id = actuator.replicas(POOL)[0].id;
    await until(() => supervisor.pid(id) !== undefined);
    const pid = supervisor.pid(id)!;
    actuator.apply(POOL, { start: 0, drain: [id] });
    expect(phases()).toEqual([]);
    await until(() => !alive(pid));
    expect(hands.events).toEqual([]);
  });

  it('never reuses an id, across pools and after a replica is gone', async () => {
    const { actuator } = rig({ startup: '30' });
    const seen: string[] = [];
    for (let i = 0; i < 3; i++) {
      actuator.apply(POOL, { start: 1, drain: [] });
      const id = actuator.replicas(POOL)[0].id;
      seen.push(id);
      actuator.apply(POOL, { start: 0, drain: [id] });
    }
    actuator.apply(POOL, { start: 2, drain: [] });
    seen.push(...actuator.replicas(POOL).map((r) => r.id));
    actuator.apply('eu-west/llama-3.1-8b', { start: 1, drain: [] });
    seen.push(...actuator.replicas('eu-west/llama-3.1-8b').map((r) => r.id));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of seen) expect(id).toMatch(/^(us-east|eu-west)\/llama-3\.1-8b\/as-\d+$/);
    actuator.apply(POOL, { start: 0, drain: actuator.replicas(POOL).map((r) => r.id) });
    actuator.apply('eu-west/llama-3.1-8b', { start: 0, drain: actuator.replicas('eu-west/llama-3.1-8b').map((r) => r.id) });
  });

  it('forgets a replica whose process exits while starting, and says so', async () => {
    const { actuator, hands, phases, errors } = rig({ engineArgs: () => [MAIN, 'engine', '--model', 'm', '--profile', 'no-such-profile'] });
    actuator.apply(POOL, { start: 1, drain: [] });
    expect(phases()).toHaveLength(1);
    await until(() => phases().length === 0);
    expect(errors.join('\n')).toMatch(/exited .* while starting/);
    expect(hands.events).toEqual([]);
  });

  it('stops and forgets a replica that does not get healthy within its bound', async () => {
    const { actuator, supervisor, phases, errors } = rig({ startup: '30', startTimeoutMs: () => 1_500 });
    actuator.apply(POOL, { start: 1, drain: [] });
    const id = actuator.replicas(POOL)[0].id;
    await until(() => supervisor.pid(id) !== undefined);
    const pid = supervisor.pid(id)!;
    await until(() => phases().length === 0);
    expect(errors.join('\n')).toMatch(new RegExp(`${id.replace(/[./]/g, '\\$&')} did not answer /health`));
    await until(() => !alive(pid));
  });

  it('adopts a replica started before the loop as ready, and reports the gateway\'s figures for it', async () => {
    const { actuator, stats, hands } = rig();
    actuator.adopt(POOL, `${POOL}/0`, 1234, 'http://127.0.0.1:1234');
    stats.set(`${POOL}/0`, { waiting: 3, running: 5, kvUsage: 0.25, inflight: 7, reportedAtMs: 42 });
    expect(actuator.replicas(POOL)).toEqual([
      { id: `${POOL}/0`, phase: 'ready', sinceMs: expect.any(Number), reportedAtMs: 42, waiting: 3, running: 5, kvUsage: 0.25, inflight: 7 },
    ]);
    expect(actuator.replicas('eu-west/other')).toEqual([]);
    // an adopted replica leaves by the same drain
    actuator.apply(POOL, { start: 0, drain: [`${POOL}/0`] });
    expect(hands.events).toEqual([`drain ${POOL}/0`]);
    hands.finish.get(`${POOL}/0`)!();
    await until(() => actuator.replicas(POOL).length === 0);
  });
});
