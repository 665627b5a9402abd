import Anthropic from '@anthropic-ai/sdk';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, DEMO_KEY, admin, eventually, runCli, startSwitchyard, type CliResult, type Running } from './harness.js';

// Live rollouts: the real `switchyard up` with demo pools of two versions of one model, the
// official SDKs (both wires, streamed and not) as traffic, the real `switchyard rollout` CLI as
// the operator. A faulty candidate must be rolled back by the analysis while clients see nothing
// of it; a good one must go through every step to stable; a rollout must survive a restart of its
// gateway on the same store.

const MODEL = 'llama-3.1-8b';
const TERMINAL = new Set(['succeeded', 'rolled_back', 'aborted']);
/** a request that has not finished by then is a hang */
const HANG_MS = 10_000;

const running = new Set<Running>();
afterAll(async () => {
  // Everything this file started, whatever happened in the tests.
  await Promise.all([...running].map((sy) => sy.stop().catch(() => undefined)));
});

async function up(config: string, dataDir?: string): Promise<Running> {
  const sy = await startSwitchyard({ config, dataDir });
  running.add(sy);
  return sy;
}

async function down(sy: Running): Promise<number | null> {
  const code = await sy.stop();
  running.delete(sy);
  return code;
}

/** One model, v1 stable; v1 and v2 demo pools in us-east (v2's with the given faults); short rollout loops. */
function configWith(o: { v1: number; v2: number; v2Faults?: string }): string {
  return [
    'region: us-east',
    `fleet: { healthIntervalMs: 300, healthTimeoutMs: 250 }`,
    'rollouts: { tickMs: 200, pollMs: 200, leaseTtlMs: 2000 }',
    'models:',
    `  - id: ${MODEL}`,
    '    profile: llama-3.1-8b-h100',
    '    pricing: { input: 0.05, output: 0.08 }',
    '    versions: [{ id: v1, weights: llama-3.1-8b-instruct }, { id: v2, weights: llama-3.1-8b-instruct-ft2 }]',
    '    stable: v1',
    'demo:',
    `  - { model: ${MODEL}, region: us-east, replicas: ${o.v1}, version: v1 }`,
    `  - { model: ${MODEL}, region: us-east, replicas: ${o.v2}, version: v2${o.v2Faults ? `, faults: ${o.v2Faults}` : ''} }`,
  ].join('\n');
}

/** Writes a rollout spec next to the gateway's data and returns its path. */
function specFile(sy: Running, name: string, yaml: string): string {
  const file = join(sy.dataDir, name);
  writeFileSync(file, yaml);
  return file;
}

// ── the operator: the real CLI ───────────────────────────────────────────────

function rollout(sy: Running, ...args: string[]): Promise<CliResult> {
  return runCli(['rollout', ...args, '--gateway', sy.url, '--admin-token', ADMIN_TOKEN]);
}

/** `switchyard rollout start --file …`: the new rollout's id, from what the CLI printed. */
async function startRollout(sy: Running, file: string, reason: string): Promise<string> {
  const r = await rollout(sy, 'start', '--file', file, '--reason', reason);
  expect(r.code, `rollout start failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  expect(`${r.stdout}${r.stderr}`).not.toContain(ADMIN_TOKEN);
  const id = /\brol_[A-Za-z0-9_-]+/.exec(r.stdout)?.[0];
  expect(id, `no rollout id in the CLI's output:\n${r.stdout}`).toBeDefined();
  return id!;
}

/** `switchyard rollout status <id> --json`, parsed. */
async function cliStatus(sy: Running, id: string): Promise<any> {
  const r = await rollout(sy, 'status', id, '--json');
  expect(r.code, `rollout status failed:\n${r.stdout}\n${r.stderr}`).toBe(0);
  return JSON.parse(r.stdout);
}

async function view(sy: Running, id: string): Promise<any> {
  const r = await admin(sy.url, `/rollouts/${id}`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body;
}

/** The candidate's share in a region, from a rollout view. */
function weightIn(v: any, region: string): number {
  return Number(v.weights?.[region] ?? 0);
}

/** The step index of a rollout view (`step: { index, … }`, or a bare number). */
function stepOf(v: any): number {
  return typeof v.step === 'number' ? v.step : v.step?.index;
}

/** The audit records of a rollout, oldest first. */
async function auditOf(sy: Running, id: string): Promise<any[]> {
  const r = await admin(sy.url, `/audit?target=${encodeURIComponent(id)}&limit=1000`);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return [...r.body.data].reverse();
}

/** Replicas of the model in the fleet view, by version. */
async function replicasOf(sy: Running, version: string): Promise<any[]> {
  const { status, body } = await admin(sy.url, '/fleet');
  expect(status).toBe(200);
  return body.data.filter((r: any) => r.model === MODEL && r.version === version);
}

/** What the engine behind a replica counted itself (vllm:request_success_total over its series). */
async function successOn(replicaUrl: string): Promise<number> {
  const text = await (await fetch(`${replicaUrl}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(/^vllm:request_success_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

async function successOfVersion(sy: Running, version: string): Promise<number> {
  const rs = await replicasOf(sy, version);
  expect(rs.length).toBeGreaterThan(0);
  return (await Promise.all(rs.map((r) => successOn(r.url)))).reduce((a, b) => a + b, 0);
}

// ── the traffic: both SDKs, both modes ───────────────────────────────────────

type Kind = 'anthropic' | 'anthropic-stream' | 'openai' | 'openai-stream';
const KINDS: Kind[] = ['anthropic', 'anthropic-stream', 'openai', 'openai-stream'];

interface Outcome {
  kind: Kind;
  ok: boolean;
  /** the request id the gateway answered with (its usage record's) */
  requestId: string | null;
  error?: string;
}

/**
 * One request, classified. No client retries (maxRetries 0): what the client sees is what the
 * gateway answered, so a failure it did not absorb shows here.
 */
async function call(a: Anthropic, o: OpenAI, kind: Kind, prompt: string, maxTokens: number): Promise<Outcome> {
  const messages = [{ role: 'user' as const, content: prompt }];
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), HANG_MS);
  try {
    switch (kind) {
      case 'anthropic': {
        const { data, response } = await a.messages.create({ model: MODEL, max_tokens: maxTokens, messages }, { signal: ac.signal }).withResponse();
        if (data.type !== 'message' || data.usage.output_tokens <= 0) return { kind, ok: false, requestId: null, error: `odd message ${JSON.stringify(data)}` };
        return { kind, ok: true, requestId: response.headers.get('request-id') };
      }
      case 'anthropic-stream': {
        const { data, response } = await a.messages.create({ model: MODEL, max_tokens: maxTokens, messages, stream: true }, { signal: ac.signal }).withResponse();
        let stopped = false;
        for await (const ev of data) if (ev.type === 'message_stop') stopped = true;
        return { kind, ok: stopped, requestId: response.headers.get('request-id'), error: stopped ? undefined : 'stream ended without message_stop' };
      }
      case 'openai': {
        const { data, response } = await o.chat.completions.create({ model: MODEL, max_tokens: maxTokens, messages }, { signal: ac.signal }).withResponse();
        const done = data.object === 'chat.completion' && !!data.choices[0]?.finish_reason;
        return { kind, ok: done, requestId: response.headers.get('x-request-id'), error: done ? undefined : `odd completion ${JSON.stringify(data)}` };
      }
      case 'openai-stream': {
        const { data, response } = await o.chat.completions.create({ model: MODEL, max_tokens: maxTokens, messages, stream: true }, { signal: ac.signal }).withResponse();
        let finish: string | null = null;
        for await (const chunk of data) finish = chunk.choices[0]?.finish_reason ?? finish;
        return { kind, ok: finish !== null, requestId: response.headers.get('x-request-id'), error: finish !== null ? undefined : 'stream ended without a finish_reason' };
      }
    }
  } catch (e) {
    const err = e as { status?: number; message?: string };
    return { kind, ok: false, requestId: (e as { requestID?: string }).requestID ?? null, error: `${ac.signal.aborted ? 'hang' : err.status ?? 'no status'}: ${err.message}` };
  } finally {
    clearTimeout(timer);
  }
}

/** `loops` concurrent loops cycling through the four kinds until `until()` says stop. */
async function traffic(sy: Running, o: { loops: number; until: () => boolean; maxTokens?: number; tag: string; kinds?: Kind[] }): Promise<Outcome[]> {
  const kinds = o.kinds ?? KINDS;
  const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
  const oa = new OpenAI({ baseURL: `${sy.url}/v1`, apiKey: DEMO_KEY, maxRetries: 0 });
  const out: Outcome[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: o.loops }, async (_, j) => {
    for (let i = 0; !o.until(); i++) {
      const k = n++;
      out.push(await call(a, oa, kinds[(j + i) % kinds.length], `${o.tag} request ${k}: tell me about the rail yard`, o.maxTokens ?? 8));
    }
  }));
  return out;
}

/** Exactly `n` requests (the four kinds in turn), `loops` at a time. */
function burst(sy: Running, n: number, tag: string, loops = 8): Promise<Outcome[]> {
  let left = n;
  return traffic(sy, { loops, until: () => left-- <= 0, tag });
}

const failures = (list: Outcome[]): string[] => list.filter((r) => !r.ok).map((r) => `${r.kind} ${r.requestId ?? '-'}: ${r.error}`);

/** Polls the admin API until the rollout satisfies `done`; the last view when it does. */
async function until(sy: Running, id: string, done: (v: any) => boolean, timeoutMs: number): Promise<any> {
  let last: any = null;
  try {
    return await eventually(async () => {
      last = await view(sy, id);
      return done(last) ? last : null;
    }, timeoutMs);
  } catch {
    throw new Error(`rollout ${id} did not get there in ${timeoutMs} ms; last view:\n${JSON.stringify(last, null, 2)}\ngateway log:\n${sy.output().split('\n').slice(-20).join('\n')}`);
  }
}

// ── the specifications ───────────────────────────────────────────────────────

const STEPS = `steps:
  - setWeight: 20
  - analysis: { minDuration: 2s }
  - setWeight: 50
  - analysis: { minDuration: 2s }
  - setWeight: 100
analysis: { minCalls: 40 }
`;

interface BadCandidate {
  faults: string;
  kinds: Kind[];
  maxTokens: number;
  /** the metric the analysis must name */
  metric: RegExp;
  tag: string;
}

/**
 * v1 ×2 and a faulty v2 ×1 under SDK traffic; a rollout started with the CLI. Asserts it ends
 * rolled back on `metric`, that clients saw nothing of it, that v2 gets no request afterwards, and
 * what the audit trail says.
 */
async function rolledBack(c: BadCandidate): Promise<void> {
  const sy = await up(configWith({ v1: 2, v2: 1, v2Faults: c.faults }));
  const t0 = Date.now();
  const file = specFile(sy, `${c.tag}.yaml`, `model: ${MODEL}\ncandidate: v2\n${STEPS}`);
  let stop = false;
  const deadline = Date.now() + 30_000;
  const flowing = traffic(sy, { loops: 12, until: () => stop || Date.now() > deadline, tag: c.tag, kinds: c.kinds, maxTokens: c.maxTokens });

  const reason = `e2e: try v2 (${c.tag})`;
  const id = await startRollout(sy, file, reason);
  const end = await until(sy, id, (v) => TERMINAL.has(v.phase), 25_000).finally(() => { stop = true; });
  const during = await flowing;
  const decidedMs = Date.now() - t0;

  expect(end.phase, JSON.stringify(end.failure)).toBe('rolled_back');
  expect(end.failure?.metric).toMatch(c.metric);
  expect(weightIn(end, 'us-east')).toBe(0);
  const status = await cliStatus(sy, id);
  expect(status).toMatchObject({ id, phase: 'rolled_back', failure: { metric: end.failure.metric } });

  // The clients saw no more failures than the candidate's calls that the analysis needed — and with
  // the gateway's retries on, none at all: every failed call went again to stable.
  const ev = end.evidence;
  expect(failures(during).length).toBeLessThanOrEqual(Number(ev?.candidate?.failures));
  expect(failures(during)).toEqual([]);
  expect(Number(ev?.candidate?.calls)).toBeGreaterThan(0);

  // Afterwards no request reaches v2: its weight is 0 in the fleet view, its engine counts no new
  // success (120 requests would show even at half failing), and no usage record names it.
  const v2 = await replicasOf(sy, 'v2');
  expect(v2.map((r) => Number(r.weight))).toEqual(v2.map(() => 0));
  const v2Before = await successOfVersion(sy, 'v2');
  const v1Before = await successOfVersion(sy, 'v1');
  const after = await burst(sy, 120, `${c.tag} after rollback`);
  expect(failures(after)).toEqual([]);
  await eventually(async () => (await successOfVersion(sy, 'v1')) - v1Before >= 120, 3_000);
  expect(await successOfVersion(sy, 'v2')).toBe(v2Before);
  const v2Ids = new Set(v2.map((r) => r.id));
  const ids = new Set(after.map((r) => r.requestId));
  const tenants = await (await fetch(`${sy.url}/admin/v1/tenants`, { headers: { 'x-api-key': DEMO_KEY } })).json();
  const rows = await eventually(async () => {
    const { body } = await admin(sy.url, `/tenants/${tenants.data[0].id}/usage?limit=1000`);
    const mine = body.data.filter((r: any) => ids.has(r.request_id));
    return mine.length === after.length ? mine : null;
  }, 5_000);
  expect(rows.filter((r: any) => v2Ids.has(r.replica)).map((r: any) => r.request_id)).toEqual([]);

  // The audit trail: who started it and why; that the controller (not a person) rolled it back, and why.
  const trail = await auditOf(sy, id);
  const started = trail.find((r) => r.action === 'rollout.start');
  expect(started).toMatchObject({ actor: expect.stringMatching(/^admin/), reason });
  const rollback = trail.find((r) => r.action === 'rollout.rollback');
  expect(rollback?.actor).toBeTruthy();
  expect(rollback?.actor).not.toMatch(/^admin/);
  expect(rollback?.reason).toContain(end.failure.metric);
  expect(trail.indexOf(started)).toBeLessThan(trail.indexOf(rollback));
  expect(trail.at(-1)?.action).toBe('rollout.rolled_back');

  console.log(`[${c.tag}] ${id} rolled back ${decidedMs} ms after the gateway was up; ${during.length} requests during it, `
    + `${failures(during).length} client-visible failures; candidate ${ev.candidate.calls} calls (${ev.candidate.failures} failed), `
    + `stable ${ev.stable.calls} (${ev.stable.failures}); reason: ${end.failure.reason}\ntransitions: ${trail.map((r) => r.action).join(' → ')}`);
  await down(sy);
}

describe('a faulty candidate under SDK traffic', () => {
  it('that fails half its calls is rolled back on errors, and the clients never see its failures', async () => {
    // Two signals race, both right: the analysis's error test, or outlier detection ejecting every
    // candidate replica first (the machine then fails the rollout on `outliers`); which comes first
    // depends on the machine's load.
    await rolledBack({ faults: '{ errorRate: 0.5 }', kinds: KINDS, maxTokens: 8, metric: /^(errors|outliers)$/, tag: 'half-failing' });
  }, 60_000);

  it('that runs three times slower is rolled back on latency, with streaming clients', async () => {
    await rolledBack({ faults: '{ slowFactor: 3 }', kinds: ['anthropic-stream', 'openai-stream'], maxTokens: 16, metric: /^(ttft|itl)$/, tag: 'slow' });
  }, 60_000);
});

describe('a candidate as good as stable', () => {
  it('goes through every step to 100 %, becomes stable, and then takes all the traffic', async () => {
    const sy = await up(configWith({ v1: 2, v2: 2 }));
    const t0 = Date.now();
    const file = specFile(sy, 'good.yaml', `model: ${MODEL}\ncandidate: v2\n${STEPS}`);
    let stop = false;
    const deadline = Date.now() + 40_000;
    const flowing = traffic(sy, { loops: 12, until: () => stop || Date.now() > deadline, tag: 'good' });

    const id = await startRollout(sy, file, 'e2e: promote v2');
    const end = await until(sy, id, (v) => TERMINAL.has(v.phase), 35_000).finally(() => { stop = true; });
    const during = await flowing;
    const decidedMs = Date.now() - t0;

    expect(end.phase, JSON.stringify(end.failure)).toBe('succeeded');
    expect(failures(during)).toEqual([]);
    expect((await cliStatus(sy, id)).phase).toBe('succeeded');

    // Every step, in order, in the audit trail: the candidate's share only ever went up, through 20 and 50 to 100.
    const trail = await auditOf(sy, id);
    const actions = trail.map((r) => r.action);
    expect(actions[0]).toBe('rollout.start');
    expect(actions.at(-1)).toBe('rollout.succeed');
    const shares = trail.map((r) => Number(r.after?.weights?.['us-east'] ?? 0));
    expect(shares).toEqual([...shares].sort((x, y) => x - y));
    const distinct = [...new Set(shares)];
    expect(distinct.filter((w) => w > 0)).toEqual([20, 50, 100]);
    const steps = trail.map((r) => Number(r.after ? stepOf(r.after) : -1));
    expect(steps).toEqual([...steps].sort((x, y) => x - y));
    // both analysis gates were passed, not skipped
    expect(steps).toEqual(expect.arrayContaining([1, 3]));

    // And it serves everything: v1's engines count nothing more.
    const v1Before = await successOfVersion(sy, 'v1');
    const v2Before = await successOfVersion(sy, 'v2');
    const after = await burst(sy, 80, 'after promotion');
    expect(failures(after)).toEqual([]);
    await eventually(async () => (await successOfVersion(sy, 'v2')) - v2Before >= 80, 3_000);
    expect(await successOfVersion(sy, 'v1')).toBe(v1Before);

    console.log(`[good candidate] ${id} succeeded ${decidedMs} ms after the gateway was up; ${during.length} requests during it; `
      + `transitions: ${actions.join(' → ')}; shares: ${shares.join(', ')}`);

    // v2 is the model's stable version now (the versions API says so).
    const versions = await admin(sy.url, `/models/${MODEL}/versions`);
    expect(versions.status, JSON.stringify(versions.body)).toBe(200);
    const byId = new Map<string, any>(versions.body.data.map((v: any) => [v.id, v]));
    expect(byId.get('v2')?.stable).toBe(true);
    expect(byId.get('v1')?.stable).toBe(false);
    await down(sy);
  }, 60_000);
});

describe('a gateway restarted mid-rollout', () => {
  it('resumes the same rollout at the same step and weights from its store, and a promote finishes it', async () => {
    const config = configWith({ v1: 2, v2: 1 });
    const first = await up(config);
    const file = specFile(first, 'paused.yaml', `model: ${MODEL}\ncandidate: v2\nsteps:\n  - setWeight: 30\n  - pause: {}\n  - setWeight: 100\n`);
    const id = await startRollout(first, file, 'e2e: hold at 30');
    const held = await until(first, id, (v) => v.phase === 'paused', 15_000);
    expect(held.pause?.kind).toBe('step');
    expect(stepOf(held)).toBe(1);
    expect(weightIn(held, 'us-east')).toBe(30);

    expect(await down(first)).toBe(0);
    const second = await up(config, first.dataDir);
    expect(second.dataDir).toBe(first.dataDir);

    // The new gateway reads the rollout back: same id, same step, same share, still waiting for a person.
    const resumed = await cliStatus(second, id);
    expect(resumed).toMatchObject({ id, phase: 'paused' });
    expect(resumed.pause?.kind).toBe('step');
    expect(stepOf(resumed)).toBe(1);
    expect(weightIn(resumed, 'us-east')).toBe(30);
    // ...and routes by it once it leads: the candidate's replica gets its share again.
    await eventually(async () => (await replicasOf(second, 'v2')).every((r) => Number(r.weight) > 0), 10_000);
    const v2Before = await successOfVersion(second, 'v2');
    expect(failures(await burst(second, 80, 'after restart'))).toEqual([]);
    await eventually(async () => (await successOfVersion(second, 'v2')) > v2Before, 3_000);

    const promoted = await rollout(second, 'promote', id, '--reason', 'e2e: looks fine');
    expect(promoted.code, `${promoted.stdout}\n${promoted.stderr}`).toBe(0);
    const end = await until(second, id, (v) => TERMINAL.has(v.phase), 10_000);
    expect(end.phase).toBe('succeeded');
    expect(weightIn(end, 'us-east')).toBe(100);

    const trail = await auditOf(second, id);
    const promote = trail.find((r) => r.action === 'rollout.promote');
    expect(promote).toMatchObject({ actor: expect.stringMatching(/^admin/), reason: 'e2e: looks fine' });
    expect(trail.at(-1)?.action).toBe('rollout.succeed');
    console.log(`[restart] ${id}: ${trail.map((r) => r.action).join(' → ')}`);
    await down(second);
  }, 60_000);
});
