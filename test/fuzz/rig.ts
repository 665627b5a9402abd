import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { fill, type Case, type Slots, type Step } from './cases.js';
import { verdict, type Answer } from './verdict.js';

// The gateway in-process on a real socket, in front of one real simengine replica, with limits high
// enough that thousands of requests a minute are never throttled. The specs hand it src/, the bench
// hands it dist/ (so this file imports only types and packages from there).

/* eslint-disable @typescript-eslint/no-explicit-any -- the two callers pass src/ or dist/ modules */
export interface RigLib {
  loadConfig: (file: undefined, o: { port: number }) => any;
  startPlatform: (o: any) => Promise<any>;
  startEngineServer: (o: any) => Promise<any>;
  createLogger: (level: string) => any;
  openStore: (url: string) => Promise<any>;
  ensureDemoTenant: (store: any, secret: string) => Promise<any>;
}

export const KEY = 'sk-sy-fuzz-key-0123456789abcdefghijklmnopqrstuv';
export const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
/** a case not answered in this long hangs */
export const TIMEOUT_MS = 5_000;

export interface Rig {
  readonly url: string;
  readonly slots: Slots;
  /** every error that escaped to the process (uncaught exceptions, unhandled rejections) */
  readonly escaped: string[];
  /** Sends a case's steps in order; null when each got the answer it must, else what went wrong. */
  run(c: Case): Promise<string | null>;
  send(s: Step): Promise<Answer>;
  healthz(): Promise<number>;
  close(): Promise<void>;
}

export async function startRig(lib: RigLib, opts: { timeScale?: number } = {}): Promise<Rig> {
  const engine = await lib.startEngineServer({ model: 'sim', profile: 'llama-3.1-8b-h100', timeScale: opts.timeScale ?? 500 });
  const storeUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sy-fuzz-')), 'db.sqlite')}`;
  const store = await lib.openStore(storeUrl);
  await lib.ensureDemoTenant(store, KEY);
  await store.close();
  const config = lib.loadConfig(undefined, { port: 0 });
  for (const t of Object.values(config.tiers) as any[]) Object.assign(t, { requestsPerMinute: 1e9, inputTokensPerMinute: 1e12, outputTokensPerMinute: 1e12, concurrentRequests: null, monthlySpendUsd: null });
  const replicas = [
    { id: 'us-east/llama-3.1-8b/0', model: 'llama-3.1-8b', servedModel: 'sim', region: 'us-east', url: engine.url },
    // the admin specs drain, undrain and add replicas of this model; inference uses the other
    { id: 'us-east/llama-3.3-70b/0', model: 'llama-3.3-70b', servedModel: 'sim', region: 'us-east', url: engine.url },
    { id: 'eu-west/llama-3.3-70b/1', model: 'llama-3.3-70b', servedModel: 'sim', region: 'eu-west', url: engine.url },
  ];
  const platform = await lib.startPlatform({ config, replicas, storeUrl, adminToken: ADMIN_TOKEN, log: lib.createLogger(process.env.FUZZ_LOG ?? 'silent') });
  const pool = new Pool(platform.url, { connections: 8 });
  const escaped: string[] = [];
  let onEscape: (() => void) | null = null;
  const record = (err: unknown) => {
    escaped.push(err instanceof Error ? (err.stack ?? err.message).split('\n').slice(0, 3).join(' | ') : String(err));
    onEscape?.();
  };
  process.on('uncaughtException', record);
  process.on('unhandledRejection', record);
  let uniq = 0;
  // The admin cases change a tenant of their own, so inference (the demo tenant's key) keeps its
  // limits, regions and priority whatever they do.
  const admin = async (method: string, path: string, body: object): Promise<any> => {
    const r = await pool.request({ method, path, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return r.body.json();
  };
  const tenant = await admin('POST', '/admin/v1/tenants', { name: 'fuzz-admin' });
  const wsp = await admin('POST', `/admin/v1/tenants/${tenant.id}/workspaces`, { name: 'fuzzed' });
  const key = await admin('POST', `/admin/v1/tenants/${tenant.id}/keys`, { name: 'fuzzed', workspace_id: wsp.id });
  const slots: Slots = {
    tenant: tenant.id, workspace: wsp.id, key: key.id,
    replica: encodeURIComponent('us-east/llama-3.3-70b/0'), replicaId: 'us-east/llama-3.3-70b/0', replicaUrl: engine.url, uniq: '0',
  };

  async function send(s: Step, extra: Record<string, string> = {}): Promise<Answer> {
    const sl = { ...slots, ...extra };
    const headers: Record<string, string> = {};
    if (s.auth === 'admin') headers.authorization = `Bearer ${ADMIN_TOKEN}`;
    else if (s.auth === 'key') {
      // an admin route read with a tenant key reads the admin cases' own tenant
      const secret = s.path.startsWith('/admin/') ? key.secret : KEY;
      Object.assign(headers, s.envelope === 'anthropic' ? { 'x-api-key': secret } : { authorization: `Bearer ${secret}` });
    }
    Object.assign(headers, s.headers);
    const body = s.body === undefined || s.method === 'GET' ? undefined : typeof s.body === 'string' ? fill(s.body, sl) : s.body;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error(`no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS);
    // an error escaping the gateway means this request will never be answered: stop waiting
    onEscape = () => ac.abort(new Error('an error escaped the gateway'));
    const t0 = performance.now();
    try {
      const r = await pool.request({ method: s.method, path: fill(s.path, sl), headers, body, signal: ac.signal });
      const text = await r.body.text();
      return { status: r.statusCode, headers: r.headers, body: text, ms: performance.now() - t0 };
    } catch (err) {
      return { status: 0, headers: {}, body: `no answer: ${(err as Error).message}`, ms: performance.now() - t0 };
    } finally {
      clearTimeout(timer);
      onEscape = null;
    }
  }

  return {
    url: platform.url, slots, escaped, send,
    async run(c) {
      const before = escaped.length;
      const extra: Record<string, string> = { uniq: String(++uniq) };
      for (let i = 0; i < c.steps.length; i++) {
        const s = c.steps[i];
        const a = await send(s, extra);
        if (escaped.length > before) return `step ${i + 1}: ${s.method} ${s.path} → crash: ${escaped.slice(before).join(' // ')}`;
        const problem = a.status === 0 ? a.body : verdict(s, a);
        if (problem !== null) return `step ${i + 1}: ${s.method} ${s.path} → ${problem}`;
        // a later step may name what this one created
        if (a.status >= 200 && a.status < 300 && a.body.startsWith('{')) {
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
      process.off('uncaughtException', record);
      process.off('unhandledRejection', record);
      await pool.close();
      await platform.close();
      await engine.close();
    },
  };
}
