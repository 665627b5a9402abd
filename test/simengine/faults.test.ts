import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';

let server: EngineServer;
let client: OpenAI;

beforeAll(async () => {
  server = await startEngineServer({ model: 'm', profile: 'llama-3.1-8b-h100' });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});
afterAll(() => server.close());

const setFaults = (f: unknown) => fetch(`${server.url}/sim/faults`, { method: 'POST', body: JSON.stringify(f) });
const ask = (maxTokens: number) => client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], max_tokens: maxTokens, ignore_eos: true } as never);

describe('fault injection (POST /sim/faults)', () => {
  it('hang: accepts requests and never answers, while /health stays up', async () => {
    expect((await setFaults({ mode: 'hang' })).status).toBe(200);
    const err = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }), signal: AbortSignal.timeout(300),
    }).catch((e: unknown) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    await setFaults({ mode: 'none' });
    expect((await ask(2)).choices[0].finish_reason).toBe('length');
  });

  it('error: answers 500 in vLLM\'s format, which the SDK raises as InternalServerError', async () => {
    await setFaults({ mode: 'error' });
    const err = await ask(2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.InternalServerError>).type).toBe('InternalServerError');
    await setFaults({ mode: 'none' });
  });

  it('slow: multiplies step time by the factor', async () => {
    const t0 = performance.now();
    await ask(20);
    const normal = performance.now() - t0;
    await setFaults({ mode: 'slow', slowFactor: 5 });
    const t1 = performance.now();
    await ask(20);
    const slow = performance.now() - t1;
    await setFaults({ mode: 'none' });
    expect(slow).toBeGreaterThan(normal * 3);
  });

  it('rejects an unknown mode, and reports the current one', async () => {
    expect((await setFaults({ mode: 'explode' })).status).toBe(400);
    expect(await (await fetch(`${server.url}/sim/faults`)).json()).toEqual({ mode: 'none', slowFactor: 1, errorRate: 1, outputFactor: 1, seed: 1 });
  });

  it('can start with a fault configured', async () => {
    const s = await startEngineServer({ model: 'm', faults: { mode: 'error' } });
    try {
      expect((await fetch(`${s.url}/v1/completions`, { method: 'POST', body: '{"prompt":"x"}' })).status).toBe(500);
    } finally {
      await s.close();
    }
  });
});
