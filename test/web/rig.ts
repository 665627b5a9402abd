import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import type { UsageRecord } from '../../src/ledger/types.js';
import { createLogger } from '../../src/observe/index.js';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { ensureDemoTenant, openStore } from '../../src/tenancy/index.js';
import { wall, type Clock, type TimePorts } from '../../src/time/index.js';
import { seedTenants, seedUsage } from '../helpers/seed-ledger.js';

// A gateway the way the dashboard meets one in production: two regions, two models on simulated
// vLLM replicas, a ledger of 30 days of seeded usage across many tenants, SLOs, and live traffic.

export const ADMIN = 'web-admin-token-0123456789';
/** a tenant's name that would run a script if any view rendered API strings as HTML */
export const HOSTILE_NAME = `<img src=x onerror="window.__xss=1">Bobby's "Tables" & Co<script>window.__xss=2</script>`;
export const DEMO_KEY = 'sk-sy-web-demo-key-0123456789abcdefghijklmnop';
const MODELS = ['llama-3.1-8b', 'llama-3.3-70b'];
const PROFILE: Record<string, string> = { 'llama-3.1-8b': 'llama-3.1-8b-h100', 'llama-3.3-70b': 'llama-3.3-70b-fp8-h100-tp2' };
const LAYOUT: Array<{ id: string; model: string; region: string }> = [
  { id: 'use-8b-0', model: 'llama-3.1-8b', region: 'us-east' },
  { id: 'use-8b-1', model: 'llama-3.1-8b', region: 'us-east' },
  { id: 'use-70b-0', model: 'llama-3.3-70b', region: 'us-east' },
  { id: 'euw-8b-0', model: 'llama-3.1-8b', region: 'eu-west' },
  { id: 'euw-70b-0', model: 'llama-3.3-70b', region: 'eu-west' },
];

export interface Rig {
  platform: Platform;
  url: string;
  /** a seeded tenant's own API key, and its id (the heaviest tenant of the seed) */
  tenantKey: string;
  tenantId: string;
  /** the key of the tenant named HOSTILE_NAME, and its id */
  hostileKey: string;
  hostileId: string;
  /** another seeded tenant's id, which the tenant key must never see */
  foreignTenantId: string;
  /** ms spent seeding the ledger */
  seedMs: number;
  /** GET an admin route with the admin token (or `token`), the JSON body */
  admin(path: string, token?: string): Promise<{ status: number; body: any }>;
  /**
   * Replays the traffic window's last 15 minutes and starts live clients. Until then the platform's
   * clock runs 15 minutes behind, and no client shares the gateway's event loop (for a timing).
   */
  startTraffic(): void;
  /** live traffic: resolves once stopped */
  stopTraffic(): Promise<void>;
  close(): Promise<void>;
}

/** A clock `offsetMs` behind the wall's; the offset only ever shrinks, so time never runs backwards. */
class ShiftedClock implements Clock {
  offsetMs = 0;
  nowMs(): number { return wall.clock.nowMs() + this.offsetMs; }
  monoMs(): number { return wall.clock.monoMs() + this.offsetMs; }
}

const HISTORY_MS = 15 * 60_000;

export async function startRig(o: { rows: number; tenants?: number }): Promise<Rig> {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'sy-web-'));
  const storeUrl = `sqlite:${join(dir, 'db.sqlite')}`;
  const store = await openStore(storeUrl);
  await ensureDemoTenant(store, DEMO_KEY);
  const tenants = await seedTenants(store, { count: o.tenants ?? 60, tiers: ['default', 'free'], namePrefix: 'Acme' });
  const key = await store.createKey({ tenantId: tenants[0].tenantId, name: 'dashboard test' });
  if (!key.ok) throw new Error(key.error.message);
  // tenant names are the user's own text: one is markup, which the page must show as text
  const hostile = await store.createTenant({ name: HOSTILE_NAME, tier: 'default' });
  if (!hostile.ok) throw new Error(hostile.error.message);
  const hostileKey = await store.createKey({ tenantId: hostile.value.tenant.id, name: 'dashboard test' });
  if (!hostileKey.ok) throw new Error(hostileKey.error.message);
  tenants.push({ tenantId: hostile.value.tenant.id, workspaceId: hostile.value.workspace.id, keyId: hostileKey.value.key.id, tier: 'default' });
  const until = wall.clock.nowMs() - HISTORY_MS;
  const t0 = wall.clock.monoMs();
  // A bulk load's classic fast path: the usage table's secondary indexes are dropped while the rows
  // go in through the store's own insertUsage (roll-up kept as in production), then rebuilt from
  // their own SQL, so the file ends up as the gateway would have written it, in half the time.
  const raw = new Database(join(dir, 'db.sqlite'));
  const indexes = raw.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'usage_records' AND sql IS NOT NULL").all() as Array<{ name: string; sql: string }>;
  for (const i of indexes) raw.exec(`DROP INDEX "${i.name}"`);
  await seedUsage(store, {
    rows: o.rows, tenants, models: MODELS, since: until - 30 * 86_400_000, until, seed: 7, batch: 50_000,
    // a bad afternoon two days ago, and a smaller one last night: SLOs have spent some budget
    incidents: [
      { since: until - 2 * 86_400_000, until: until - 2 * 86_400_000 + 2 * 3_600_000, errorRatio: 0.08 },
      { since: until - 10 * 3_600_000, until: until - 9 * 3_600_000, errorRatio: 0.05 },
    ],
  });
  await store.close();
  for (const i of indexes) raw.exec(i.sql);
  raw.close();
  const seedMs = wall.clock.monoMs() - t0;

  const engines: EngineServer[] = [];
  for (const r of LAYOUT) engines.push(await startEngineServer({ model: `${r.model}-served`, profile: PROFILE[r.model] }));
  const config = loadConfig(undefined, { port: 0 });
  config.fleet.scrapeIntervalMs = 1_000;
  config.slos = [
    { name: 'chat-availability', kind: 'availability', model: 'llama-3.1-8b', tier: '*', objective: 0.99, windowDays: 30 },
    { name: 'chat-ttft', kind: 'latency', signal: 'ttft', thresholdMs: 2_000, model: '*', tier: '*', objective: 0.98, windowDays: 28 },
    { name: 'large-availability', kind: 'availability', model: 'llama-3.3-70b', tier: '*', objective: 0.99, windowDays: 7 },
    { name: 'free-latency', kind: 'latency', signal: 'latency', thresholdMs: 30_000, model: '*', tier: 'free', objective: 0.95, windowDays: 7 },
  ] as typeof config.slos;
  const clock = new ShiftedClock();
  clock.offsetMs = -HISTORY_MS;
  const time: TimePorts = { clock, timers: wall.timers, rng: wall.rng };
  const platform = await startPlatform({
    config, storeUrl, adminToken: ADMIN, log: createLogger('silent'), time,
    replicas: LAYOUT.map((r, i) => ({ id: r.id, model: r.model, servedModel: `${r.model}-served`, region: r.region, url: engines[i].url })),
  });

  const url = platform.url;
  const admin = async (path: string, token = ADMIN) => {
    const res = await fetch(`${url}/admin/v1${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };
  let traffic: { stop(): Promise<void> } | null = null;
  return {
    platform, url, tenantKey: key.value.secret, tenantId: tenants[0].tenantId,
    hostileKey: hostileKey.value.secret, hostileId: hostile.value.tenant.id, foreignTenantId: tenants[1].tenantId, seedMs, admin,
    startTraffic() {
      if (traffic !== null) return;
      // the window's history up to now, then clients at once: no gap between the two
      replayHistory(platform, clock, tenants.map((t) => t.tenantId));
      traffic = liveTraffic(url, [DEMO_KEY, key.value.secret]);
    },
    async stopTraffic() { await traffic?.stop(); },
    async close() {
      await traffic?.stop();
      await platform.close();
      await Promise.all(engines.map((e) => e.close()));
    },
  };
}

/**
 * The traffic window's earlier 15 minutes, as the ledger's 30 days are seeded: requests settled into
 * the platform's own TrafficWindow while its clock runs up to the wall's. A deterministic draw.
 */
function replayHistory(p: Platform, clock: ShiftedClock, tenantIds: string[]): void {
  let s = 42;
  const rand = (): number => ((s = (s * 1_103_515_245 + 12_345) % 2_147_483_648) / 2_147_483_648);
  const base: UsageRecord = {
    requestId: '', startedAt: 0, tenantId: '', workspaceId: '', keyId: '', tier: 'default', model: '', replica: null, region: null,
    wire: 'openai', stream: true, status: 200, outcome: 'ok' as UsageRecord['outcome'], inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, ttftMs: null, latencyMs: 0, costUsd: 0,
  };
  // the bucket filling now gets its elapsed share too, so the live clients carry on without a dip
  const elapsed = (wall.clock.nowMs() % 10_000) / 10_000;
  for (let t = -HISTORY_MS + 10_000; t <= 0; t += 10_000) {
    clock.offsetMs = t;
    const phase = (t + HISTORY_MS) / HISTORY_MS;
    const rps = 18 + 8 * Math.sin(phase * Math.PI * 2.2) + 4 * rand();
    // a short brown-out about 6 minutes ago: slower, and some 5xx
    const incident = t > -7 * 60_000 && t < -5.5 * 60_000;
    const n = Math.round(rps * 10 * (t === 0 ? elapsed : 1));
    for (let i = 0; i < n; i++) {
      const model = rand() < 0.7 ? MODELS[0] : MODELS[1];
      const slow = model === MODELS[1] ? 2.2 : 1;
      // shaped like the live loop's requests below, so the seeded and the live minutes look alike
      const out = 16 + Math.floor(rand() * 96);
      const ttft = (25 + rand() * 50 + (rand() < 0.05 ? 300 : 0)) * slow * (incident ? 4 : 1);
      const r = rand();
      const status = incident && r < 0.06 ? 503 : r < 0.004 ? 500 : r > 0.97 ? 429 : 200;
      p.traffic.settled({
        ...base, model, tenantId: tenantIds[Math.floor(rand() * rand() * tenantIds.length)], stream: rand() < 0.7, status,
        outcome: (status === 200 ? 'ok' : status === 429 ? 'rate_limited' : 'upstream_error') as UsageRecord['outcome'],
        outputTokens: status === 200 ? out : 0, ttftMs: status === 200 ? ttft : null, latencyMs: ttft + out * (5 + 3 * rand()) * slow * (incident ? 1.6 : 1),
      });
    }
  }
  clock.offsetMs = 0;
}

/** A shipment manifest of about 200–1,500 tokens, different for every request (no prefix-cache hit). */
function manifest(i: number): string {
  const lines = 20 + ((i * 7_919) % 130);
  let s = '';
  for (let k = 0; k < lines; k++) s += `crate ${i}-${k} pallets ${(k * 31 + i) % 97} dock ${k % 13}\n`;
  return s;
}

/** A few clients in a loop: mostly short chats, 70 % streamed, now and then a request the gateway refuses (4xx). */
function liveTraffic(url: string, keys: string[]): { stop(): Promise<void> } {
  let stopped = false;
  let n = 0;
  const one = async (worker: number): Promise<void> => {
    while (!stopped) {
      const i = n++;
      const bad = i % 23 === 22;
      const large = i % 4 === 3;
      const body = {
        model: large ? MODELS[1] : MODELS[0], stream: i % 10 < 7, max_tokens: bad ? -1 : 16 + ((i * 37) % 96),
        // a manifest to summarise: prompts of real size hold KV cache, as real chats do
        messages: [{ role: 'user', content: `Summarise shipment ${i} for the ${worker % 2 ? 'morning' : 'evening'} report.\n${manifest(i)}` }],
      };
      try {
        const res = await fetch(`${url}/v1/chat/completions`, {
          method: 'POST', headers: { authorization: `Bearer ${keys[i % keys.length]}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
        });
        await res.arrayBuffer();
      } catch {
        // the gateway closing under the loop ends it
        if (stopped) return;
      }
    }
  };
  const workers = Array.from({ length: 16 }, (_, w) => one(w));
  return { async stop() { stopped = true; await Promise.all(workers); } };
}
