import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressedRequests, mangledRequests, oddPaths, wrongContentType } from './arbitraries/http.js';
import { holds } from './property.js';
import type { Rig } from './rig.js';
import { startSourceRig } from './setup.js';

// #11 §3: what goes wrong below the JSON — bad JSON text, the wrong content-type, duplicate keys,
// bytes that are not UTF-8, missing or odd headers, bad %-escapes in paths — on every inference path.

let rig: Rig;
beforeAll(async () => {
  rig = await startSourceRig();
});
afterAll(async () => {
  await rig?.close();
});

describe('#11 – requests broken below the JSON', () => {
  it('are refused with a 4xx in the envelope of the API the path belongs to', async () => {
    await holds(rig, mangledRequests, 1000);
  }, 60_000);

  it('a JSON body sent with another content-type is refused with a 4xx, not parsed', async () => {
    await holds(rig, wrongContentType, 100);
  }, 30_000);

  it('a valid body compressed with gzip, deflate or br is decoded and served', async () => {
    await holds(rig, compressedRequests, 150);
  }, 30_000);

  it('paths with bad %-escapes or odd ids are answered with a 4xx, never a crash', async () => {
    await holds(rig, oddPaths, 400);
  }, 30_000);
});

describe('after the fuzz', () => {
  it('the gateway is alive: /healthz answers 200 and nothing escaped to the process', async () => {
    expect(await rig.healthz()).toBe(200);
    expect(rig.escaped).toEqual([]);
  });
});
