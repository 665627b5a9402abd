import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, admin, startSwitchyard, type Running } from './harness.js';

// The simulator's two admission stories, small and live: the real `switchyard up` with one real
// simulated replica process, the official OpenAI SDK streaming, an open-loop schedule of arrivals.
// Each story runs twice on the very same schedule — the shipped `fair` discipline and plain FCFS —
// and the assertions are the claims of docs/admission.md, not copied numbers.

const MODEL = 'llama-3.1-8b';
/** vLLM's ignore_eos (the gateway passes it through): every answer runs to max_tokens */
const IGNORE_EOS = { ignore_eos: true } as {};
const OUTPUT_TOKENS = 100;
/** what interactive traffic is promised here (p99 time to first token) */
const SLO_MS = 1_500;

const running: Running[] = [];
afterAll(async () => {
  await Promise.all(running.map((r) => r.stop()));
});

function configFor(discipline: 'fair' | 'fcfs'): string {
  return `
demo:
  - { model: ${MODEL}, region: us-east, replicas: 1 }
tiers:
  default: { requestsPerMinute: 100000, inputTokensPerMinute: 1000000000, outputTokensPerMinute: 1000000000, priority: interactive }
admission:
  discipline: ${discipline}
  maxInflightPerReplica: 4
  prior: { serviceMs: 800, firstTokenMs: 100 }
`;
}

interface Arrival { atMs: number; who: string; key: string; priority: 'interactive' | 'standard' | 'batch' }
interface Result { who: string; priority: string; status: number; ttftMs: number }

/** Sends each arrival at its time, streaming; resolves with what each client saw. */
async function replay(url: string, schedule: readonly Arrival[]): Promise<Result[]> {
  const clients = new Map<string, OpenAI>();
  const client = (key: string) => {
    let c = clients.get(key);
    if (!c) clients.set(key, (c = new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 })));
    return c;
  };
  const t0 = performance.now();
  return Promise.all(schedule.map(async (a): Promise<Result> => {
    await new Promise((r) => setTimeout(r, Math.max(0, a.atMs - (performance.now() - t0))));
    const sent = performance.now();
    try {
      const stream = await client(a.key).chat.completions.create({
        model: MODEL, max_tokens: OUTPUT_TOKENS, stream: true, ...IGNORE_EOS,
        messages: [{ role: 'user', content: `${a.who} asks a question` }],
      }, { headers: { 'x-switchyard-priority': a.priority } });
      let ttftMs = NaN;
      for await (const chunk of stream) {
        if (Number.isNaN(ttftMs) && chunk.choices[0]?.delta?.content) ttftMs = performance.now() - sent;
      }
      return { who: a.who, priority: a.priority, status: 200, ttftMs };
    } catch (e) {
      return { who: a.who, priority: a.priority, status: (e as { status?: number }).status ?? -1, ttftMs: NaN };
    }
  }));
}

/** Evenly spaced arrivals at `perS` a second over [fromMs, toMs). */
function stream(fromMs: number, toMs: number, perS: number, who: string, key: string, priority: Arrival['priority']): Arrival[] {
  const out: Arrival[] = [];
  const gap = 1000 / perS;
  for (let t = fromMs + gap / 2; t < toMs; t += gap) out.push({ atMs: t, who, key, priority });
  return out;
}

function p99(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(0.99 * s.length) - 1)];
}

const of = (rs: Result[], f: (r: Result) => boolean) => rs.filter(f);
const shed = (rs: Result[]) => rs.filter((r) => r.status === 503).length;

function summary(label: string, rs: Result[], groups: Record<string, (r: Result) => boolean>): string {
  return `${label}: ` + Object.entries(groups).map(([g, f]) => {
    const x = of(rs, f);
    return `${g} ${x.length} sent, ${shed(x)} shed, p99 TTFT ${Math.round(p99(x.map((r) => r.ttftMs)))} ms`;
  }).join('; ');
}

async function gateway(discipline: 'fair' | 'fcfs'): Promise<Running> {
  const r = await startSwitchyard({ config: configFor(discipline) });
  running.push(r);
  return r;
}

describe('a 3× spike over a steady mixed load, live', () => {
  // one replica, 4 slots, ~0.8 s a request: about 5 requests a second. Steady load ~4/s; for 3 s, 3×.
  const schedule = (key: string): Arrival[] => [
    ...stream(0, 8_000, 2, 'interactive', key, 'interactive'),
    ...stream(0, 8_000, 1, 'standard', key, 'standard'),
    ...stream(0, 8_000, 1, 'batch', key, 'batch'),
    ...stream(2_000, 5_000, 3, 'standard', key, 'standard'),
    ...stream(2_000, 5_000, 10, 'batch', key, 'batch'),
  ].sort((a, b) => a.atMs - b.atMs);

  it('keeps interactive inside its SLO and unshed under fair admission, shedding only standard and batch; FCFS does not', async () => {
    const groups = { interactive: (r: Result) => r.priority === 'interactive', standard: (r: Result) => r.priority === 'standard', batch: (r: Result) => r.priority === 'batch' };
    const fair = await replay((await gateway('fair')).url, schedule(DEMO_KEY));
    const fcfs = await replay((await gateway('fcfs')).url, schedule(DEMO_KEY));
    console.log(`[spike, live]\n  ${summary('fair', fair, groups)}\n  ${summary('fcfs', fcfs, groups)}`);
    for (const rs of [fair, fcfs]) expect(rs.filter((r) => r.status !== 200 && r.status !== 503)).toEqual([]);
    const inter = of(fair, groups.interactive);
    expect(shed(inter)).toBe(0);
    expect(p99(inter.map((r) => r.ttftMs))).toBeLessThanOrEqual(SLO_MS);
    expect(shed(of(fair, (r) => r.priority !== 'interactive'))).toBeGreaterThan(0);
    // FCFS sheds nobody and makes everyone wait behind the spike, interactive too
    expect(shed(fcfs)).toBe(0);
    expect(p99(of(fcfs, groups.interactive).map((r) => r.ttftMs))).toBeGreaterThan(2 * p99(inter.map((r) => r.ttftMs)));
  }, 120_000);
});

describe('one tenant sending ten times its share, live', () => {
  it('keeps the others\' p99 and every one of their requests under fair admission; FCFS lets the abuser crowd them out', async () => {
    const results: Record<string, Result[]> = {};
    for (const discipline of ['fair', 'fcfs'] as const) {
      const gw = await gateway(discipline);
      const keys: string[] = [];
      for (const name of ['polite-a', 'polite-b', 'abuser']) {
        const t = await admin(gw.url, '/tenants', { method: 'POST', body: JSON.stringify({ name }) });
        expect(t.status).toBe(201);
        const k = await admin(gw.url, `/tenants/${t.body.id}/keys`, { method: 'POST', body: JSON.stringify({ name: 'k' }) });
        expect(k.status).toBe(201);
        keys.push(k.body.secret);
      }
      // all standard: fairness here is between tenants of one priority
      const schedule = [
        ...stream(0, 6_000, 1, 'polite-a', keys[0], 'standard'),
        ...stream(0, 6_000, 1, 'polite-b', keys[1], 'standard'),
        ...stream(0, 6_000, 10, 'abuser', keys[2], 'standard'),
      ].sort((a, b) => a.atMs - b.atMs);
      results[discipline] = await replay(gw.url, schedule);
    }
    const polite = (r: Result) => r.who !== 'abuser';
    const groups = { polite, abuser: (r: Result) => r.who === 'abuser' };
    console.log(`[abuse, live]\n  ${summary('fair', results.fair, groups)}\n  ${summary('fcfs', results.fcfs, groups)}`);
    const fairPolite = of(results.fair, polite);
    expect(shed(fairPolite)).toBe(0);
    expect(p99(fairPolite.map((r) => r.ttftMs))).toBeLessThanOrEqual(SLO_MS);
    // the abuser's excess is what waits (or, past its ramp, is shed)
    expect(p99(of(results.fair, groups.abuser).map((r) => r.ttftMs))).toBeGreaterThan(4 * p99(fairPolite.map((r) => r.ttftMs)));
    // Jain's index over the polite tenants' served shares: equal service
    const served = ['polite-a', 'polite-b'].map((w) => of(results.fair, (r) => r.who === w && r.status === 200).length / of(results.fair, (r) => r.who === w).length);
    const jain = served.reduce((a, b) => a + b, 0) ** 2 / (served.length * served.reduce((a, b) => a + b * b, 0));
    expect(jain).toBeGreaterThanOrEqual(0.95);
    expect(p99(of(results.fcfs, polite).map((r) => r.ttftMs))).toBeGreaterThan(2 * p99(fairPolite.map((r) => r.ttftMs)));
  }, 120_000);
});
