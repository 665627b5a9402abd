import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';
import { openStore } from '../../../src/tenancy/index.js';
import { wall } from '../../../src/time/index.js';
import { seedTenants, seedUsage } from '../../helpers/seed-ledger.js';

for (const batch of [5_000, 50_000]) {
  it(`batch ${batch}`, async () => {
    const dir = mkdtempSync('/dev/shm/sy-prof-');
    const store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    const tenants = await seedTenants(store, { count: 60 });
    const until = wall.clock.nowMs();
    const fake = { insertUsage: async () => {} } as any;
    let t0 = wall.clock.monoMs();
    await seedUsage(fake, { rows: 300_000, tenants, models: ['a', 'b'], since: until - 30 * 86_400_000, until, batch });
    const gen = wall.clock.monoMs() - t0;
    t0 = wall.clock.monoMs();
    await seedUsage(store, { rows: 300_000, tenants, models: ['a', 'b'], since: until - 30 * 86_400_000, until, batch });
    console.log(`batch ${batch}: gen ${gen.toFixed(0)} ms, total ${(wall.clock.monoMs() - t0).toFixed(0)} ms for 300k`);
    await store.close();
  }, 120_000);
}
