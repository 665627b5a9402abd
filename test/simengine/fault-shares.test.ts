import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { faultsOf } from '../../src/cli/engine.js';
import { faultFlags, versionOf } from '../../src/cli/up.js';
import { loadConfig } from '../../src/config/index.js';
import { naturalLength, parseFaults, startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { planText } from '../../src/simengine/answer.js';

// Faults a candidate version can be given: a share of requests failed (seeded, so a test of a
// rollback is reproducible) and answers longer than usual (a version that rambles costs tokens).

let server: EngineServer;
beforeAll(async () => {
  server = await startEngineServer({ model: 'm', timeScale: 1000 });
});
afterAll(() => server.close());

const setFaults = (f: unknown) => fetch(`${server.url}/sim/faults`, { method: 'POST', body: JSON.stringify(f) });
const complete = (maxTokens: number, prompt = 'hello there') => fetch(`${server.url}/v1/completions`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'm', prompt, max_tokens: maxTokens }),
});

/** statuses of n small requests, in order */
async function statuses(n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const r = await complete(1);
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

describe('errorRate with mode error', () => {
  it('answers about that share of 400 requests with 500 in vLLM\'s format, the rest normally', async () => {
    expect((await setFaults({ mode: 'error', errorRate: 0.3, seed: 42 })).status).toBe(200);
    const got = await statuses(400);
    const failed = got.filter((s) => s === 500).length;
    // seeded: σ ≈ 9 requests at 30 % of 400; ±40 is over four of them
    expect(failed).toBeGreaterThan(80);
    expect(failed).toBeLessThan(160);
    expect(got.every((s) => s === 500 || s === 200)).toBe(true);
    const r = await (async () => { for (;;) { const x = await complete(1); if (x.status === 500) return x.json(); await x.arrayBuffer(); } })();
    expect(r).toEqual({ error: { message: expect.stringContaining('Simulated engine failure'), type: 'InternalServerError', param: null, code: 500 } });
  });

  it('fails the same requests again for the same seed (a new setting restarts the draws)', async () => {
    await setFaults({ mode: 'error', errorRate: 0.5, seed: 7 });
    const a = await statuses(60);
    await setFaults({ mode: 'error', errorRate: 0.5, seed: 7 });
    const b = await statuses(60);
    expect(b).toEqual(a);
    await setFaults({ mode: 'error', errorRate: 0.5, seed: 8 });
    expect(await statuses(60)).not.toEqual(a);
  });

  it('defaults to 1 (every request fails, as before) and 0 fails none', async () => {
    await setFaults({ mode: 'error' });
    expect(new Set(await statuses(20))).toEqual(new Set([500]));
    await setFaults({ mode: 'error', errorRate: 0 });
    expect(new Set(await statuses(20))).toEqual(new Set([200]));
    await setFaults({ mode: 'none' });
  });

  it.each([
    [{ mode: 'error', errorRate: 1.5 }, 'errorRate'],
    [{ mode: 'error', errorRate: '0.5' }, 'errorRate'],
    [{ mode: 'none', outputFactor: 0 }, 'outputFactor'],
    [{ mode: 'none', outputFactor: -2 }, 'outputFactor'],
    [{ mode: 'none', seed: 1.5 }, 'seed'],
    [{ mode: 'none', rate: 1 }, 'rate'],
  ])('refuses %j, naming %s', async (body, param) => {
    const r = await setFaults(body);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatchObject({ type: 'BadRequestError', param, code: 400 });
  });
});

describe('outputFactor', () => {
  it('makes answers that many times their natural length, in any mode', async () => {
    await setFaults({ mode: 'none' });
    const normal = (await (await complete(1000)).json()).usage.completion_tokens as number;
    await setFaults({ mode: 'none', outputFactor: 3 });
    const long = (await (await complete(1000)).json()).usage.completion_tokens as number;
    expect(long).toBe(Math.round(normal * 3));
    await setFaults({ mode: 'error', errorRate: 0, outputFactor: 2 });
    expect((await (await complete(1000)).json()).usage.completion_tokens).toBe(Math.round(normal * 2));
    await setFaults({ mode: 'none' });
  });

  it('is capped by max_tokens', async () => {
    await setFaults({ mode: 'none', outputFactor: 50 });
    const r = await (await complete(40)).json();
    expect(r.usage.completion_tokens).toBe(40);
    expect(r.choices[0].finish_reason).toBe('length');
    await setFaults({ mode: 'none' });
  });

  it('keeps the answer\'s beginning: a longer answer extends the usual one', () => {
    const base = { seed: 12345, maxTokens: 10_000, stop: [], ignoreEos: false };
    const short = planText(base);
    const long = planText({ ...base, outputFactor: 2.5 });
    expect(long.tokens).toBe(Math.round(naturalLength(12345) * 2.5));
    expect(long.text.startsWith(short.text.slice(0, -1))).toBe(true);
    expect(long.finishReason).toBe('stop');
  });
});

describe('faults at start', () => {
  it('from `switchyard engine` flags: an error rate, a slowdown, an output factor', () => {
    expect(faultsOf({})).toBeUndefined();
    expect(faultsOf({ faultErrorRate: 0.5 })).toEqual({ mode: 'error', errorRate: 0.5 });
    expect(faultsOf({ faultSlow: 3 })).toEqual({ mode: 'slow', slowFactor: 3 });
    expect(faultsOf({ faultOutputFactor: 2 })).toEqual({ mode: 'none', outputFactor: 2 });
    expect(faultsOf({ faultErrorRate: 0.1, faultSlow: 2 })).toEqual({ mode: 'error', errorRate: 0.1, slowFactor: 2 });
    // what the flags build, the fault endpoint accepts as it is
    expect(parseFaults(faultsOf({ faultErrorRate: 0.1, faultSlow: 2, faultOutputFactor: 4 }))).toEqual({ ok: true, value: { mode: 'error', errorRate: 0.1, slowFactor: 2, outputFactor: 4 } });
  });

  it('an engine started with an error rate fails about that share', async () => {
    const s = await startEngineServer({ model: 'm', timeScale: 1000, faults: faultsOf({ faultErrorRate: 0.5 }) });
    try {
      let failed = 0;
      for (let i = 0; i < 100; i++) {
        const r = await fetch(`${s.url}/v1/completions`, { method: 'POST', body: '{"prompt":"x","max_tokens":1}' });
        await r.arrayBuffer();
        if (r.status === 500) failed++;
      }
      expect(failed).toBeGreaterThan(30);
      expect(failed).toBeLessThan(70);
    } finally {
      await s.close();
    }
  });

  it('from a demo pool\'s `faults`, as the flags `switchyard up` passes to each engine', () => {
    expect(faultFlags(undefined)).toEqual([]);
    expect(faultFlags({ errorRate: 0.5, slowFactor: 2, outputFactor: 3 })).toEqual(['--fault-error-rate', '0.5', '--fault-slow', '2', '--fault-output-factor', '3']);
  });

  it('`switchyard up` gives each replica spec its version; only the stable version\'s take traffic, and one with a warm-up starts cold', () => {
    const config = loadConfig(undefined);
    config.models[0] = { ...config.models[0], versions: [{ id: 'v1' }, { id: 'v2', warmup: { requests: 2, prompt: 'hi', maxTokens: 8 } }], stable: 'v1' };
    const m = config.models[0].id;
    expect(versionOf(config, m, 'v1')).toEqual({ version: 'v1', versionWeight: 1, warm: true });
    expect(versionOf(config, m, 'v2')).toEqual({ version: 'v2', versionWeight: 0, warm: false });
  });
});
