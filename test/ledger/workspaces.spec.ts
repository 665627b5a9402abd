import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';

// Workspaces of many tenants in one query (the dashboard's spend page), on every backend.

export function workspacesOfSpec(name: string, makeHarness: () => { open(clock: Clock): Promise<Store>; cleanup(): Promise<void> }): void {
  describe(`the ${name} store's workspaces of many tenants`, () => {
    let h: ReturnType<typeof makeHarness>;
    let store: Store;
    let t = 1_770_000_000_000;
    const clock: Clock = { nowMs: () => t++, monoMs: () => 0 };
    beforeAll(async () => {
      h = makeHarness();
      store = await h.open(clock);
    });
    afterAll(async () => {
      await store?.close();
      await h?.cleanup();
    });

    it('answers every workspace of the tenants asked, ordered by tenant then id, and no other', async () => {
      const made = [];
      for (const n of ['a', 'b', 'c']) {
        const r = await store.createTenant({ name: `many ${n}` });
        if (!r.ok) throw new Error(r.error.message);
        made.push(r.value);
      }
      const extra = await store.createWorkspace(made[0].tenant.id, 'second');
      if (!extra.ok) throw new Error(extra.error.message);
      const got = await store.listWorkspacesOf([made[2].tenant.id, made[0].tenant.id, 'ten_missing']);
      expect(got.map((w) => [w.tenantId, w.name])).toEqual([
        [made[0].tenant.id, 'default'], [made[0].tenant.id, 'second'], [made[2].tenant.id, 'default'],
      ]);
      expect(await store.listWorkspacesOf([])).toEqual([]);
      await expect(store.listWorkspacesOf(Array.from({ length: 10_001 }, (_, i) => `ten_${i}`))).rejects.toThrow(/at most 10000 tenant ids/);
    });
  });
}
