import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';

let server: EngineServer;

beforeAll(async () => {
  server = await startEngineServer({ model: 'm', profile: 'llama-3.1-8b-h100', timeScale: 2 });
});
afterAll(() => server.close());

describe('real-time pacing', () => {
  it('takes as long as the modelled steps (divided by timeScale): never less, not much more', async () => {
    const busy0 = server.stats().busyS;
    const t0 = performance.now();
    const res = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'pace' }], max_tokens: 80, ignore_eos: true }),
    });
    await res.json();
    const wallS = (performance.now() - t0) / 1000;
    const modelS = (server.stats().busyS - busy0) / 2;
    expect(modelS).toBeGreaterThan(0.25); // 80 steps of ~7 ms, halved
    expect(wallS).toBeGreaterThanOrEqual(modelS * 0.98);
    expect(wallS).toBeLessThan(modelS * 2 + 0.1); // generous: test files share two cores
  });
});
