import Anthropic from '@anthropic-ai/sdk';
import { spawn, type ChildProcess } from 'node:child_process';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from '../../src/control/index.js';
import { BIN, DEMO_KEY, admin, eventually, startSwitchyard, type Running } from './harness.js';

// Live failover: four simulated replicas as real processes (two in us-east, the gateway's home, two
// in eu-west), the real gateway in front, the official SDKs as clients. Replicas are killed with
// SIGKILL under load and restarted on the same ports; what the clients see is asserted, and where
// traffic went is read black-box from each engine's own /metrics.

const MODEL = 'llama-3.1-8b';
const PROFILE = 'llama-3.1-8b-h100';
const HEALTH_INTERVAL_MS = 300;
/** a request that has not finished by then is a hang */
const HANG_MS = 10_000;
/** OpenAI wire: vLLM's ignore_eos (the gateway passes it through) makes the replica run to max_tokens */
const IGNORE_EOS = { ignore_eos: true } as {};

interface Engine {
  name: string;
  region: 'us-east' | 'eu-west';
  port: number;
  proc: ChildProcess | null;
}

const engines: Engine[] = [];
const spawned = new Set<ChildProcess>();
let sy: Running | null = null;
let pinnedKey = '';
/** prompts whose natural answer is long (the Anthropic wire has no ignore_eos) */
let longPrompts: string[] = [];

const url = (e: Engine): string => `http://127.0.0.1:${e.port}`;
const byRegion = (r: Engine['region']): Engine[] => engines.filter((e) => e.region === r);

async function startEngine(e: Engine): Promise<void> {
  const proc = spawn(process.execPath, [BIN, 'engine', '--port', String(e.port), '--model', MODEL, '--profile', PROFILE], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  spawned.add(proc);
  proc.once('exit', () => spawned.delete(proc));
  e.proc = proc;
  await eventually(async () => {
    if (proc.exitCode !== null) throw new Error(`engine ${e.name} exited with ${proc.exitCode}: ${err}`);
    return (await fetch(`${url(e)}/health`).catch(() => null))?.ok;
  }, 20_000);
}

function killEngine(e: Engine): Promise<void> {
  const proc = e.proc!;
  e.proc = null;
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  process.kill(proc.pid!, 'SIGKILL');
  return exited;
}

async function metricsOf(e: Engine): Promise<string> {
  return (await fetch(`${url(e)}/metrics`)).text();
}

/** vllm:request_success_total summed over its finished_reason series. */
async function successTotal(e: Engine): Promise<number> {
  let sum = 0;
  for (const m of (await metricsOf(e)).matchAll(/^vllm:request_success_total\{[^}]*\} (\S+)$/gm)) sum += Number(m[1]);
  return sum;
}

async function successOf(list: Engine[]): Promise<number> {
  return (await Promise.all(list.map(successTotal))).reduce((a, b) => a + b, 0);
}

/** A counter from the gateway's own /metrics, summed over its series (0 when absent). */
async function gatewayCounter(name: string): Promise<number> {
  const text = await (await fetch(`${sy!.url}/metrics`)).text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm'))) sum += Number(m[1]);
  return sum;
}
/** requests the gateway sent again to another replica */
const gatewayRetries = (): Promise<number> => gatewayCounter('switchyard_upstream_retries_total');
/** retries not made because a retry budget was spent (reported, not asserted) */
const gatewayRetryOverflow = (): Promise<number> => gatewayCounter('switchyard_upstream_retry_overflow_total');

async function runningOn(e: Engine): Promise<number> {
  return Number(/^vllm:num_requests_running\{[^}]*\} (\S+)$/m.exec(await metricsOf(e))?.[1] ?? NaN);
}

// ── one request, classified ─────────────────────────────────────────────────

type Kind = 'anthropic' | 'anthropic-stream' | 'openai' | 'openai-stream';
const KINDS: Kind[] = ['anthropic', 'anthropic-stream', 'openai', 'openai-stream'];

interface Outcome {
  kind: Kind;
  /** ms since the phase's reference time */
  at: number;
  ms: number;
  /** completed normally */
  ok: boolean;
  /** a proper API error in the client's wire format (HTTP error, or an error event mid-stream) */
  apiError: boolean;
  /** stream events received before the end */
  events: number;
  status?: number;
  errorType?: string;
  message?: string;
  /** anything else: a hang, a raw socket error, a stream that stopped without saying why */
  bad?: string;
}

interface Clients {
  a: Anthropic;
  o: OpenAI;
}

function clientsFor(key: string): Clients {
  return {
    a: new Anthropic({ baseURL: sy!.url, apiKey: key, maxRetries: 0 }),
    o: new OpenAI({ baseURL: `${sy!.url}/v1`, apiKey: key, maxRetries: 0 }),
  };
}

class Incomplete extends Error {}

async function call(
  c: Clients, kind: Kind, opts: { maxTokens: number; prompt: string; long?: boolean; t0: number; onEvent?: () => void },
): Promise<Outcome> {
  const ac = new AbortController();
  const started = Date.now();
  const out: Outcome = { kind, at: started - opts.t0, ms: 0, ok: false, apiError: false, events: 0 };
  const event = (): void => {
    if (out.events++ === 0) opts.onEvent?.();
  };
  const messages = [{ role: 'user' as const, content: opts.prompt }];
  const extra = opts.long ? IGNORE_EOS : {};
  const work = async (): Promise<void> => {
    switch (kind) {
      case 'anthropic': {
        const m = await c.a.messages.create({ model: MODEL, max_tokens: opts.maxTokens, messages }, { signal: ac.signal });
        if (m.type !== 'message' || m.usage.output_tokens <= 0) throw new Incomplete(`odd message: ${JSON.stringify(m)}`);
        return;
      }
      case 'anthropic-stream': {
        const s = await c.a.messages.create({ model: MODEL, max_tokens: opts.maxTokens, messages, stream: true }, { signal: ac.signal });
        let stopped = false;
        for await (const ev of s) {
          event();
          if (ev.type === 'message_stop') stopped = true;
        }
        if (!stopped) throw new Incomplete(`anthropic stream ended after ${out.events} events without message_stop or an error event`);
        return;
      }
      case 'openai': {
        const r = await c.o.chat.completions.create({ model: MODEL, max_tokens: opts.maxTokens, messages, ...extra }, { signal: ac.signal });
        if (r.object !== 'chat.completion' || !r.choices[0]?.finish_reason) throw new Incomplete(`odd completion: ${JSON.stringify(r)}`);
        return;
      }
      case 'openai-stream': {
        const s = await c.o.chat.completions.create({ model: MODEL, max_tokens: opts.maxTokens, messages, stream: true, ...extra }, { signal: ac.signal });
        let finish: string | null = null;
        for await (const chunk of s) {
          event();
          finish = chunk.choices[0]?.finish_reason ?? finish;
        }
        if (finish === null) throw new Incomplete(`openai stream ended after ${out.events} chunks without a finish_reason or an error chunk`);
        return;
      }
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<'hang'>((r) => (timer = setTimeout(r, HANG_MS, 'hang')));
  try {
    const r = await Promise.race([work().then(() => 'done' as const), hang]);
    if (r === 'hang') {
      ac.abort();
      out.bad = `hang: no end after ${HANG_MS} ms (${out.events} events)`;
    } else {
      out.ok = true;
    }
  } catch (e) {
    classify(kind, e, out);
  } finally {
    clearTimeout(timer);
    out.ms = Date.now() - started;
  }
  return out;
}

function classify(kind: Kind, e: unknown, out: Outcome): void {
  const err = e as { status?: number; error?: any; message?: string; name?: string; cause?: { code?: string; message?: string } };
  if (kind.startsWith('anthropic')) {
    // An error event mid-stream and an HTTP error both carry Anthropic's body: {type:"error",error:{type,message}}.
    if (e instanceof Anthropic.APIError && !(e instanceof Anthropic.APIConnectionError) && typeof err.error?.error?.type === 'string') {
      out.apiError = true;
      out.status = err.status;
      out.errorType = err.error.error.type;
      out.message = err.error.error.message;
      return;
    }
  } else if (e instanceof OpenAI.APIError && !(e instanceof OpenAI.APIConnectionError) && typeof err.error?.message === 'string') {
    // An error chunk mid-stream and an HTTP error both carry OpenAI's {message,type,param,code}.
    out.apiError = true;
    out.status = err.status;
    out.errorType = err.error.type ?? undefined;
    out.message = err.error.message;
    return;
  }
  out.bad = `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}${err?.cause ? ` (cause: ${err.cause.code ?? ''} ${err.cause.message ?? ''})` : ''}`;
}

function describeOutcomes(list: Outcome[]): string {
  return list.map((o) => `${o.kind}@${o.at}ms ${o.ok ? 'ok' : o.apiError ? `api_error ${o.status ?? 'mid-stream'} ${o.errorType}: ${o.message}` : `BAD ${o.bad}`} (${o.ms} ms, ${o.events} events)`).join('\n');
}

/** `loops` concurrent request loops, each running the four kinds in turn until `untilMs` (epoch ms). */
async function load(c: Clients, o: { loops: number; untilMs: number; t0: number; maxTokens: number; long: boolean }): Promise<Outcome[]> {
  const out: Outcome[] = [];
  let n = 0;
  await Promise.all(Array.from({ length: o.loops }, async (_, j) => {
    for (let i = 0; Date.now() < o.untilMs; i++) {
      const kind = KINDS[(j + i) % KINDS.length];
      const k = n++;
      // The Anthropic wire cannot ask for ignore_eos: a long reply there is a prompt whose answer is long.
      const prompt = kind.startsWith('anthropic') && o.long ? longPrompts[k % longPrompts.length] : `failover load ${k}`;
      out.push(await call(c, kind, { maxTokens: o.maxTokens, prompt, long: o.long, t0: o.t0 }));
    }
  }));
  return out;
}

beforeAll(async () => {
  const ports = await freePorts(4);
  engines.push(
    { name: 'us-east-0', region: 'us-east', port: ports[0], proc: null },
    { name: 'us-east-1', region: 'us-east', port: ports[1], proc: null },
    { name: 'eu-west-0', region: 'eu-west', port: ports[2], proc: null },
    { name: 'eu-west-1', region: 'eu-west', port: ports[3], proc: null },
  );
  await Promise.all(engines.map(startEngine));
  sy = await startSwitchyard({
    config: [
      'region: us-east',
      `fleet: { healthIntervalMs: ${HEALTH_INTERVAL_MS}, healthTimeoutMs: 250 }`,
      'replicas:',
      ...engines.map((e) => `  - { model: ${MODEL}, url: "${url(e)}", region: ${e.region} }`),
    ].join('\n'),
  });

  // A tenant whose data may live only in us-east, and its key.
  const t = await admin(sy.url, '/tenants', { method: 'POST', body: JSON.stringify({ name: 'pinned-us', allowed_regions: ['us-east'] }) });
  expect(t.status, JSON.stringify(t.body)).toBe(201);
  const k = await admin(sy.url, `/tenants/${t.body.id}/keys`, { method: 'POST', body: JSON.stringify({ name: 'failover' }) });
  expect(k.status, JSON.stringify(k.body)).toBe(201);
  pinnedKey = k.body.secret;

  // The simulated model's natural answer length is a function of the prompt: find long ones
  // (≥ 45 of at most 60 tokens), so Anthropic streams last long enough to be cut.
  const a = new Anthropic({ baseURL: sy.url, apiKey: DEMO_KEY, maxRetries: 0 });
  const candidates = Array.from({ length: 48 }, (_, i) => `Tell me a long story about the rail yard, take ${i}.`);
  const lens = await Promise.all(candidates.map(async (p) => (await a.messages.create({ model: MODEL, max_tokens: 200, messages: [{ role: 'user', content: p }] })).usage.output_tokens));
  longPrompts = candidates.filter((_, i) => lens[i] >= 45);
  expect(longPrompts.length).toBeGreaterThanOrEqual(3);
}, 60_000);

afterAll(async () => {
  // Everything this file started, whatever happened in the tests.
  await sy?.stop().catch(() => undefined);
  for (const p of [...spawned]) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
});

describe('live failover', () => {
  it('loses no non-streamed request and ends every cut stream with an API error when a replica is killed under load', async () => {
    const c = clientsFor(DEMO_KEY);
    // Sanity: the pinned tenant is served while us-east is up.
    expect((await clientsFor(pinnedKey).a.messages.create({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] })).type).toBe('message');
    const retriesBefore = await gatewayRetries();
    const overflowBefore = await gatewayRetryOverflow();

    const t0 = Date.now();
    const steady = load(c, { loops: 6, untilMs: t0 + 4_500, t0, maxTokens: 200, long: true });
    await new Promise((r) => setTimeout(r, 1_000));

    // A burst of long requests, each kind twice in a row so both us-east replicas get one of each
    // (the home region's least-loaded first); the kill waits until every stream has its first event.
    const burstKinds: Kind[] = ['anthropic-stream', 'anthropic-stream', 'openai-stream', 'openai-stream', 'anthropic', 'anthropic', 'openai', 'openai',
      'anthropic-stream', 'anthropic-stream', 'openai-stream', 'openai-stream', 'openai', 'openai'];
    const firstEvents: Array<Promise<unknown>> = [];
    const burst: Array<Promise<Outcome>> = [];
    for (const [i, kind] of burstKinds.entries()) {
      let onEvent: (() => void) | undefined;
      if (kind.endsWith('stream')) firstEvents.push(new Promise<void>((r) => (onEvent = r)));
      const prompt = kind.startsWith('anthropic') ? longPrompts[i % longPrompts.length] : `failover burst ${i}`;
      burst.push(call(c, kind, { maxTokens: 200, prompt, long: true, t0, onEvent }));
      await new Promise((r) => setTimeout(r, 3));
    }
    await Promise.race([Promise.all(firstEvents), new Promise((r) => setTimeout(r, 3_000))]);
    const east = byRegion('us-east');
    const busy = await Promise.all(east.map(runningOn));
    const victim = busy[0] >= busy[1] ? east[0] : east[1];
    const killAt = Date.now() - t0;
    await killEngine(victim);
    const results = [...await steady, ...await Promise.all(burst)];
    const retries = (await gatewayRetries()) - retriesBefore;
    const overflow = (await gatewayRetryOverflow()) - overflowBefore;

    const streams = results.filter((r) => r.kind.endsWith('stream'));
    const plain = results.filter((r) => !r.kind.endsWith('stream'));
    const cut = streams.filter((r) => r.apiError && r.events > 0);
    const refused = streams.filter((r) => r.apiError && r.events === 0);
    const plainInFlight = plain.filter((r) => r.at < killAt && r.at + r.ms > killAt);
    console.log(`[kill under load] victim ${victim.name} killed ${killAt} ms into the load with ${Math.max(...busy)} requests running (us-east: ${busy.join(', ')}); `
      + `${results.length} requests (${plain.length} non-streamed, ${plainInFlight.length} of them in flight at the kill; ${streams.length} streamed); `
      + `gateway retries ${retries} (retry-budget overflow ${overflow}); ${cut.length} streams cut mid-flight with an error (${cut.filter((r) => r.kind.startsWith('anthropic')).length} Anthropic, `
      + `${cut.filter((r) => r.kind.startsWith('openai')).length} OpenAI); ${refused.length} streams refused before their first event; `
      + `${results.filter((r) => r.bad).length} bad\n${describeOutcomes(results.filter((r) => !r.ok))}`);

    expect(Math.max(...busy), 'requests running on the victim when it was killed').toBeGreaterThan(0);
    // Nothing hangs, nothing surfaces as a raw socket error or a silently truncated stream.
    expect(results.filter((r) => r.bad).map((r) => `${r.kind}@${r.at}ms: ${r.bad}`)).toEqual([]);
    // The gateway retries what never reached the client: non-streamed requests all succeed...
    expect(plain.filter((r) => !r.ok).map((r) => `${r.kind}@${r.at}ms ${r.status} ${r.errorType}: ${r.message}`)).toEqual([]);
    // ...and some were on the victim (else this proves nothing about them).
    expect(plainInFlight.length).toBeGreaterThanOrEqual(4);
    expect(retries).toBeGreaterThanOrEqual(1);
    // Every stream ended one of the two proper ways, and the kill did cut some.
    for (const r of streams) expect(r.ok || r.apiError).toBe(true);
    expect(cut.length).toBeGreaterThanOrEqual(1);
  }, 30_000);

  it('fails an unpinned key over to eu-west within 2 s of losing all of us-east', async () => {
    const c = clientsFor(DEMO_KEY);
    const west = byRegion('eu-west');
    const westBefore = await successOf(west);
    const t0 = Date.now();
    await Promise.all(byRegion('us-east').filter((e) => e.proc !== null).map(killEngine));
    const results = await load(c, { loops: 4, untilMs: t0 + 4_000, t0, maxTokens: 24, long: false });

    const late = results.filter((r) => r.at >= 2_000);
    const firstOk = results.filter((r) => r.ok).sort((x, y) => x.at + x.ms - (y.at + y.ms))[0];
    const ok = results.filter((r) => r.ok).length;
    console.log(`[region failover] ${results.length} requests after the kill; ${ok} ok, ${results.filter((r) => r.apiError).length} API errors, `
      + `${results.filter((r) => r.bad).length} bad; first success finished ${firstOk ? firstOk.at + firstOk.ms : '-'} ms after the kill; `
      + `${late.length} started ≥ 2 s after\n${describeOutcomes(results.filter((r) => !r.ok))}`);

    expect(results.filter((r) => r.bad).map((r) => `${r.kind}@${r.at}: ${r.bad}`)).toEqual([]);
    expect(late.length).toBeGreaterThanOrEqual(8);
    expect(late.filter((r) => !r.ok).map((r) => `${r.kind}@${r.at}ms ${r.status} ${r.errorType}: ${r.message}`)).toEqual([]);
    // Black-box: eu-west's own counters grew by every request that succeeded (us-east is dead).
    const grown = await eventually(async () => {
      const g = (await successOf(west)) - westBefore;
      return g >= ok ? { g } : null;
    }, 3_000).catch(async () => ({ g: (await successOf(west)) - westBefore }));
    expect(grown.g).toBe(ok);
  }, 30_000);

  it('answers a tenant pinned to the dead region at once with overloaded, in each wire format', async () => {
    const c = clientsFor(pinnedKey);
    const timed = async <T>(p: Promise<T>): Promise<{ err: any; ms: number }> => {
      const t = Date.now();
      const err = await p.then(() => null, (e) => e);
      return { err, ms: Date.now() - t };
    };
    const messages = [{ role: 'user' as const, content: 'where am I served?' }];
    const a1 = await timed(c.a.messages.create({ model: MODEL, max_tokens: 16, messages }));
    const a2 = await timed(c.a.messages.create({ model: MODEL, max_tokens: 16, messages, stream: true }).then(async (s) => { for await (const _ of s) { /* drain */ } }));
    const o1 = await timed(c.o.chat.completions.create({ model: MODEL, max_tokens: 16, messages }));
    const o2 = await timed(c.o.chat.completions.create({ model: MODEL, max_tokens: 16, messages, stream: true }).then(async (s) => { for await (const _ of s) { /* drain */ } }));
    console.log(`[pinned tenant, us-east down] anthropic ${a1.err?.status} in ${a1.ms} ms, anthropic stream ${a2.err?.status} in ${a2.ms} ms, `
      + `openai ${o1.err?.status} in ${o1.ms} ms, openai stream ${o2.err?.status} in ${o2.ms} ms\n`
      + `anthropic body: ${JSON.stringify(a1.err?.error)}\nopenai body: ${JSON.stringify(o1.err?.error)}`);

    for (const { err, ms } of [a1, a2]) {
      expect(err).toBeInstanceOf(Anthropic.APIError);
      expect(err).not.toBeInstanceOf(Anthropic.APIConnectionError);
      expect(err.status).toBe(529);
      expect(err.error.type).toBe('error');
      expect(err.error.error.type).toBe('overloaded_error');
      expect(err.error.error.message).toMatch(/us-east/);
      expect(ms).toBeLessThan(3_000);
    }
    // src/api/errors.ts: overloaded is 503 on the OpenAI wire, type server_error, code overloaded.
    for (const { err, ms } of [o1, o2]) {
      expect(err).toBeInstanceOf(OpenAI.APIError);
      expect(err).not.toBeInstanceOf(OpenAI.APIConnectionError);
      expect(err.status).toBe(503);
      expect(err.error).toMatchObject({ type: 'server_error', code: 'overloaded', param: null });
      expect(err.error.message).toMatch(/us-east/);
      expect(ms).toBeLessThan(3_000);
    }
  }, 30_000);

  it('takes restarted us-east replicas back into rotation within a few health intervals', async () => {
    const east = byRegion('us-east');
    const west = byRegion('eu-west');
    await Promise.all(east.map(startEngine));
    const upAt = Date.now();
    const pinned = clientsFor(pinnedKey);
    // The pinned tenant is served again once a probe has passed.
    let last: Outcome | null = null;
    await eventually(async () => (last = await call(pinned, 'anthropic', { maxTokens: 8, prompt: 'back?', t0: upAt })).ok, 5_000)
      .catch(() => {
        throw new Error(`the pinned tenant was still refused 5 s after us-east came back; last answer: ${describeOutcomes(last ? [last] : [])}\n`
          + `gateway log:\n${sy!.output().split('\n').filter((l) => l.startsWith('{')).slice(-12).join('\n')}`);
      });
    const readmittedMs = Date.now() - upAt;

    const N = 8;
    const eastBefore = await successOf(east);
    const pinnedResults = await Promise.all(Array.from({ length: N }, (_, i) => call(pinned, KINDS[i % 4], { maxTokens: 16, prompt: `pinned again ${i}`, t0: upAt })));
    expect(pinnedResults.filter((r) => !r.ok).map((r) => `${r.kind}: ${r.status} ${r.errorType} ${r.message ?? ''}${r.bad ?? ''}`)).toEqual([]);
    await eventually(async () => (await successOf(east)) - eastBefore >= N, 3_000).catch(() => undefined);
    const eastGrown = (await successOf(east)) - eastBefore;

    // Unpinned traffic goes home again too.
    const westBefore = await successOf(west);
    const eastBefore2 = await successOf(east);
    const unpinned = await Promise.all(Array.from({ length: N }, (_, i) => call(clientsFor(DEMO_KEY), KINDS[i % 4], { maxTokens: 16, prompt: `home again ${i}`, t0: upAt })));
    expect(unpinned.filter((r) => !r.ok).map((r) => `${r.kind}: ${r.status} ${r.errorType} ${r.message ?? ''}${r.bad ?? ''}`)).toEqual([]);
    await eventually(async () => (await successOf(east)) - eastBefore2 >= N, 3_000).catch(() => undefined);
    const eastGrown2 = (await successOf(east)) - eastBefore2;
    const westGrown = (await successOf(west)) - westBefore;
    console.log(`[re-admission] pinned tenant served ${readmittedMs} ms after the us-east engines answered /health; `
      + `us-east grew by ${eastGrown} for ${N} pinned requests; unpinned: us-east +${eastGrown2}, eu-west +${westGrown}`);

    expect(readmittedMs).toBeLessThan(5_000);
    expect(eastGrown).toBe(N);
    expect(eastGrown2).toBe(N);
    expect(westGrown).toBe(0);
  }, 30_000);
});
