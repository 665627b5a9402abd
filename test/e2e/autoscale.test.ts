import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, admin, eventually, runCli, startSwitchyard, type Running } from './harness.js';

// The live autoscaler: the real `switchyard up --autoscale` on a demo pool of one replica, real
// `switchyard engine` processes started and drained by it, the OpenAI SDK as traffic. A burst of
// long streamed answers must grow the pool (the admin API, /metrics and the audit trail say so, with
// reasons); when the burst is over and only a trickle flows, the pool must shrink back to one while
// every request of the trickle succeeds, and the removed replica's process must be gone.

const MODEL = 'llama-3.1-8b';
const REGION = 'us-east';
const POOL = `${REGION}/${MODEL}`;
/** a request that has not finished by then is a hang */
const HANG_MS = 15_000;
const UP_REASONS = ['forecast', 'load', 'panic', 'slo', 'max'];
const DOWN_REASONS = ['consolidate', 'idle'];

// One replica to begin with, up to three; replicas start in 1 s; ticks every 500 ms and windows of
// seconds, so the whole story fits in under a minute. The profile is a slow one (a 70B model on two
// H100s: a decode step of ~37 ms alone, +0.46 ms a sequence) and the ITL objective 60 ms: by the
// engine model one replica carries ~50 streams within it, so 64 long streams at once are more than
// it can, and a trickle of short ones is well within it.
const CONFIG = [
  `region: ${REGION}`,
  `regions: [{ name: ${REGION} }]`,
  'fleet: { healthIntervalMs: 300, healthTimeoutMs: 250, scrapeIntervalMs: 250 }',
  'models:',
  `  - { id: ${MODEL}, profile: llama-2-70b-h100-tp2 }`,
  'demo:',
  `  - { model: ${MODEL}, region: ${REGION}, replicas: 1 }`,
  'autoscaler:',
  '  tickMs: 500',
  '  latencyWindowMs: 4000',
  '  warmupMs: 1000',
  '  staleAfterMs: 3000',
  '  knobs:',
  '    staleAfterMs: 3000',
  '    stableWindowMs: 4000',
  '    panicWindowMs: 1500',
  '    panicHoldMs: 2000',
  '    scaleDownStabiliseMs: 3000',
  '    idleMs: 3000',
  '    minLatencySamples: 5',
  '  pools:',
  `    - { model: ${MODEL}, region: ${REGION}, min: 1, max: 3, startup: 1, slo: { ttftMs: 2000, itlMs: 60 } }`,
].join('\n');

const running = new Set<Running>();
afterAll(async () => {
  await Promise.all([...running].map((sy) => sy.stop().catch(() => undefined)));
});

interface Outcome {
  ok: boolean;
  error?: string;
}

/**
 * One chat completion, streamed or not, classified. No client retries: what the client sees is
 * what the gateway answered. `ignore_eos` (vLLM's extension, passed through) makes the simulated
 * engine answer all of `max_tokens`.
 */
async function call(client: OpenAI, stream: boolean, maxTokens: number, tag: string): Promise<Outcome> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), HANG_MS);
  const body = { model: MODEL, max_tokens: maxTokens, messages: [{ role: 'user' as const, content: `${tag}: tell me about the rail yard` }], ignore_eos: true };
  try {
    if (stream) {
      const s = await client.chat.completions.create({ ...body, stream: true }, { signal: ac.signal });
      let finish: string | null = null;
      for await (const chunk of s) finish = chunk.choices[0]?.finish_reason ?? finish;
      return finish !== null ? { ok: true } : { ok: false, error: 'stream ended without a finish_reason' };
    }
    const c = await client.chat.completions.create(body, { signal: ac.signal });
    return c.choices[0]?.finish_reason ? { ok: true } : { ok: false, error: `odd completion ${JSON.stringify(c)}` };
  } catch (e) {
    const err = e as { status?: number; message?: string };
    return { ok: false, error: `${ac.signal.aborted ? 'hang' : err.status ?? 'no status'}: ${err.message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** `loops` concurrent loops of calls until `until()` says stop; streamed when `stream`, else every other loop streams. */
async function traffic(sy: Running, o: { loops: number; until: () => boolean; maxTokens: number; stream?: boolean; pauseMs?: number; tag: string }): Promise<Outcome[]> {
  const client = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
  const out: Outcome[] = [];
  await Promise.all(Array.from({ length: o.loops }, async (_, j) => {
    for (let i = 0; !o.until(); i++) {
      out.push(await call(client, o.stream ?? j % 2 === 0, o.maxTokens, `${o.tag} ${j}.${i}`));
      if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
    }
  }));
  return out;
}

const failures = (list: Outcome[]): string[] => list.filter((r) => !r.ok).map((r) => r.error ?? '?');

async function poolView(sy: Running): Promise<any> {
  const r = await admin(sy.url, '/autoscaler');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  const pool = r.body.pools.find((p: any) => p.pool === POOL);
  expect(pool, JSON.stringify(r.body)).toBeDefined();
  return pool;
}

/** Decisions of the pool, oldest first. */
async function decisions(sy: Running): Promise<any[]> {
  const r = await admin(sy.url, `/autoscaler/decisions?pool=${encodeURIComponent(POOL)}&limit=200`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return [...r.body.data].reverse();
}

/** The autoscaler's audit records, oldest first. */
async function scaleAudit(sy: Running): Promise<any[]> {
  const r = await admin(sy.url, '/audit?action=autoscaler.scale&limit=1000');
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return [...r.body.data].reverse();
}

/** The model's replicas in the fleet view. */
async function fleetReplicas(sy: Running): Promise<any[]> {
  const { status, body } = await admin(sy.url, '/fleet');
  expect(status).toBe(200);
  return body.data.filter((r: any) => r.model === MODEL);
}

/** A gauge's value for the given labels in a Prometheus text exposition; null when absent. */
function gauge(text: string, name: string, labels: Record<string, string>): number | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const inside = line.slice(name.length + 1, line.indexOf('}'));
    const have = Object.fromEntries([...inside.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return null;
}

/** Whether anything still answers at the replica's address. */
async function answers(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

function tail(sy: Running): string {
  return sy.output().split('\n').slice(-30).join('\n');
}

describe('switchyard up --autoscale', () => {
  it('grows a demo pool under a burst and shrinks it back when quiet, failing no request across the scale-down', async () => {
    const t0 = Date.now();
    const sy = await startSwitchyard({ config: CONFIG, args: ['--autoscale'] });
    running.add(sy);
    // the banner says the autoscaler is on and where its decisions are
    expect(sy.output()).toMatch(/autoscaler:.*on/);
    expect(sy.output()).toContain('/admin/v1/autoscaler');

    // The admin API is the admin token's only.
    expect((await fetch(`${sy.url}/admin/v1/autoscaler`)).status).toBe(401);
    const before = await poolView(sy);
    expect(before).toMatchObject({ model: MODEL, region: REGION, min: 1, max: 3, startup_ms: 1_000 });
    expect(before.replicas.ready).toBe(1);
    const initial = (await fleetReplicas(sy)).map((r) => r.id);
    expect(initial).toHaveLength(1);

    // ── the burst: long streamed answers from many clients at once ───────────
    let burstOver = false;
    const burstDeadline = Date.now() + 25_000;
    const burst = traffic(sy, { loops: 64, until: () => burstOver || Date.now() > burstDeadline, maxTokens: 100, stream: true, tag: 'burst' });
    let grown: any;
    // every replica the fleet had from here on, by id: the removed ones' addresses are looked at afterwards
    const seen = new Map<string, any>();
    const look = async () => { for (const r of await fleetReplicas(sy)) seen.set(r.id, r); };
    try {
      grown = await eventually(async () => {
        const p = await poolView(sy);
        if (p.replicas.ready <= 1) return null;
        await look();
        return p;
      }, 25_000);
    } catch {
      throw new Error(`the pool did not grow under the burst; decisions:\n${JSON.stringify((await decisions(sy)).slice(-8), null, 2)}\ngateway log:\n${tail(sy)}`);
    } finally {
      burstOver = true;
    }
    const metrics = await (await fetch(`${sy.url}/metrics`)).text();
    // ── quiet: the burst's calls finish and a trickle of short requests flows, until the pool is one replica again ──
    let quietOver = false;
    const quietFrom = Date.now();
    const quietDeadline = quietFrom + 30_000;
    const trickle = traffic(sy, { loops: 2, until: () => quietOver || Date.now() > quietDeadline, maxTokens: 16, pauseMs: 150, tag: 'trickle' });
    const duringBurst = await burst;
    const grewMs = Date.now() - t0;
    expect(failures(duringBurst), `gateway log:\n${tail(sy)}`).toEqual([]);
    expect(grown.desired).toBeGreaterThan(1);
    expect(grown.replicas.ready).toBeLessThanOrEqual(3);

    // The decisions that grew it say why: a reason that scales up, and the figures behind it.
    const ups = (await decisions(sy)).filter((d) => d.to > d.from);
    expect(ups.length).toBeGreaterThan(0);
    for (const d of ups) {
      expect(UP_REASONS).toContain(d.reason);
      expect(d.detail).toMatch(/\d/);
    }
    // /metrics carries the same picture (read while it was grown).
    expect(gauge(metrics, 'switchyard_autoscaler_replicas', { pool: POOL, phase: 'ready' })).toBeGreaterThan(1);
    expect(gauge(metrics, 'switchyard_autoscaler_desired_replicas', { pool: POOL })).toBeGreaterThan(1);
    expect(gauge(metrics, 'switchyard_autoscaler_scale_events_total', { pool: POOL, direction: 'up' })).toBeGreaterThan(0);
    // The audit trail: the autoscaler (not a person) scaled the pool, and said why.
    const upRows = (await scaleAudit(sy)).filter((r) => r.after?.replicas > r.before?.replicas);
    expect(upRows.length).toBeGreaterThan(0);
    for (const r of upRows) {
      expect(r).toMatchObject({ actor: 'autoscaler', action: 'autoscaler.scale', target: POOL });
      expect(UP_REASONS).toContain(r.after.reason);
      expect(r.reason).toMatch(/\d/);
    }
    // The new replicas joined the fleet beside the demo one.
    expect(seen.size).toBeGreaterThan(1);
    expect([...seen.keys()].filter((id) => !initial.includes(id)).length).toBeGreaterThan(0);

    try {
      await eventually(async () => {
        await look();
        const p = await poolView(sy);
        return p.replicas.ready === 1 && p.replicas.starting === 0 && p.replicas.draining === 0 ? p : null;
      }, 30_000);
    } catch {
      throw new Error(`the pool did not shrink back to 1; decisions:\n${JSON.stringify((await decisions(sy)).slice(-8), null, 2)}\ngateway log:\n${tail(sy)}`);
    } finally {
      // a little more trickle after the last drain, so a request routed to a removed replica would show
      await new Promise((r) => setTimeout(r, 1_000));
      quietOver = true;
    }
    const duringQuiet = await trickle;
    const shrankMs = Date.now() - t0;

    // Every request across the scale-down succeeded, and there were enough of them to mean it.
    expect(duringQuiet.length).toBeGreaterThan(10);
    expect(failures(duringQuiet), `gateway log:\n${tail(sy)}`).toEqual([]);

    // It went down for a reason that scales down, one step at a time, to the pool's minimum.
    const all = await decisions(sy);
    const downs = all.filter((d) => d.to < d.from);
    expect(downs.length).toBeGreaterThan(0);
    for (const d of downs) {
      expect(DOWN_REASONS).toContain(d.reason);
      expect(d.from - d.to).toBe(1);
      // each drain happened while the trickle flowed
      expect(Date.parse(d.at)).toBeGreaterThan(quietFrom);
    }
    expect(downs.at(-1).to).toBe(1);
    const downRows = (await scaleAudit(sy)).filter((r) => r.after?.replicas < r.before?.replicas);
    expect(downRows.length).toBe(downs.length);
    for (const r of downRows) expect(DOWN_REASONS).toContain(r.after.reason);
    const after = await fleetReplicas(sy);
    expect(after).toHaveLength(1);
    const metricsAfter = await (await fetch(`${sy.url}/metrics`)).text();
    expect(gauge(metricsAfter, 'switchyard_autoscaler_replicas', { pool: POOL, phase: 'ready' })).toBe(1);
    expect(gauge(metricsAfter, 'switchyard_autoscaler_scale_events_total', { pool: POOL, direction: 'down' })).toBeGreaterThan(0);

    // The removed replicas' processes are gone: nothing answers where they listened.
    const removed = [...seen.values()].filter((r) => !after.some((a) => a.id === r.id));
    expect(removed.length).toBe(seen.size - 1);
    for (const r of removed) await eventually(async () => !(await answers(r.url)), 5_000);
    const kept = after[0];
    expect(await answers(kept.url)).toBe(true);

    console.log(`[autoscale] grew to ${grown.replicas.ready} ${grewMs} ms after start (${duringBurst.length} burst requests), `
      + `back to 1 at ${shrankMs} ms (${duringQuiet.length} trickle requests, 0 failed); decisions: `
      + all.filter((d) => d.to !== d.from).map((d) => `${d.from}→${d.to} ${d.reason}`).join(', '));

    // ── Ctrl-C: the loop stops, the gateway drains, every replica (the scaled ones too) stops ──
    const code = await sy.interruptGroup();
    running.delete(sy);
    expect(code).toBe(0);
    for (const r of seen.values()) expect(await answers(r.url)).toBe(false);
  }, 90_000);

  it('is refused, with what to do instead, when the replicas are external and no pool is on Kubernetes', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchyard-e2e-'));
    const r = await runCli(['up', '--port', '0', '--data-dir', dataDir, '--autoscale', '--replica', `${MODEL}=http://127.0.0.1:9`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--autoscale/);
    expect(r.stderr).toMatch(/kubernetes/i);
  }, 30_000);
});
