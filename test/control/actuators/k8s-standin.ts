// A STAND-IN for the Kubernetes API server, for specs only: no cluster runs here. It answers the few
// calls the Kubernetes actuator makes, on the real API's paths and with its object and Status
// shapes, and says what it is on every response (header `x-standin: kubernetes-api-standin`). It
// keeps one Deployment and plays its ReplicaSet controller: a scale write creates or deletes pods
// at once; a pod is Pending until `readyAfterMs` after its creation, then Running and Ready; a
// scale-down removes pods in the ReplicaSet's rank order (not ready before ready, then the lowest
// `controller.kubernetes.io/pod-deletion-cost`, then the newest). Time is read from `now`, so a spec
// on a manual clock decides when pods become ready.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const STANDIN_HEADER = 'x-standin';
export const STANDIN_NAME = 'kubernetes-api-standin';
const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export interface StandInOptions {
  readonly namespace?: string;
  readonly deployment?: string;
  /** the Deployment's spec.selector.matchLabels (and its pods' labels) */
  readonly labels?: Record<string, string>;
  /** spec.replicas at the start; those pods exist (and are ready, if readyAfterMs has passed) */
  readonly replicas?: number;
  /** from a pod's creation until it is Running and Ready; default 0 */
  readonly readyAfterMs?: number;
  /** the container port, named `http`, of every pod; default 8000 */
  readonly containerPort?: number;
  /** a pod's address by its creation index: a real server on 127.0.0.1 and its own port, or a fake IP (default 10.244.0.<n+10>) */
  readonly podAddress?: (index: number) => { readonly ip: string; readonly port?: number };
  /** the bearer token it accepts; any other is a 401 */
  readonly token?: string;
  /** epoch ms; default Date.now */
  readonly now?: () => number;
}

export interface KubeConfigOptions {
  readonly clusters: { name: string; server: string; skipTLSVerify: boolean }[];
  readonly users: { name: string; token: string }[];
  readonly contexts: { name: string; cluster: string; user: string; namespace: string }[];
  readonly currentContext: string;
}

/** One request as the stand-in saw it. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Record<string, string>;
  readonly contentType: string | null;
  readonly authorization: string | null;
  readonly body: unknown;
  readonly status: number;
}

export interface StandInPod {
  readonly name: string;
  readonly index: number;
  readonly createdMs: number;
  readonly ip: string;
  readonly port: number;
  readonly annotations: Record<string, string>;
}

interface Fault {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  left: number;
}

export class KubernetesStandIn {
  readonly namespace: string;
  readonly deployment: string;
  readonly labels: Record<string, string>;
  /** every request, in arrival order */
  readonly requests: RecordedRequest[] = [];
  /** pod names the ReplicaSet deleted on a scale-down, in order */
  readonly deleted: string[] = [];
  replicas: number;
  readonly #o: StandInOptions;
  readonly #now: () => number;
  readonly #pods = new Map<string, StandInPod>();
  readonly #faults: Fault[] = [];
  #version = 1;
  #created = 0;
  #server: Server | null = null;
  #url = '';

  /** http://127.0.0.1:PORT once started */
  get url(): string {
    return this.#url;
  }

  constructor(o: StandInOptions = {}) {
    this.#o = o;
    this.namespace = o.namespace ?? 'default';
    this.deployment = o.deployment ?? 'engine';
    this.labels = o.labels ?? { app: 'switchyard-engine' };
    this.#now = o.now ?? Date.now;
    this.replicas = 0;
    this.#scaleTo(o.replicas ?? 0);
  }

  /** listens on 127.0.0.1 at a free port */
  async start(): Promise<string> {
    const server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.#url;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = null;
    if (s !== null) await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /**
   * What `KubeConfig.loadFromOptions` takes to point at this stand-in with a bearer token, as a
   * kubeconfig file would give it. Plain data: the client library is loaded by the spec, not here.
   */
  kubeConfigOptions(token = this.#o.token ?? 'test'): KubeConfigOptions {
    return {
      clusters: [{ name: 'standin', server: this.#url, skipTLSVerify: true }],
      users: [{ name: 'standin-user', token }],
      contexts: [{ name: 'standin', cluster: 'standin', user: 'standin-user', namespace: this.namespace }],
      currentContext: 'standin',
    };
  }

  /** the next `times` requests of `method` on a path matching `path` answer `status` (a Status object) */
  fail(method: string, path: RegExp, status: number, times = 1): void {
    this.#faults.push({ method, path, status, left: times });
  }

  /** the pods that exist, oldest first */
  pods(): StandInPod[] {
    return [...this.#pods.values()];
  }

  pod(name: string): StandInPod | undefined {
    return this.#pods.get(name);
  }

  /** a pod vanishes on its own (its node was lost); the ReplicaSet replaces it, as the real one does */
  losePod(name: string): void {
    const p = this.#pods.get(name);
    if (p === undefined) return;
    this.#pods.delete(name);
    this.#scaleTo(this.replicas);
  }

  /** spec.replicas written by someone else (kubectl scale): the next write with an older resourceVersion conflicts */
  externalScale(replicas: number): void {
    this.#scaleTo(replicas);
    this.#version++;
  }

  /** the actuator-visible order of what it wrote: method and path of each non-GET request */
  writes(): string[] {
    return this.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  }

  #ready(p: StandInPod): boolean {
    return this.#now() - p.createdMs >= (this.#o.readyAfterMs ?? 0);
  }

  // The ReplicaSet controller, run at once on every change of spec.replicas.
  #scaleTo(replicas: number): void {
    this.replicas = replicas;
    const live = this.pods();
    for (let i = live.length; i < replicas; i++) {
      const index = this.#created++;
      const addr = this.#o.podAddress?.(index) ?? { ip: `10.244.0.${index + 10}` };
      const name = `${this.deployment}-6d8f7b9c4-${index.toString(36).padStart(5, 'x')}`;
      this.#pods.set(name, {
        name, index, createdMs: this.#now(), ip: addr.ip, port: addr.port ?? this.#o.containerPort ?? 8000, annotations: {},
      });
    }
    if (live.length <= replicas) return;
    const cost = (p: StandInPod): number => Number(p.annotations[DELETION_COST] ?? 0) || 0;
    const ranked = [...live].sort((a, b) =>
      Number(this.#ready(a)) - Number(this.#ready(b)) || cost(a) - cost(b) || b.createdMs - a.createdMs || b.index - a.index);
    for (const p of ranked.slice(0, live.length - replicas)) {
      this.#pods.delete(p.name);
      this.deleted.push(p.name);
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://standin');
    const method = req.method ?? 'GET';
    let body: unknown = null;
    try {
      body = raw === '' ? null : JSON.parse(raw);
    } catch {
      body = raw;
    }
    const send = (status: number, obj: unknown): void => {
      this.requests.push({
        method, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType: req.headers['content-type'] ?? null,
        authorization: req.headers.authorization ?? null, body, status,
      });
      res.writeHead(status, { 'content-type': 'application/json', [STANDIN_HEADER]: STANDIN_NAME });
      res.end(JSON.stringify(obj));
    };
    const token = this.#o.token;
    if (token !== undefined && req.headers.authorization !== `Bearer ${token}`) {
      return send(401, status(401, 'Unauthorized', 'Unauthorized'));
    }
    const fault = this.#faults.find((f) => f.left > 0 && f.method === method && f.path.test(url.pathname));
    if (fault !== undefined) {
      fault.left--;
      return send(fault.status, fault.status === 409 ? this.#conflict() : status(fault.status, 'InternalError', 'Internal error occurred: injected by the stand-in'));
    }
    try {
      const [status_, obj] = this.#route(method, url, req.headers['content-type'] ?? '', body);
      send(status_, obj);
    } catch (err) {
      send(500, status(500, 'InternalError', `Internal error occurred: ${(err as Error).message}`));
    }
  }

  #route(method: string, url: URL, contentType: string, body: unknown): [number, unknown] {
    const ns = this.namespace;
    const dep = url.pathname.match(/^\/apis\/apps\/v1\/namespaces\/([^/]+)\/deployments\/([^/]+)(\/scale)?$/);
    if (dep !== null) {
      const [, n, name, scale] = dep;
      if (n !== ns || name !== this.deployment) return [404, notFound('deployments', 'apps', name!)];
      if (method === 'PATCH') {
        const patched = this.#patchReplicas(contentType, body);
        if (patched !== null) return patched;
      } else if (method !== 'GET') {
        return [405, status(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`)];
      }
      return [200, scale !== undefined ? this.#scaleObject() : this.#deploymentObject()];
    }
    const pods = url.pathname.match(/^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?$/);
    if (pods !== null) {
      const [, n, name] = pods;
      if (name === undefined && method === 'GET') {
        const match = parseSelector(url.searchParams.get('labelSelector') ?? '');
        if (match === null) return [400, status(400, 'BadRequest', 'unable to parse requirement: the stand-in knows only k=v selectors')];
        const items = n !== ns ? [] : this.pods().filter((p) => Object.entries(match).every(([k, v]) => this.labels[k] === v));
        return [200, { apiVersion: 'v1', kind: 'PodList', metadata: { resourceVersion: String(this.#version) }, items: items.map((p) => this.#podObject(p)) }];
      }
      const pod = n === ns && name !== undefined ? this.#pods.get(name) : undefined;
      if (pod === undefined) return [404, notFound('pods', '', name ?? '')];
      if (method === 'PATCH') {
        if (!contentType.startsWith('application/merge-patch+json') && !contentType.startsWith('application/strategic-merge-patch+json')) {
          return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json`)];
        }
        const ann = (body as { metadata?: { annotations?: Record<string, string | null> } } | null)?.metadata?.annotations ?? {};
        for (const [k, v] of Object.entries(ann)) {
          if (v === null) delete pod.annotations[k];
          else pod.annotations[k] = v;
        }
        this.#version++;
      } else if (method !== 'GET') {
        return [405, status(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource')];
      }
      return [200, this.#podObject(pod)];
    }
    return [404, status(404, 'NotFound', 'the server could not find the requested resource')];
  }

  /** a merge or strategic-merge patch of spec.replicas (with an optional resourceVersion precondition), or a JSON patch replacing /spec/replicas */
  #patchReplicas(contentType: string, body: unknown): [number, unknown] | null {
    let replicas: unknown;
    if (contentType.startsWith('application/json-patch+json')) {
      const op = Array.isArray(body) ? body.find((o: { op?: string; path?: string }) => o.path === '/spec/replicas' && (o.op === 'replace' || o.op === 'add')) : undefined;
      replicas = (op as { value?: unknown } | undefined)?.value;
    } else if (contentType.startsWith('application/merge-patch+json') || contentType.startsWith('application/strategic-merge-patch+json')) {
      const b = body as { metadata?: { resourceVersion?: string }; spec?: { replicas?: unknown } } | null;
      const rv = b?.metadata?.resourceVersion;
      if (rv !== undefined && rv !== String(this.#version)) return [409, this.#conflict()];
      replicas = b?.spec?.replicas;
    } else {
      return [415, status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`)];
    }
    if (replicas === undefined) return null;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      return [422, status(422, 'Invalid', `Scale.autoscaling "${this.deployment}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`)];
    }
    this.#version++;
    this.#scaleTo(replicas);
    return null;
  }

  #conflict(): unknown {
    return {
      ...status(409, 'Conflict', `Operation cannot be fulfilled on deployments.apps "${this.deployment}": the object has been modified; please apply your changes to the latest version and try again`),
      details: { name: this.deployment, group: 'apps', kind: 'deployments' },
    };
  }

  #meta(name: string): Record<string, unknown> {
    return { name, namespace: this.namespace, uid: `standin-${name}`, resourceVersion: String(this.#version), creationTimestamp: new Date(0).toISOString() };
  }

  #deploymentObject(): unknown {
    const ready = this.pods().filter((p) => this.#ready(p)).length;
    return {
      apiVersion: 'apps/v1', kind: 'Deployment', metadata: { ...this.#meta(this.deployment), generation: this.#version, labels: this.labels },
      spec: {
        replicas: this.replicas, selector: { matchLabels: this.labels },
        template: { metadata: { labels: this.labels }, spec: { containers: [{ name: 'engine', image: 'switchyard:standin', ports: [{ name: 'http', containerPort: this.#o.containerPort ?? 8000 }] }] } },
      },
      status: { observedGeneration: this.#version, replicas: this.pods().length, readyReplicas: ready, availableReplicas: ready },
    };
  }

  #scaleObject(): unknown {
    return {
      apiVersion: 'autoscaling/v1', kind: 'Scale', metadata: this.#meta(this.deployment),
      spec: { replicas: this.replicas },
      status: { replicas: this.pods().length, selector: Object.entries(this.labels).map(([k, v]) => `${k}=${v}`).join(',') },
    };
  }

  #podObject(p: StandInPod): unknown {
    const ready = this.#ready(p);
    const at = new Date(p.createdMs).toISOString();
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: {
        ...this.#meta(p.name), creationTimestamp: at, labels: this.labels, annotations: { ...p.annotations },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `${this.deployment}-6d8f7b9c4`, uid: 'standin-rs', controller: true }],
      },
      spec: { nodeName: ready ? 'standin-node' : undefined, containers: [{ name: 'engine', image: 'switchyard:standin', ports: [{ name: 'http', containerPort: p.port }] }] },
      status: ready
        ? { phase: 'Running', podIP: p.ip, startTime: at, conditions: [{ type: 'PodScheduled', status: 'True' }, { type: 'Ready', status: 'True' }] }
        : { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] },
    };
  }
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function notFound(kind: string, group: string, name: string): Record<string, unknown> {
  return { ...status(404, 'NotFound', `${kind}${group === '' ? '' : `.${group}`} "${name}" not found`), details: { name, group: group === '' ? undefined : group, kind } };
}

function parseSelector(s: string): Record<string, string> | null {
  const out: Record<string, string> = {};
  for (const part of s.split(',').filter((x) => x !== '')) {
    const m = part.match(/^([^=!]+)==?([^=]*)$/);
    if (m === null) return null;
    out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}
