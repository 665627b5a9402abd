import { allTenants, withStore, type StoreFlags } from './store.js';
import { table, time } from './table.js';

export interface TenantsListOptions extends StoreFlags {
  json?: boolean;
}

/** `switchyard tenants list`: every tenant, oldest first. */
export async function tenantsList(opts: TenantsListOptions): Promise<void> {
  await withStore(opts, false, async (store) => {
    const tenants = await allTenants(store);
    if (opts.json) {
      const data = tenants.map((t) => ({ id: t.id, name: t.name, tier: t.tier, allowed_regions: t.allowedRegions, created_at: new Date(t.createdAt).toISOString() }));
      process.stdout.write(JSON.stringify({ data }, null, 2) + '\n');
      return;
    }
    process.stdout.write(table(
      ['id', 'name', 'tier', 'regions', 'created'],
      tenants.map((t) => [t.id, t.name, t.tier, t.allowedRegions?.join(',') ?? 'any', time(t.createdAt)]),
    ));
  });
}
