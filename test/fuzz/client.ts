import { Pool } from 'undici';
import { fill, type Case, type Slots, type Step } from './cases.js';
import { verdict, type Answer } from './verdict.js';

// A client that sends fuzz cases to a gateway (in-process or `switchyard up`) over keep-alive
// connections, one request at a time, and judges each answer.

/** a case not answered in this long hangs */
export const TIMEOUT_MS = 5_000;

/** Sends cases to a running gateway; `escaped` is filled by whoever can see the process. */
export interface FuzzClient {
  readonly url: string;
  readonly slots: Slots;
  /** every error that escaped to the process (uncaught exceptions, unhandled rejections) */
  readonly escaped: string[];
  /** the slowest answer so far: how long, and to what */
  readonly slowest: { ms: number; what: string };
  /** Sends a case's steps in order; null when each got the answer it must, else what went wrong. */
  run(c: Case): Promise<string | null>;
  send(s: Step, extra?: Record<string, string>): Promise<Answer>;
  healthz(): Promise<number>;
  close(): Promise<void>;
}

export interface ConnectOptions {
  key: string;
  adminToken: string;
  /** what a fleet replica added by a case points at */
  replicaUrl: string;
  /** a replica the admin cases may drain and undrain */
  replicaId: string;
}

/** A client for the gateway at `url`, with a tenant of its own for the admin cases. */
export async function connect(url: string, o: ConnectOptions): Promise<FuzzClient & { noteEscape(err: unknown): void }> {
  const pool = new Pool(url, { connections: 8 });
  const escaped: string[] = [];
  const slowest = { ms: 0, what: '' };
  // requests in flight, to stop waiting for when an error escapes (it will never be answered)
  const waiting = new Set<AbortController>();
  let uniq = 0;
  // The admin cases change a tenant of their own, so inference (the demo tenant's key) keeps its
  // limits, regions and priority whatever they do.
  const admin = async (method: string, path: string, body: object): Promise<any> => {
    const r = await pool.request({ method, path, headers: { authorization: `Bearer ${o.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return r.body.json();
  };
  const tenant = await admin('POST', '/admin/v1/tenants', { name: 'fuzz-admin' });
  const wsp = await admin('POST', `/admin/v1/tenants/${tenant.id}/workspaces`, { name: 'fuzzed' });
  const key = await admin('POST', `/admin/v1/tenants/${tenant.id}/keys`, { name: 'fuzzed', workspace_id: wsp.id });
  const slots: Slots = {
    tenant: tenant.id, workspace: wsp.id, key: key.id,
    replica: encodeURIComponent(o.replicaId), replicaId: o.replicaId, replicaUrl: o.replicaUrl, uniq: '0',
  };

  async function send(s: Step, extra: Record<string, string> = {}): Promise<Answer> {
    const sl = { ...slots, ...extra };
    const headers: Record<string, string> = {};
    if (s.auth === 'admin') headers.authorization = `Bearer ${o.adminToken}`;
    else if (s.auth === 'key') {
      // an admin route read with a tenant key reads the admin cases' own tenant
      const secret = s.path.startsWith('/admin/') ? key.secret : o.key;
      Object.assign(headers, s.envelope === 'anthropic' ? { 'x-api-key': secret } : { authorization: `Bearer ${secret}` });
    }
    Object.assign(headers, s.headers);
    const body = s.body === undefined || s.method === 'GET' ? undefined : typeof s.body === 'string' ? fill(s.body, sl) : s.body;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    waiting.add(ac);
    const t0 = performance.now();
    try {
      const r = await pool.request({ method: s.method, path: fill(s.path, sl), headers, body, signal: ac.signal });
      const text = await r.body.text();
      const ms = performance.now() - t0;
      if (ms > slowest.ms) Object.assign(slowest, { ms, what: `${s.method} ${s.path.slice(0, 80)} → ${r.statusCode}` });
      return { status: r.statusCode, headers: r.headers, body: text, ms };
    } catch (err) {
      return { status: 0, headers: {}, body: `no answer: ${(err as Error).message}`, ms: performance.now() - t0 };
    } finally {
      clearTimeout(timer);
      waiting.delete(ac);
    }
  }

  return {
    url, slots, escaped, slowest, send,
    noteEscape(err) {
      escaped.push(err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 3).join(' | ') : String(err));
      for (const ac of waiting) ac.abort(new Error('an error escaped the gateway'));
    },
    async run(c) {
      const before = escaped.length;
      const extra: Record<string, string> = { uniq: String(++uniq) };
      for (let i = 0; i < c.steps.length; i++) {
        const s = c.steps[i];
        const a = await send(s, extra);
        if (escaped.length > before) return `step ${i + 1}: ${s.method} ${s.path} → crash: ${escaped.slice(before).join(' // ')}`;
        const problem = a.status === 0 ? a.body : verdict(s, a);
        if (problem !== null) return `step ${i + 1}: ${s.method} ${s.path} → ${problem}`;
        // later steps may name what the first one created
        if (i === 0 && a.status >= 200 && a.status < 300 && a.body.startsWith('{')) {
          const id = (JSON.parse(a.body) as { id?: unknown }).id;
          if (typeof id === 'string') extra.added = encodeURIComponent(id);
        }
      }
      return null;
    },
    async healthz() {
      const r = await pool.request({ method: 'GET', path: '/healthz' });
      await r.body.dump();
      return r.statusCode;
    },
    async close() {
      await pool.close();
    },
  };
}
