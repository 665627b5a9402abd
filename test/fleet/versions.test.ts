import { describe, expect, it } from 'vitest';
import { admissionPolicy, AdmissionDriver } from '../../src/admission/index.js';
import { FleetRegistry, ModelVersions, readyForTraffic, type ReplicaSpec } from '../../src/fleet/index.js';
import { ManualTime } from '../../src/time/index.js';

const spec = (id: string, over: Partial<ReplicaSpec> = {}): ReplicaSpec => ({ id, model: 'm', servedModel: 'm', region: 'a', url: `http://127.0.0.1:1/${id}`, ...over });

describe('a replica\'s version weight', () => {
  it('is 1 by default, so a model with one version routes as before', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    expect(r.versionWeight).toBe(1);
    expect(r.version).toBe('m');
    expect(r.routable).toBe(true);
  });

  it('at 0 takes the replica out of rotation (it stays in the fleet), and back in above 0', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0', { version: 'v2' }));
    const events: Array<[string, boolean]> = [];
    fleet.onRotation((x, routable) => events.push([x.id, routable]));
    fleet.setVersionWeight(r, 0);
    expect(r.routable).toBe(false);
    expect(fleet.byId('r0')).toBe(r);
    fleet.setVersionWeight(r, 0); // no change: no event
    fleet.setVersionWeight(r, 10);
    expect(r.routable).toBe(true);
    expect(events).toEqual([['r0', false], ['r0', true]]);
  });

  it('at 0 does not bring an unhealthy or draining replica back into rotation when raised', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    fleet.setVersionWeight(r, 0);
    fleet.setDraining(r, true);
    fleet.setVersionWeight(r, 50);
    expect(r.routable).toBe(false);
  });

  it('may be 0 from the start: such a replica joins out of rotation, announced to nobody', () => {
    const fleet = new FleetRegistry();
    const events: boolean[] = [];
    fleet.onRotation((_r, routable) => events.push(routable));
    const r = fleet.add(spec('r0', { versionWeight: 0 }));
    expect(r.routable).toBe(false);
    expect(events).toEqual([]);
  });

  it.each([-1, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s', (w) => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    expect(() => fleet.setVersionWeight(r, w)).toThrow(RangeError);
    expect(() => fleet.add(spec('r1', { versionWeight: w }))).toThrow(/versionWeight/);
  });

  it('at 0 removes the replica\'s capacity from admission, and above 0 gives it back', () => {
    const time = new ManualTime(0);
    const fleet = new FleetRegistry();
    const a = fleet.add(spec('r0'));
    fleet.add(spec('r1'));
    const driver = new AdmissionDriver<number>({
      policy: admissionPolicy({ maxInflightPerReplica: 4 }), replicasOf: (m) => fleet.replicasOf(m),
      clock: time, timers: time, rng: () => 0.5, hooks: { start: () => {}, shed: () => {} },
    });
    fleet.onRotation((r) => driver.recount(r.model));
    driver.admit(1, { model: 'm', tenant: 't', weight: 1, priority: 'standard', deadlineMs: null });
    const capacity = () => driver.snapshot().find((q) => q.model === 'm')!.capacity;
    expect(capacity()).toBe(8);
    fleet.setVersionWeight(a, 0);
    expect(capacity()).toBe(4);
    fleet.setVersionWeight(a, 5);
    expect(capacity()).toBe(8);
  });
});

describe('readiness for a rollout\'s traffic', () => {
  it('needs a passed health probe since the replica joined: a newcomer is presumed healthy, not proved', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    expect(r.healthy).toBe(true);
    expect(readyForTraffic(r)).toBe(false);
    fleet.markHealthy(r, 1_000);
    expect(r.probedAtMs).toBe(1_000);
    expect(readyForTraffic(r)).toBe(true);
  });

  it('counts a probe at time 0 of a manual clock', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    fleet.markHealthy(r, 0);
    expect(r.probedAtMs).toBeGreaterThan(0);
    expect(readyForTraffic(r)).toBe(true);
  });

  it('needs the warm-up to have run when the version has one', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0', { warm: false }));
    fleet.markHealthy(r, 1_000);
    expect(readyForTraffic(r)).toBe(false);
    fleet.markWarm(r);
    expect(readyForTraffic(r)).toBe(true);
  });

  it.each([
    { why: 'failed its last probe', act: (f: FleetRegistry, r: ReturnType<FleetRegistry['add']>) => f.markFailed(r, 2_000) },
    { why: 'is ejected', act: (f: FleetRegistry, r: ReturnType<FleetRegistry['add']>) => f.eject(r, 9_000) },
    { why: 'is draining', act: (f: FleetRegistry, r: ReturnType<FleetRegistry['add']>) => f.setDraining(r, true) },
    { why: 'was removed', act: (f: FleetRegistry, r: ReturnType<FleetRegistry['add']>) => f.remove(r) },
  ])('is lost when the replica $why', ({ act }) => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0'));
    fleet.markHealthy(r, 1_000);
    act(fleet, r);
    expect(readyForTraffic(r)).toBe(false);
  });

  it('does not read the weight: a candidate at 0 can be ready, so a rollout can give it traffic', () => {
    const fleet = new FleetRegistry();
    const r = fleet.add(spec('r0', { versionWeight: 0 }));
    fleet.markHealthy(r, 1_000);
    expect(r.routable).toBe(false);
    expect(readyForTraffic(r)).toBe(true);
  });
});

describe('the versions catalogue', () => {
  const models = () => new ModelVersions([
    { id: 'm', versions: [{ id: 'v1', weights: 'ckpt-1' }, { id: 'v2' }], stable: 'v1' },
    { id: 'n', versions: [{ id: 'n' }], stable: 'n' },
  ]);

  it('lists each model\'s versions from config, in order, with its stable one', () => {
    const v = models();
    expect(v.list('m').map((x) => x.id)).toEqual(['v1', 'v2']);
    expect(v.get('m', 'v1')).toEqual({ id: 'v1', weights: 'ckpt-1' });
    expect(v.get('m', 'v3')).toBeUndefined();
    expect(v.stableOf('m')).toBe('v1');
    expect(v.list('ghost')).toEqual([]);
    expect(v.stableOf('ghost')).toBeUndefined();
  });

  it('registers a new version of a known model', () => {
    const v = models();
    const r = v.register('m', { id: 'v3', engine: 'vllm 0.11', warmup: { requests: 2, prompt: 'hi', maxTokens: 8 } });
    expect(r.ok).toBe(true);
    expect(v.list('m').map((x) => x.id)).toEqual(['v1', 'v2', 'v3']);
    expect(v.get('m', 'v3')?.engine).toBe('vllm 0.11');
  });

  it('refuses a version that exists (conflict) and a model it does not know', () => {
    const v = models();
    const dup = v.register('m', { id: 'v2' });
    expect(dup).toEqual({ ok: false, error: { kind: 'exists', message: expect.stringContaining('already has a version v2') } });
    const ghost = v.register('ghost', { id: 'v1' });
    expect(ghost.ok === false && ghost.error.kind).toBe('unknown_model');
    expect(v.list('m')).toHaveLength(2);
  });

  it('makes a promoted version stable, and only one it has', () => {
    const v = models();
    expect(v.setStable('m', 'v2')).toEqual({ ok: true, value: 'v2' });
    expect(v.stableOf('m')).toBe('v2');
    const bad = v.setStable('m', 'v9');
    expect(bad.ok === false && bad.error.kind).toBe('unknown_version');
    expect(v.stableOf('m')).toBe('v2');
  });

  it('keeps its own copies: changing what was registered does not change the catalogue', () => {
    const v = models();
    const input = { id: 'v3', weights: 'a' };
    v.register('m', input);
    input.weights = 'b';
    expect(v.get('m', 'v3')?.weights).toBe('a');
  });
});
