import type { KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { KubernetesActuator, KubernetesApiError, POD_DELETION_COST, kubernetesClient, loadKubeConfig, type KubernetesPool } from '../../../src/control/actuators/kubernetes.js';
import type { FleetHands, PoolName } from '../../../src/control/autoscaler/types.js';
import { ManualTime } from '../../../src/time/manual.js';
import { KubernetesStandIn, STANDIN_HEADER, STANDIN_NAME, type StandInOptions } from './k8s-standin.js';

// The library as the actuator loads it (on first use).
const client = await kubernetesClient();

function kubeConfig(api: KubernetesStandIn, token?: string): KubeConfig {
  const kc = new client.KubeConfig();
  kc.loadFromOptions(api.kubeConfigOptions(token));
  return kc;
}

const POOL = 'us-east/llama-3-8b';
const T0 = Date.UTC(2026, 0, 1);
const READY_MS = 30_000;
const SCALE_PATH = '/apis/apps/v1/namespaces/default/deployments/engine/scale';

interface Deferred {
  resolve(): void;
}

/** The gateway's fleet as a log: joins, drains asked for, drains finished. Drains wait for the spec to finish them unless `autoDrain`. */
class FakeHands implements FleetHands {
  readonly log: string[] = [];
  readonly urls = new Map<string, string>();
  readonly pending = new Map<string, Deferred>();
  autoDrain = true;

  join(pool: PoolName, r: { id: string; url: string }): void {
    this.log.push(`join ${r.id}`);
    expect(pool).toBe(POOL);
    this.urls.set(r.id, r.url);
  }

  drain(id: string): Promise<void> {
    this.log.push(`drain ${id}`);
    if (this.autoDrain) return Promise.resolve();
    return new Promise((resolve) => this.pending.set(id, { resolve: () => (this.log.push(`drained ${id}`), resolve()) }));
  }

  joins(): string[] {
    return this.log.filter((l) => l.startsWith('join '));
  }
}

async function until(cond: () => boolean, what: string, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

interface Rig {
  readonly time: ManualTime;
  readonly api: KubernetesStandIn;
  readonly hands: FakeHands;
  readonly errors: unknown[];
  readonly act: KubernetesActuator;
}

const open: Rig[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) {
    r.act.close();
    await r.api.stop();
  }
});

async function rig(o: StandInOptions = {}, pool: Partial<KubernetesPool> = {}, token?: string): Promise<Rig> {
  const time = new ManualTime(T0);
  const api = new KubernetesStandIn({ readyAfterMs: READY_MS, now: () => time.nowMs(), ...o });
  await api.start();
  const hands = new FakeHands();
  const errors: unknown[] = [];
  const act = new KubernetesActuator({
    kubeConfig: kubeConfig(api, token), hands, clock: time, timers: time, pollMs: 5_000,
    pools: new Map([[POOL, { namespace: 'default', deployment: 'engine', port: 8000, ...pool }]]),
    replicaStats: (id) => (id.startsWith('k8s/') ? { waiting: 0, running: 1, kvUsage: 0.25, inflight: 2, reportedAtMs: time.nowMs() } : null),
    onError: (err) => errors.push(err),
  });
  const r = { time, api, hands, errors, act };
  open.push(r);
  return r;
}

/** a rig whose `n` pods exist, are ready, and have joined the fleet */
async function readyRig(n: number, o: StandInOptions = {}): Promise<Rig> {
  const r = await rig({ replicas: n, ...o });
  r.time.advance(READY_MS);
  await r.act.start();
  expect(r.hands.joins()).toHaveLength(n);
  return r;
}

const idOf = (pod: string): string => `k8s/default/${pod}`;
const counted = (r: Rig): number => r.act.replicas(POOL).filter((x) => x.phase !== 'draining').length;

describe('the Kubernetes API stand-in', () => {
  it('says it is a stand-in on every answer', async () => {
    const api = new KubernetesStandIn();
    await api.start();
    const res = await fetch(`${api.url}/apis/apps/v1/namespaces/default/deployments/engine/scale`);
    await api.stop();
    expect(res.headers.get(STANDIN_HEADER)).toBe(STANDIN_NAME);
    expect(await res.json()).toMatchObject({ apiVersion: 'autoscaling/v1', kind: 'Scale', spec: { replicas: 0 } });
  });
});

describe('the Kubernetes actuator', () => {
  describe('discovery', () => {
    it('reports a pending pod as starting since its creation, and joins it once with its URL when Ready', async () => {
      const { time, api, hands, act } = await rig({ replicas: 1 });
      await act.start();
      const [pod] = api.pods();
      expect(act.replicas(POOL)).toEqual([expect.objectContaining({ id: idOf(pod!.name), phase: 'starting', sinceMs: pod!.createdMs })]);
      expect(hands.joins()).toEqual([]);

      time.advance(READY_MS);   // the poll fires on the manual clock
      await until(() => hands.joins().length === 1, 'the pod to join');
      const [report] = act.replicas(POOL);
      expect(report).toMatchObject({ id: idOf(pod!.name), phase: 'ready', sinceMs: time.nowMs(), inflight: 2, kvUsage: 0.25 });
      expect(hands.urls.get(idOf(pod!.name))).toBe(`http://${pod!.ip}:8000`);

      await act.refresh();
      await act.refresh();
      expect(hands.joins()).toHaveLength(1);
    });

    it('reads a named container port per pod, so pods on one host can each have their own', async () => {
      const { api, hands, act, time } = await rig({ replicas: 2, podAddress: (i) => ({ ip: '127.0.0.1', port: 19_000 + i }) }, { port: 'http' });
      time.advance(READY_MS);
      await act.start();
      expect([...hands.urls.values()].sort()).toEqual(api.pods().map((p) => `http://127.0.0.1:${p.port}`).sort());
      expect(new Set(hands.urls.values()).size).toBe(2);
    });

    it('drains a pod that disappears on its own (node lost) from the fleet, and reports its replacement as starting', async () => {
      const r = await readyRig(2);
      const [lost, kept] = r.api.pods();
      r.api.losePod(lost!.name);
      await r.act.refresh();
      expect(r.hands.log.filter((l) => l.startsWith('drain '))).toEqual([`drain ${idOf(lost!.name)}`]);
      const ids = r.act.replicas(POOL).map((x) => `${x.id} ${x.phase}`);
      expect(ids).not.toContain(`${idOf(lost!.name)} ready`);
      expect(ids).toContain(`${idOf(kept!.name)} ready`);
      const replacement = r.api.pods().find((p) => p.name !== kept!.name)!;
      expect(ids).toContain(`${idOf(replacement.name)} starting`);
      await r.act.refresh();
      expect(r.hands.log.filter((l) => l.startsWith('drain '))).toHaveLength(1);
    });
  });

  describe('scale up', () => {
    it('PATCHes the scale to current + start, reports the pods asked for as starting at once, then joins each when Ready', async () => {
      const r = await readyRig(1);
      r.act.apply(POOL, { start: 2, drain: [] });
      await until(() => r.api.replicas === 3, 'the scale write');
      await settle();

      const patch = r.api.requests.filter((q) => q.method === 'PATCH');
      expect(patch).toHaveLength(1);
      expect(patch[0]).toMatchObject({ path: SCALE_PATH, contentType: 'application/merge-patch+json', body: { spec: { replicas: 3 } } });
      const read = r.api.requests.filter((q) => q.method === 'GET' && q.path === SCALE_PATH);
      expect(read).toHaveLength(1);
      // not yet seen by a discovery: still counted, so the next tick does not ask for them again
      expect(counted(r)).toBe(3);
      expect(r.act.replicas(POOL).filter((x) => x.phase === 'starting')).toHaveLength(2);

      await r.act.refresh();
      const fresh = r.api.pods().slice(1);
      expect(r.act.replicas(POOL).filter((x) => x.phase === 'starting').map((x) => x.id).sort()).toEqual(fresh.map((p) => idOf(p.name)).sort());
      expect(r.hands.joins()).toHaveLength(1);

      r.time.advance(READY_MS);
      await until(() => r.hands.joins().length === 3, 'the new pods to join');
      await r.act.refresh();
      expect(r.hands.joins().sort()).toEqual(r.api.pods().map((p) => `join ${idOf(p.name)}`).sort());
      for (const p of fresh) expect(r.hands.urls.get(idOf(p.name))).toBe(`http://${p.ip}:8000`);
      expect(r.act.replicas(POOL).every((x) => x.phase === 'ready')).toBe(true);
    });

    it('counts a start as starting from the moment it is asked, before the API server answers: a tick in between asks for nothing more', async () => {
      const r = await readyRig(1);
      r.act.apply(POOL, { start: 2, drain: [] });
      // the write is still on its way (a slow API server, or a tick that comes first)
      expect(r.api.replicas).toBe(1);
      expect(counted(r)).toBe(3);
      expect(r.act.replicas(POOL).filter((x) => x.phase === 'starting')).toHaveLength(2);
      await until(() => r.api.replicas === 3, 'the scale write');
      await settle();
      // once written, the same two: not counted twice
      expect(counted(r)).toBe(3);
    });

    it('stops counting a start the API server refused', async () => {
      const r = await readyRig(1);
      r.api.fail('PATCH', /\/scale$/, 500);
      r.act.apply(POOL, { start: 2, drain: [] });
      expect(counted(r)).toBe(3);
      await until(() => r.errors.length === 1, 'the refusal');
      expect(counted(r)).toBe(1);
    });

    it('a scale asked for but not yet created, when drained, is one fewer on the scale', async () => {
      const r = await readyRig(1);
      r.act.apply(POOL, { start: 2, drain: [] });
      await until(() => r.api.replicas === 3, 'the scale-up');
      await settle();
      const asked = r.act.replicas(POOL).find((x) => x.id.includes('/requested-'))!;
      r.act.apply(POOL, { start: 0, drain: [asked.id] });
      await until(() => r.api.replicas === 2, 'the scale-down');
      expect(r.errors).toEqual([]);
    });
  });

  describe('scale down', () => {
    it('drains first, then annotates exactly that pod, then lowers the scale; the ReplicaSet removes that pod and no other', async () => {
      const r = await readyRig(3);
      r.hands.autoDrain = false;
      const victim = r.api.pods()[1]!;
      r.act.apply(POOL, { start: 0, drain: [idOf(victim.name)] });
      await settle();

      // the gateway is still finishing its calls: nothing is written yet
      expect(r.hands.log.at(-1)).toBe(`drain ${idOf(victim.name)}`);
      expect(r.api.writes()).toEqual([]);
      expect(r.act.replicas(POOL).find((x) => x.id === idOf(victim.name))).toMatchObject({ phase: 'draining', sinceMs: r.time.nowMs() });
      expect(counted(r)).toBe(2);

      r.hands.pending.get(idOf(victim.name))!.resolve();
      await until(() => r.api.replicas === 2, 'the scale write');
      expect(r.api.writes()).toEqual([`PATCH /api/v1/namespaces/default/pods/${victim.name}`, `PATCH ${SCALE_PATH}`]);
      const [annotate, scale] = r.api.requests.filter((q) => q.method === 'PATCH');
      expect(annotate!.body).toEqual({ metadata: { annotations: { [POD_DELETION_COST]: '-1000' } } });
      expect(annotate!.contentType).toBe('application/merge-patch+json');
      expect(scale!.body).toMatchObject({ spec: { replicas: 2 } });
      expect(r.api.deleted).toEqual([victim.name]);
      expect(r.api.pods().map((p) => p.name)).not.toContain(victim.name);
      for (const other of r.api.pods()) expect(other.annotations[POD_DELETION_COST]).toBeUndefined();

      await r.act.refresh();
      expect(r.act.replicas(POOL).map((x) => x.id)).not.toContain(idOf(victim.name));
      expect(r.hands.log.filter((l) => l.includes(victim.name))).toEqual([`join ${idOf(victim.name)}`, `drain ${idOf(victim.name)}`, `drained ${idOf(victim.name)}`]);
      expect(r.errors).toEqual([]);
    });

    it('cancels a starting pod without a drain: it is annotated and the scale lowered', async () => {
      const r = await readyRig(1);
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.api.replicas === 2, 'the scale-up');
      await r.act.refresh();
      const starting = r.act.replicas(POOL).find((x) => x.phase === 'starting')!;
      r.act.apply(POOL, { start: 0, drain: [starting.id] });
      await until(() => r.api.replicas === 1, 'the scale-down');
      expect(r.hands.log.filter((l) => l.startsWith('drain'))).toEqual([]);
      expect(r.api.deleted).toEqual([starting.id.slice('k8s/default/'.length)]);
    });

    it('when the ReplicaSet removes a not-ready pod instead of the drained one, the drained one serves again', async () => {
      const r = await readyRig(2);
      const victim = r.api.pods()[0]!;
      r.api.externalScale(3);   // someone else asked for a third: Pending, it ranks before any Ready pod
      r.act.apply(POOL, { start: 0, drain: [idOf(victim.name)] });
      await until(() => r.api.replicas === 2, 'the scale-down');
      expect(r.api.pods().map((p) => p.name)).toContain(victim.name);
      await r.act.refresh();
      expect(r.act.replicas(POOL).find((x) => x.id === idOf(victim.name))).toMatchObject({ phase: 'ready' });
      expect(r.hands.joins().filter((j) => j === `join ${idOf(victim.name)}`)).toHaveLength(2);
    });
  });

  describe('failures', () => {
    it('retries a 409 conflict on the scale write once, on a fresh read', async () => {
      const r = await readyRig(1);
      r.api.fail('PATCH', /\/scale$/, 409);
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.api.replicas === 2, 'the retried write');
      const scale = r.api.requests.filter((q) => q.path === SCALE_PATH).map((q) => `${q.method} ${q.status}`);
      expect(scale).toEqual(['GET 200', 'PATCH 409', 'GET 200', 'PATCH 200']);
      expect(r.errors).toEqual([]);
    });

    it('reports a second conflict in a row to onError and writes nothing over it', async () => {
      const r = await readyRig(1);
      r.api.fail('PATCH', /\/scale$/, 409, 2);
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.errors.length === 1, 'the error');
      expect(r.errors[0]).toBeInstanceOf(KubernetesApiError);
      expect(r.errors[0]).toMatchObject({ code: 409, reason: 'Conflict' });
      expect(r.api.replicas).toBe(1);
      expect(r.api.requests.filter((q) => q.method === 'PATCH')).toHaveLength(2);
    });

    it('a 500 on the scale write reaches onError, nothing changes, and the next apply succeeds', async () => {
      const r = await readyRig(1);
      r.api.fail('PATCH', /\/scale$/, 500);
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.errors.length === 1, 'the error');
      expect((r.errors[0] as Error).message).toMatch(/setting deployment default\/engine to 2 replicas failed \(500 InternalError\)/);
      expect(r.api.replicas).toBe(1);
      expect(counted(r)).toBe(1);

      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.api.replicas === 2, 'the second attempt');
      expect(r.errors).toHaveLength(1);
    });

    it('a scale-down whose write fails is finished at a later discovery, without a second drain', async () => {
      const r = await readyRig(2);
      const victim = r.api.pods()[0]!;
      r.api.fail('PATCH', /\/scale$/, 500);
      r.act.apply(POOL, { start: 0, drain: [idOf(victim.name)] });
      await until(() => r.errors.length === 1, 'the error');
      expect(r.api.replicas).toBe(2);
      expect(r.act.replicas(POOL).find((x) => x.id === idOf(victim.name))?.phase).toBe('draining');

      await r.act.refresh();
      await until(() => r.api.replicas === 1, 'the retried removal');
      expect(r.api.deleted).toEqual([victim.name]);
      expect(r.hands.log.filter((l) => l.startsWith('drain '))).toEqual([`drain ${idOf(victim.name)}`]);
    });

    it('a failed discovery reaches onError and keeps the last report', async () => {
      const r = await readyRig(2);
      const before = r.act.replicas(POOL).map((x) => x.id);
      r.api.fail('GET', /\/pods$/, 500);
      await r.act.refresh();
      expect(r.errors).toHaveLength(1);
      expect((r.errors[0] as Error).message).toMatch(/listing the pods of deployment default\/engine failed \(500/);
      expect(r.act.replicas(POOL).map((x) => x.id)).toEqual(before);
    });

    it('a Deployment that does not exist is named in the error', async () => {
      const r = await rig({}, { deployment: 'missing' });
      await r.act.refresh();
      expect(r.errors[0]).toMatchObject({ code: 404, reason: 'NotFound' });
      expect((r.errors[0] as Error).message).toContain('deployments.apps "missing" not found');
    });
  });

  describe('credentials', () => {
    const TOKEN = 'sk-standin-0f1e2d3c4b5a';

    it('sends the bearer token on every call', async () => {
      const r = await readyRig(1, { token: TOKEN });
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.api.replicas === 2, 'the scale write');
      expect(r.api.requests.length).toBeGreaterThan(2);
      expect(new Set(r.api.requests.map((q) => q.authorization))).toEqual(new Set([`Bearer ${TOKEN}`]));
      expect(r.api.requests.every((q) => q.status < 400)).toBe(true);
    });

    it('never puts it in an error: not in the message, the stack or the error object', async () => {
      const r = await rig({ replicas: 1, token: TOKEN }, {}, `${TOKEN}-wrong`);
      await r.act.refresh();
      r.act.apply(POOL, { start: 1, drain: [] });
      await until(() => r.errors.length === 2, 'two errors');
      expect(r.errors[0]).toMatchObject({ code: 401 });
      for (const e of r.errors) {
        const seen = [String(e), (e as Error).stack ?? '', JSON.stringify(e), JSON.stringify(Object.entries(e as object))].join('\n');
        expect(seen).not.toContain(TOKEN);
      }
      expect(r.api.requests.map((q) => q.authorization)).toContain(`Bearer ${TOKEN}-wrong`);
    });
  });

  it('close() stops the polling', async () => {
    const r = await readyRig(1);
    r.act.close();
    const n = r.api.requests.length;
    r.time.advance(60_000);
    await settle();
    expect(r.api.requests.length).toBe(n);
    expect(r.time.armed).toBe(0);
  });
});

describe('a kubeconfig that cannot be read', () => {
  it('is refused with where it broke, never with its contents (a kubeconfig holds tokens)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'kc-')), 'config');
    writeFileSync(file, 'apiVersion: v1\nusers:\n- name: u\n  user:\n    token: sekret-token-123\n   bad: [\n');
    const err = await loadKubeConfig(file).then(() => null, (e: unknown) => e as Error);
    expect(err?.message).toMatch(/could not be read at line \d+/);
    expect(err?.message).not.toContain('sekret');
  });
});
