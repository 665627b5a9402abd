import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { ADMIN_TOKEN, DEMO_KEY, startSwitchyard, type Running } from '../e2e/harness.js';
import { invalidAdmin } from './arbitraries/admin.js';
import { invalidCountTokens, invalidMessages, validCountTokens, validMessages } from './arbitraries/anthropic.js';
import { mangledRequests, oddPaths } from './arbitraries/http.js';
import { invalidChat, oddChat, validChat } from './arbitraries/openai.js';
import { holds } from './property.js';
import { connect, type FuzzClient } from './client.js';

// #11 §3 against the real `switchyard up` (built dist/): nothing a request does ends the process.
// In-process specs catch what escapes; here an escape would kill the gateway, and every case
// after it would find nobody listening.

let engine: EngineServer;
let sy: Running;
let client: FuzzClient;

beforeAll(async () => {
  engine = await startEngineServer({ model: 'llama-3.1-8b', timeScale: 500 });
  const limits = '{ requestsPerMinute: 1000000000, inputTokensPerMinute: 1000000000000, outputTokensPerMinute: 1000000000000 }';
  sy = await startSwitchyard({
    config: [
      'tiers:', `  default: ${limits}`, `  free: ${limits}`,
      'replicas:',
      `  - { model: llama-3.1-8b, url: "${engine.url}", region: us-east }`,
      `  - { model: llama-3.3-70b, url: "${engine.url}", region: us-east, servedModel: llama-3.1-8b }`,
    ].join('\n'),
  });
  client = await connect(sy.url, { key: DEMO_KEY, adminToken: ADMIN_TOKEN, replicaUrl: engine.url, replicaId: 'us-east/llama-3.3-70b/1' });
}, 90_000);

afterAll(async () => {
  await client?.close();
  if (sy) expect(await sy.stop()).toBe(0);
  await engine?.close();
});

describe('#11 – switchyard up under fuzz', () => {
  const families = { validMessages, invalidMessages, validCountTokens, invalidCountTokens, validChat, invalidChat, oddChat, invalidAdmin, mangledRequests, oddPaths };
  for (const [name, arb] of Object.entries(families)) {
    it(`${name}: every case gets the answer it must from the real process`, async () => {
      await holds(client, arb, 100);
    }, 60_000);
  }

  it('is still running and /healthz answers 200', async () => {
    expect(sy.proc.exitCode).toBeNull();
    expect(await client.healthz()).toBe(200);
  });
});
