import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidChat, oddChat, validChat } from './arbitraries/openai.js';
import { holds } from './property.js';
import type { Rig } from './rig.js';
import { startSourceRig } from './setup.js';

// #11 §3: seeded property tests of OpenAI Chat Completions through the real server on a real
// socket, in front of a real simengine replica.

let rig: Rig;
beforeAll(async () => {
  rig = await startSourceRig();
});
afterAll(async () => {
  await rig?.close();
});

describe('#11 – Chat Completions under fuzz', () => {
  it('answers every valid but unusual request with a 2xx (refusal, input_audio, file, image_url parts; tool round trips without a content key), a stream ending in [DONE]', async () => {
    await holds(rig, validChat, 600);
  }, 60_000);

  it('refuses every broken request with a 4xx in OpenAI\'s envelope (message, type, param, code), never a 5xx, a hang or a crash', async () => {
    await holds(rig, invalidChat, 1000);
  }, 60_000);

  it('answers or refuses lone surrogates and "tools": null, never a 5xx', async () => {
    await holds(rig, oddChat, 150);
  }, 30_000);
});

describe('after the fuzz', () => {
  it('the gateway is alive: /healthz answers 200 and nothing escaped to the process', async () => {
    expect(await rig.healthz()).toBe(200);
    expect(rig.escaped).toEqual([]);
  });
});
