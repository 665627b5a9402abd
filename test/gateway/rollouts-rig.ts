import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, type Config } from '../../src/config/index.js';
import type { RolloutSpecInput, StoredRollout } from '../../src/control/rollouts/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger, type Logger } from '../../src/observe/index.js';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { ensureDemoTenant, openStore } from '../../src/tenancy/index.js';
import { wall, type TimePorts } from '../../src/time/index.js';

// Gateways in front of real simulated replicas (simengines on port 0) of two versions of one model,
// on a SQLite file or a fresh PostgreSQL schema, with the rollout loop's times made short.

export const KEY = 'sk-sy-rollouts-spec-key-0123456789abcdefghijkl';
export const MODEL = 'llama-3.1-8b';
export const PG_URL = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TIMES = { tickMs: 50, pollMs: 100, leaseTtlMs: 1_000 };

export interface Engine {
  readonly id: string;
  readonly version: string;
  readonly region: string;
  readonly server: EngineServer;
}

/** Simulated replicas of `MODEL`, served as `m`, each of the version it names. */
export async function startEngines(spec: Array<{ id: string; version: string; region?: string }>): Promise<Engine[]> {
  return Promise.all(spec.map(async (s) => ({
    id: s.id, version: s.version, region: s.region ?? 'us-east',
    server: await startEngineServer({ model: 'm', profile: 'llama-3.1-8b-h100', timeScale: 50 }),
  })));
}

/** A fresh SQLite file holding the demo tenant with KEY. */
export async function sqliteStore(): Promise<string> {
  const url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sy-rollouts-')), 'db.sqlite')}`;
  const s = await openStore(url);
  await ensureDemoTenant(s, KEY);
  await s.close();
  return url;
}

/** A fresh PostgreSQL schema holding the demo tenant with KEY; drop() removes it. */
export async function postgresStore(): Promise<{ url: string; drop(): Promise<void> }> {
  const schema = `sy_gw_rollouts_${process.pid}_${randomBytes(4).toString('hex')}`;
  const url = `${PG_URL}?schema=${schema}`;
  const s = await openStore(url);
  await ensureDemoTenant(s, KEY);
  await s.close();
  return {
    url,
    async drop() {
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface GatewayOptions {
  storeUrl: string;
  engines: readonly Engine[];
  gatewayId?: string;
  /** versions with a warm-up, by id */
  warmup?: Record<string, { requests: number }>;
  log?: Logger;
  time?: TimePorts;
  configure?: (c: Config) => void;
}

/** A gateway on port 0 in front of the engines: MODEL has versions v1 (stable) and v2. */
export async function startGateway(o: GatewayOptions): Promise<Platform> {
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 0;
  config.fleet.healthIntervalMs = 100;
  config.rollouts = { ...TIMES, gatewayId: o.gatewayId };
  const m = config.models.find((x) => x.id === MODEL)!;
  m.versions = ['v1', 'v2'].map((id) => (o.warmup?.[id] ? { id, warmup: { requests: o.warmup[id].requests, prompt: 'warm up', maxTokens: 2 } } : { id }));
  m.stable = 'v1';
  o.configure?.(config);
  return startPlatform({
    config, storeUrl: o.storeUrl, adminToken: null, log: o.log ?? createLogger('silent'), time: o.time ?? wall,
    replicas: o.engines.map((e) => ({ id: e.id, model: MODEL, servedModel: 'm', region: e.region, url: e.server.url, version: e.version })),
  });
}

/** A rollout spec of MODEL: v1 → v2. */
export function spec(over: Partial<RolloutSpecInput> = {}): RolloutSpecInput {
  return { model: MODEL, candidate: 'v2', ...over };
}

/** Sends `n` small requests, `concurrency` at a time; resolves to the statuses. */
export async function traffic(url: string, n: number, concurrency = 8): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: MODEL, messages: [{ role: 'user', content: `hello ${next}` }], max_tokens: 3 }),
      });
      await res.arrayBuffer();
      statuses.push(res.status);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

/** Requests each engine finished (its own vllm:request_success_total). */
export async function served(e: Engine): Promise<number> {
  const text = await (await fetch(`${e.server.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vllm:request_success_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

export async function servedBy(engines: readonly Engine[], version: string): Promise<number> {
  let sum = 0;
  for (const e of engines) if (e.version === version) sum += await served(e);
  return sum;
}

/** Polls until `fn` answers truthy, or throws what it last saw after `timeoutMs`. */
export async function eventually<T>(fn: () => T | null | undefined | false | Promise<T | null | undefined | false>, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what} not met in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function rolloutOf(p: Platform, id: string): Promise<StoredRollout> {
  const r = await p.rollouts.get(id);
  if (r === null) throw new Error(`rollout ${id} is not in the store`);
  return r;
}

/** The weights each replica of MODEL has in this gateway's fleet, by id. */
export function weightsOf(p: Platform): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of p.fleet.replicasOf(MODEL)) out[r.id] = r.versionWeight;
  return out;
}

export async function stopAll(platforms: ReadonlyArray<Platform | null>, engines: readonly Engine[]): Promise<void> {
  await Promise.all(platforms.map((p) => p?.close()));
  await Promise.all(engines.map((e) => e.server.close()));
}
