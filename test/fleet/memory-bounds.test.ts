import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../../src/api/index.js';
import { configSchema } from '../../src/config/index.js';
import { FleetRegistry, PrefixIndex, SessionTable } from '../../src/fleet/index.js';
import { GatewayRouter } from '../../src/gateway/routing.js';
import { openStore } from '../../src/ledger/index.js';
import type { RouteRequest } from '../../src/routing/index.js';
import { createAuthenticator } from '../../src/tenancy/index.js';

// Issue 11: the session table was bounded in entries and keyed by raw `x-session-id` / `user`
// values, so one tenant could make the gateway hold ~1.6 GB. Every in-memory index keyed by what
// clients send is bounded in bytes and keys on a hash; each bound is held here with far more, and
// far larger, keys than it allows, and the process heap is measured around it.

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heap = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
/** n distinct flat strings of `size` characters (not slices or ropes of one shared string) */
const bigKeys = (n: number, size: number): string[] =>
  Array.from({ length: n }, (_, i) => Buffer.alloc(size, `${i.toString(36)}.`).toString('latin1'));

describe('#11 – in-memory indexes keyed by client data are bounded in bytes', () => {
  it('the session table holds at most maxBytes however long the session keys, and keeps none of their text', () => {
    const maxBytes = 1 << 20;
    const t = new SessionTable({ maxBytes });
    const h0 = heap();
    // 20 MB of distinct keys, 4 KiB each, against a 1 MiB table
    for (let round = 0; round < 5; round++) {
      for (const k of bigKeys(1_000, 4_096)) t.record(round + k, round & 7);
    }
    for (let i = 0; i < 50_000; i++) t.record(`s${i}`, i & 7);
    const grown = heap() - h0;
    expect(t.bytes).toBeLessThanOrEqual(maxBytes);
    expect(t.size).toBeLessThanOrEqual(maxBytes / 64);
    // the entries themselves, plus slack for the allocator; raw keys would be 20 MB
    expect(grown).toBeLessThan(maxBytes * 3);
    expect(t.slotOf('s49999')).toBe(49_999 & 7);
  });

  it('the gateway keys a session on a short digest of tenant and value: a 1 MB header costs a dozen characters', () => {
    const router = new GatewayRouter({ demo: [], ...configSchema.parse({}) }, new FleetRegistry());
    const ireq = { wire: 'openai', model: 'm', maxTokens: 8, userId: null, upstream: { model: 'm', messages: [{ role: 'user', content: 'hi' }] } } as unknown as InferenceRequest;
    const huge = 'x'.repeat(1 << 20);
    const a = router.ticket(ireq, null, huge, 'ten_a');
    const b = router.ticket(ireq, null, huge, 'ten_b');
    expect(a.sessionKey!.length).toBeLessThanOrEqual(12);
    // the same value from two tenants is two sessions
    expect(a.sessionKey).not.toBe(b.sessionKey);
    expect(router.ticket(ireq, null, huge, 'ten_a').sessionKey).toBe(a.sessionKey);
    // no header: `user` / `metadata.user_id`, digested the same way
    const viaUser = router.ticket({ ...ireq, userId: huge } as InferenceRequest, null, undefined, 'ten_a');
    expect(viaUser.sessionKey).toBe(a.sessionKey);
    expect(router.ticket(ireq, null, undefined, 'ten_a').sessionKey).toBeNull();
  });

  it('the prefix index holds at most capacityBlocks × 9/8 blocks per replica, whatever the prompts', () => {
    const cap = 1_000;
    const index = new PrefixIndex({ capacityBlocks: () => cap, maxBlocks: 128 });
    const h0 = heap();
    const prefix = new Float64Array(128);
    for (let r = 0; r < 1_500; r++) {
      for (let k = 0; k < 128; k++) prefix[k] = Math.random() * 2 ** 52;
      const req = { prefix, prefixStride: 1, prefixBlocks: 128 } as unknown as RouteRequest;
      index.record(r % 4, req);
    }
    const grown = heap() - h0;
    for (let s = 0; s < 4; s++) expect(index.heldBlocks(s)).toBeLessThanOrEqual(cap + cap / 8);
    const bound = 4 * (cap + cap / 8) * (160 + 4 + 64);
    expect(index.bytes).toBeLessThanOrEqual(bound);
    expect(grown).toBeLessThan(bound * 2);
  });

  it('the authenticator remembers at most maxNegative unknown keys, as hashes, however long they are', async () => {
    const store = await openStore('sqlite::memory:');
    const auth = createAuthenticator(store, { maxNegative: 1_000 });
    await auth.ready;
    const h0 = heap();
    for (let i = 0; i < 5_000; i++) await auth.authenticate('sk-sy-' + randomBytes(150).toString('hex').slice(0, 250));
    // past the longest key there is, a key is refused without a look-up and remembered nowhere
    const refused = (() => bigKeys(200, 64 * 1024).every((k) => auth.authenticate(k) === null))();
    expect(refused).toBe(true);
    const grown = heap() - h0;
    expect(auth.stats()).toMatchObject({ keys: 0, negative: 1_000, pending: 0 });
    expect(grown).toBeLessThan(2 << 20);
    auth.close();
    await store.close();
  });
});
