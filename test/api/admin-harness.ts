import { createAdminApi, type AdminApi } from '../../src/api/admin/api.js';
import { openStore, type Store } from '../../src/ledger/index.js';
import { createAuthenticator, type Authenticator } from '../../src/tenancy/index.js';

// A real SQLite store (in memory), a real authenticator, and the admin API called directly.

export const ADMIN = 'admin-token-for-tests';

export interface AdminRig {
  store: Store;
  auth: Authenticator;
  api: AdminApi;
  errors: Error[];
  call(method: string, path: string, o?: { as?: string | null; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; json: any; raw: string; headers?: Record<string, string> }>;
  close(): Promise<void>;
}

export async function adminRig(opts: { adminToken?: string | null; now?: () => number; tiers?: readonly string[]; regions?: readonly string[] } = {}): Promise<AdminRig> {
  const now = opts.now;
  const store = await openStore('sqlite::memory:', now === undefined ? {} : { clock: { nowMs: now, monoMs: now } });
  const auth = createAuthenticator(store);
  await auth.ready;
  const errors: Error[] = [];
  const api = createAdminApi({
    store, authenticator: auth, adminToken: opts.adminToken === undefined ? ADMIN : opts.adminToken, tiers: opts.tiers, regions: opts.regions, onError: (e) => errors.push(e),
  });
  return {
    store, auth, api, errors,
    /** `as`: the admin token by default, a tenant key, or null for no credentials. */
    async call(method, path, o = {}) {
      const as = o.as === undefined ? ADMIN : o.as;
      const headers: Record<string, string> = { ...(as === null ? {} : { authorization: `Bearer ${as}` }), ...o.headers };
      const u = new URL(path, 'http://x');
      const body = o.body === undefined ? Buffer.alloc(0) : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
      const r = await api.handle(method, u.pathname, u.searchParams, headers, body);
      return { status: r.status, json: JSON.parse(r.body), raw: r.body, headers: r.headers };
    },
    async close() {
      auth.close();
      await store.close();
    },
  };
}
