import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidCountTokens, invalidMessages, surrogateMessages, validCountTokens, validMessages } from './arbitraries/anthropic.js';
import { holds } from './property.js';
import type { Rig } from './rig.js';
import { startSourceRig } from './setup.js';

// #11 §3: seeded property tests of the Anthropic Messages API and count_tokens, through the real
// server on a real socket, in front of a real simengine replica.

let rig: Rig;
beforeAll(async () => {
  rig = await startSourceRig();
});
afterAll(async () => {
  await rig?.close();
});

describe('#11 – the Messages API under fuzz', () => {
  it('answers every valid but unusual request with a 2xx, a stream ending in message_stop', async () => {
    await holds(rig, validMessages, 600);
  }, 60_000);

  it('refuses every broken request with a 4xx in Anthropic\'s envelope, never a 5xx, a hang or a crash', async () => {
    await holds(rig, invalidMessages, 1000);
  }, 60_000);

  it('answers or refuses text with lone surrogates, never a 5xx', async () => {
    await holds(rig, surrogateMessages, 100);
  }, 30_000);
});

describe('#11 – count_tokens under fuzz', () => {
  it('counts every valid but unusual request', async () => {
    await holds(rig, validCountTokens, 300);
  }, 60_000);

  it('refuses every broken request with a 4xx in Anthropic\'s envelope', async () => {
    await holds(rig, invalidCountTokens, 600);
  }, 60_000);
});

describe('after the fuzz', () => {
  it('the gateway is alive: /healthz answers 200 and nothing escaped to the process', async () => {
    expect(await rig.healthz()).toBe(200);
    expect(rig.escaped).toEqual([]);
  });
});
