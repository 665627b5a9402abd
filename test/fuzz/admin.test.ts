import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invalidAdmin, validAdmin } from './arbitraries/admin.js';
import { holds } from './property.js';
import type { Rig } from './rig.js';
import { startSourceRig } from './setup.js';

// #11 §3: seeded property tests of the admin API (tenants, workspaces, keys, usage, audit, fleet
// replicas) through the real server on a real socket.

let rig: Rig;
beforeAll(async () => {
  rig = await startSourceRig();
});
afterAll(async () => {
  await rig?.close();
});

describe('#11 – the admin API under fuzz', () => {
  it('carries out every valid change and read with a 2xx, fleet replicas added and removed included', async () => {
    await holds(rig, validAdmin, 800);
  }, 60_000);

  it('refuses every bad body, id, query, credential and replica URL with a 4xx in Anthropic\'s envelope, leaving nothing half-added', async () => {
    await holds(rig, invalidAdmin, 1000);
  }, 60_000);
});

describe('after the fuzz', () => {
  it('the gateway is alive: /healthz answers 200 and nothing escaped to the process', async () => {
    expect(await rig.healthz()).toBe(200);
    expect(rig.escaped).toEqual([]);
  });
});
