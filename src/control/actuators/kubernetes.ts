import type { AppsV1Api, ConfigurationOptions, CoreV1Api, KubeConfig, V1Pod } from '@kubernetes/client-node';
import type { Clock, TimerHandle, Timers } from '../../time/index.js';
import type { Actuator, FleetHands, PoolName, PoolSource, ReplicaPhase, ReplicaReport, ReplicaStats, ScalePlan } from '../autoscaler/types.js';
import { replicaReport } from './report.js';

// The Kubernetes actuator: a pool is a Deployment, a replica one of its pods. It reads the
// Deployment and its pods every pollMs, puts a pod into the gateway's fleet once it is Ready, and
// scales through the Deployment's scale subresource. A replica is drained before it is removed: the
// gateway stops routing to it and waits for its calls in flight, then the pod is given the lowest
// `controller.kubernetes.io/pod-deletion-cost` (the ReplicaSet docs' way to say which pod goes on a
// scale-down) and only then is the scale lowered. Level-triggered: every write reads the scale
// first and carries its resourceVersion, a conflict is retried once on a fresh read, and the report
// counts pods the Deployment asked for and the ReplicaSet has not created yet, so a start is never
// asked for twice. The client library is loaded on first use, never at import. (It is pinned to 1.4:
// 2.x bundles an undici that needs Node >= 22.19.)

/** Where a pool lives in the cluster. */
export interface KubernetesPool {
  readonly namespace: string;
  readonly deployment: string;
  /** the container port the model server listens on: a number (e.g. 8000) or the name of a container port of the pod, read per pod */
  readonly port: number | string;
  readonly scheme?: 'http';
}

export interface KubernetesActuatorOptions {
  /** the gateway loads it with loadFromDefault() or from a file */
  readonly kubeConfig: KubeConfig;
  readonly pools: ReadonlyMap<PoolName, KubernetesPool>;
  readonly hands: FleetHands;
  readonly clock: Clock;
  readonly timers: Timers;
  /** between discoveries (a read of each Deployment and its pods); e.g. 5_000 */
  readonly pollMs: number;
  /** null: the gateway has nothing on it (yet) */
  replicaStats(id: string): ReplicaStats | null;
  onError?(err: unknown, pool: PoolName): void;
}

/** A failed call to the API server, with what was being done and what the server said. Carries no credentials. */
export class KubernetesApiError extends Error {
  /** the HTTP status, or null when the server was not reached */
  readonly code: number | null;
  /** the Status object's reason (`Conflict`, `NotFound`, …), if it sent one */
  readonly reason: string | null;

  constructor(doing: string, code: number | null, reason: string | null, detail: string) {
    super(`kubernetes: ${doing} failed${code === null ? '' : ` (${code}${reason === null ? '' : ` ${reason}`})`}: ${detail}`);
    this.name = 'KubernetesApiError';
    this.code = code;
    this.reason = reason;
  }
}

export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';
/** lower than any cost an operator is likely to set: this pod goes first */
const DRAINED_COST = '-1000';

export type ClientModule = typeof import('@kubernetes/client-node');
let clientModule: Promise<ClientModule> | null = null;

/** The client library, loaded once, on first use: a gateway that does not use Kubernetes never pays for it. */
export function kubernetesClient(): Promise<ClientModule> {
  clientModule ??= import('@kubernetes/client-node');
  return clientModule;
}

/** A KubeConfig from a kubeconfig file, or from the default places (KUBECONFIG, ~/.kube/config, the in-cluster service account) without one. */
export async function loadKubeConfig(path?: string): Promise<KubeConfig> {
  const { KubeConfig } = await kubernetesClient();
  const kc = new KubeConfig();
  try {
    if (path === undefined) kc.loadFromDefault();
    else kc.loadFromFile(path);
  } catch (err) {
    // a YAML error quotes the lines around it, and a kubeconfig holds tokens: say where, never what
    const e = err as { name?: unknown; reason?: unknown; mark?: { line?: unknown; column?: unknown }; code?: unknown };
    const where = typeof e.mark?.line === 'number' ? ` at line ${e.mark.line + 1}` : '';
    const why = typeof e.reason === 'string' ? e.reason : typeof e.code === 'string' ? e.code : 'it could not be parsed';
    throw new Error(`the kubeconfig ${path ?? '(KUBECONFIG, ~/.kube/config or the service account)'} could not be read${where}: ${why}`);
  }
  return kc;
}

interface Clients {
  readonly apps: AppsV1Api;
  readonly core: CoreV1Api;
  /** per-call options that send a PATCH as a JSON merge patch (the generated client would pick a JSON patch) */
  readonly mergePatch: ConfigurationOptions;
}

/**
 * How our scale-down of a pod stands. `none`: not ours to remove; `draining`: waiting for the
 * gateway's drain; `removing`: drained, its annotation and the scale write outstanding (retried at
 * each discovery until done); `removed`: the scale was lowered, the ReplicaSet is to delete it.
 */
type Exit = 'none' | 'draining' | 'removing' | 'removed';

interface TrackedPod {
  readonly id: string;
  readonly name: string;
  phase: ReplicaPhase;
  sinceMs: number;
  /** hands.join was called and no drain since */
  joined: boolean;
  exit: Exit;
  /** being deleted by someone (deletionTimestamp set) or finished */
  terminating: boolean;
  /** an annotate-and-scale write is in flight */
  busy: boolean;
}

interface PoolState {
  readonly name: PoolName;
  readonly spec: KubernetesPool;
  readonly pods: Map<string, TrackedPod>;
  /** the Deployment's spec.replicas as last read or written; null before the first read */
  desired: number | null;
  /** bumped on every scale write, so a discovery that began before it does not undo what it wrote */
  writes: number;
  /** clock ms of the latest scale-up: when the pods not created yet were asked for */
  requestedAtMs: number;
  /** replicas a start asked for whose scale write has not landed (or failed) yet: starting already */
  asking: number;
  /** scale writes run one at a time per pool */
  chain: Promise<unknown>;
  discovering: boolean;
}

export class KubernetesActuator implements Actuator, PoolSource {
  readonly #o: KubernetesActuatorOptions;
  #clients: Promise<Clients> | null = null;
  readonly #pools = new Map<PoolName, PoolState>();
  #timer: TimerHandle | null = null;
  #closed = false;

  constructor(o: KubernetesActuatorOptions) {
    this.#o = o;
    for (const [name, spec] of o.pools) {
      this.#pools.set(name, { name, spec, pods: new Map(), desired: null, writes: 0, requestedAtMs: o.clock.nowMs(), asking: 0, chain: Promise.resolve(), discovering: false });
    }
  }

  /** Polls every pollMs; resolves once the first discovery of every pool is done. */
  start(): Promise<void> {
    if (this.#timer === null && !this.#closed) this.#timer = this.#o.timers.every(this.#o.pollMs, poll, this);
    return this.refresh();
  }

  /** Reads every pool's Deployment and pods now (a poll does the same). Failures go to onError. */
  async refresh(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => this.#discover(p)));
  }

  /** Stops polling; calls in flight finish, and nothing joins the fleet after. */
  close(): void {
    this.#closed = true;
    this.#o.timers.cancel(this.#timer);
    this.#timer = null;
  }

  apply(pool: PoolName, plan: ScalePlan): void {
    const p = this.#pools.get(pool);
    if (p === undefined) {
      this.#o.onError?.(new Error(`no Kubernetes Deployment is configured for pool ${pool}: add it to the actuator's pools`), pool);
      return;
    }
    if (this.#closed) return;
    if (plan.start > 0) {
      // starting from now, not from when the API server answers: a tick in between must not ask again
      p.asking += plan.start;
      p.requestedAtMs = this.#o.clock.nowMs();
      this.#scaleBy(p, plan.start, plan.start).catch((err: unknown) => this.#fail(p, `scaling deployment ${where(p)} up by ${plan.start}`, err));
    }
    const requested = `${prefix(p.spec)}${p.spec.deployment}/requested-`;
    for (const id of plan.drain) {
      if (id.startsWith(requested)) {
        // not created yet: asking for one fewer is all there is to do
        this.#scaleBy(p, -1).catch((err: unknown) => this.#fail(p, `scaling deployment ${where(p)} down by 1`, err));
        continue;
      }
      const t = [...p.pods.values()].find((x) => x.id === id);
      if (t === undefined || t.exit !== 'none' || t.terminating) continue;
      t.exit = 'draining';
      t.phase = 'draining';
      t.sinceMs = this.#o.clock.nowMs();
      void this.#drainThenRemove(p, t);
    }
  }

  replicas(pool: PoolName): ReplicaReport[] {
    const p = this.#pools.get(pool);
    if (p === undefined) return [];
    const out: ReplicaReport[] = [];
    let live = 0;
    for (const t of p.pods.values()) {
      if (!t.terminating) live++;
      out.push(this.#report(t.id, t.phase, t.sinceMs));
    }
    // asked of the Deployment, not created by its ReplicaSet yet: starting, so not asked for again
    for (let i = 0; i < (p.desired ?? 0) + p.asking - live; i++) {
      out.push(this.#report(`${prefix(p.spec)}${p.spec.deployment}/requested-${i}`, 'starting', p.requestedAtMs));
    }
    return out;
  }

  /** The gateway's admission queue is read elsewhere; this actuator holds none. */
  queued(_pool?: PoolName): number {
    return 0;
  }

  #api(): Promise<Clients> {
    this.#clients ??= kubernetesClient().then((m) => ({
      apps: this.#o.kubeConfig.makeApiClient(m.AppsV1Api),
      core: this.#o.kubeConfig.makeApiClient(m.CoreV1Api),
      mergePatch: m.setHeaderOptions('Content-Type', m.PatchStrategy.MergePatch) as ConfigurationOptions,
    }));
    return this.#clients;
  }

  #report(id: string, phase: ReplicaPhase, sinceMs: number): ReplicaReport {
    return replicaReport(id, phase, sinceMs, this.#o.replicaStats(id));
  }

  async #discover(p: PoolState): Promise<void> {
    if (p.discovering || this.#closed) return;
    p.discovering = true;
    const writes = p.writes;
    const { namespace, deployment } = p.spec;
    try {
      const { apps, core } = await this.#api();
      const d = await call(`reading deployment ${where(p)}`, () => apps.readNamespacedDeployment({ name: deployment, namespace }));
      const match = d.spec?.selector?.matchLabels ?? {};
      if (Object.keys(match).length === 0) {
        throw new Error(`deployment ${where(p)} has no spec.selector.matchLabels; the actuator lists its pods by those labels`);
      }
      const labelSelector = Object.entries(match).map(([k, v]) => `${k}=${v}`).join(',');
      const list = await call(`listing the pods of deployment ${where(p)}`, () => core.listNamespacedPod({ namespace, labelSelector }));
      if (this.#closed) return;
      if (p.writes === writes) p.desired = d.spec?.replicas ?? 1;
      this.#reconcile(p, list.items);
    } catch (err) {
      this.#fail(p, `discovering deployment ${where(p)}`, err);
    } finally {
      p.discovering = false;
    }
  }

  #reconcile(p: PoolState, items: readonly V1Pod[]): void {
    const now = this.#o.clock.nowMs();
    const seen = new Set<string>();
    const live = items.filter((pod) => !isTerminating(pod)).length;
    for (const pod of items) {
      const name = pod.metadata?.name;
      if (name === undefined) continue;
      seen.add(name);
      let t = p.pods.get(name);
      if (t === undefined) {
        const created = pod.metadata?.creationTimestamp?.getTime();
        t = { id: `${prefix(p.spec)}${name}`, name, phase: 'starting', sinceMs: created ?? now, joined: false, exit: 'none', terminating: false, busy: false };
        p.pods.set(name, t);
      }
      if (isTerminating(pod)) {
        this.#lost(p, t, now);
        t.terminating = true;
        continue;
      }
      const ready = pod.status?.podIP != null && pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
      if (t.exit === 'removed' && p.desired !== null && live <= p.desired) {
        // the scale went down and the ReplicaSet removed another pod (one not ready ranks first): this one stays, so it serves again
        t.exit = 'none';
        t.phase = 'starting';
      }
      if (t.exit === 'none' && ready && !t.joined) this.#join(p, t, pod, now);
      else if (t.exit === 'removing' && !t.busy) void this.#remove(p, t);
    }
    for (const t of [...p.pods.values()]) {
      if (seen.has(t.name)) continue;
      this.#lost(p, t, now);
      p.pods.delete(t.name);
    }
  }

  #join(p: PoolState, t: TrackedPod, pod: V1Pod, now: number): void {
    const port = typeof p.spec.port === 'number'
      ? p.spec.port
      : pod.spec?.containers.flatMap((c) => c.ports ?? []).find((x) => x.name === p.spec.port)?.containerPort;
    if (port === undefined) {
      this.#fail(p, `putting pod ${p.spec.namespace}/${t.name} into the fleet`, new Error(`it has no container port named ${String(p.spec.port)}`));
      return;
    }
    const ip = pod.status!.podIP!;
    const url = `${p.spec.scheme ?? 'http'}://${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
    try {
      this.#o.hands.join(p.name, { id: t.id, url });
    } catch (err) {
      this.#fail(p, `putting pod ${p.spec.namespace}/${t.name} into the fleet`, err);
      return;
    }
    t.joined = true;
    t.phase = 'ready';
    t.sinceMs = now;
  }

  /** a pod going or gone without our asking (node lost, evicted, deleted by hand): the gateway stops routing to it */
  #lost(p: PoolState, t: TrackedPod, now: number): void {
    if (t.phase !== 'draining') {
      t.phase = 'draining';
      t.sinceMs = now;
    }
    if (!t.joined || t.exit !== 'none') return;
    t.joined = false;
    this.#o.hands.drain(t.id).catch((err: unknown) => this.#fail(p, `draining lost pod ${p.spec.namespace}/${t.name}`, err));
  }

  async #drainThenRemove(p: PoolState, t: TrackedPod): Promise<void> {
    if (t.joined) {
      try {
        await this.#o.hands.drain(t.id);
      } catch (err) {
        // the gateway could not drain it (it may not hold it): it is still to go, as the plan asked
        this.#fail(p, `draining pod ${p.spec.namespace}/${t.name}`, err);
      }
      t.joined = false;
    }
    if (t.exit !== 'draining') return;
    t.exit = 'removing';
    if (!t.terminating && p.pods.get(t.name) === t) await this.#remove(p, t);
  }

  /** marks the pod the one to delete, then asks for one pod fewer; on failure the next discovery tries again */
  async #remove(p: PoolState, t: TrackedPod): Promise<void> {
    t.busy = true;
    const { namespace } = p.spec;
    try {
      const { core, mergePatch } = await this.#api();
      try {
        await call(`annotating pod ${namespace}/${t.name}`, () => core.patchNamespacedPod(
          { name: t.name, namespace, body: { metadata: { annotations: { [POD_DELETION_COST]: DRAINED_COST } } } }, mergePatch));
      } catch (err) {
        // gone already: its ReplicaSet replaces it, and one fewer is still what the plan asked
        if (!(err instanceof KubernetesApiError && err.code === 404)) throw err;
      }
      await this.#scaleBy(p, -1);
      t.exit = 'removed';
    } catch (err) {
      this.#fail(p, `removing pod ${namespace}/${t.name}`, err);
    } finally {
      t.busy = false;
    }
  }

  /** `asked`: the part of `delta` counted in `asking`, uncounted the moment the write lands or fails */
  #scaleBy(p: PoolState, delta: number, asked = 0): Promise<void> {
    const run = p.chain.then(() => this.#writeScale(p, delta, asked));
    p.chain = run.catch(() => undefined);
    return run;
  }

  /** read, then write with the read's resourceVersion; a conflict (someone wrote in between) is retried once on a fresh read */
  async #writeScale(p: PoolState, delta: number, asked: number): Promise<void> {
    try {
      await this.#writeScaleOnce(p, delta);
    } finally {
      // in the same turn as `desired` is set: never counted twice, nor dropped in between
      p.asking -= asked;
    }
  }

  async #writeScaleOnce(p: PoolState, delta: number): Promise<void> {
    const { namespace, deployment: name } = p.spec;
    const { apps, mergePatch } = await this.#api();
    for (let attempt = 0; ; attempt++) {
      const s = await call(`reading the scale of deployment ${where(p)}`, () => apps.readNamespacedDeploymentScale({ name, namespace }));
      const current = s.spec?.replicas ?? 0;
      const replicas = Math.max(0, current + delta);
      p.writes++;
      if (replicas === current) {
        p.desired = current;
        return;
      }
      try {
        const out = await call(`setting deployment ${where(p)} to ${replicas} replicas`, () => apps.patchNamespacedDeploymentScale(
          { name, namespace, body: { metadata: { resourceVersion: s.metadata?.resourceVersion }, spec: { replicas } } }, mergePatch));
        p.writes++;
        p.desired = out.spec?.replicas ?? replicas;
        return;
      } catch (err) {
        if (attempt === 0 && err instanceof KubernetesApiError && err.code === 409) continue;
        throw err;
      }
    }
  }

  #fail(p: PoolState, doing: string, err: unknown): void {
    const e = err instanceof KubernetesApiError ? err : new KubernetesApiError(doing, null, null, (err as Error)?.message ?? String(err));
    this.#o.onError?.(e, p.name);
  }
}

function poll(self: KubernetesActuator): void {
  void self.refresh();
}

function isTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp != null || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

function prefix(spec: KubernetesPool): string {
  return `k8s/${spec.namespace}/`;
}

function where(p: PoolState): string {
  return `${p.spec.namespace}/${p.spec.deployment}`;
}

/** runs one API call; its failure becomes a KubernetesApiError with the server's Status message (never the request, which holds the token) */
async function call<T>(doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isApiException(err)) {
      const st = parseStatus(err.body);
      throw new KubernetesApiError(doing, err.code, st?.reason ?? null, st?.message ?? `the API server answered ${err.code}`);
    }
    throw new KubernetesApiError(doing, null, null, (err as Error)?.message ?? String(err));
  }
}

/** the client's ApiException, known by its shape (the class is in the lazily loaded module) */
function isApiException(err: unknown): err is { code: number; body: unknown } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'number' && 'body' in err && 'headers' in err;
}

function parseStatus(body: unknown): { reason?: string; message?: string } | null {
  try {
    const o = typeof body === 'string' ? JSON.parse(body) : body;
    return o !== null && typeof o === 'object' ? (o as { reason?: string; message?: string }) : null;
  } catch {
    return null;
  }
}
