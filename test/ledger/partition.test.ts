import { randomBytes } from 'node:crypto';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret, openStore, type Store } from '../../src/ledger/index.js';
import { AUTH_UNAVAILABLE, createAuthenticator } from '../../src/tenancy/index.js';
import { blackholeProxy, type Blackhole } from './blackhole.js';
import { usage } from './store.spec.js';

// Issue 11: with PostgreSQL partitioned (silent, not refusing), every store call must come back
// within its deadline, and an unknown key must be answered "cannot check now", quickly. The real
// PostgreSQL sits behind a TCP proxy that can swallow everything; if PostgreSQL is down these fail.

const PG = new URL(process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test');
const schema = `sy_part_${process.pid}_${randomBytes(3).toString('hex')}`;
const TIMEOUT = 300;

let proxy: Blackhole;
let store: Store;

beforeAll(async () => {
  proxy = await blackholeProxy(PG.hostname, Number(PG.port || 5432));
  const via = new URL(PG.toString());
  via.port = String(proxy.port);
  store = await openStore(via.toString(), { schema, timeoutMs: TIMEOUT, maxConnections: 4 });
});

afterAll(async () => {
  await proxy.close();
  const c = new pg.Client({ connectionString: PG.toString() });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

const within = async <T>(p: Promise<T>): Promise<{ ms: number; err: unknown }> => {
  const t0 = performance.now();
  let err: unknown = null;
  await p.catch((e: unknown) => (err = e));
  return { ms: performance.now() - t0, err };
};

describe('#11 – the PostgreSQL store under a partition', () => {
  it('answers every call within its deadline while partitioned, and again after healing', async () => {
    await store.insertUsage([usage({ tenantId: 'ten_part' })]); // a warm pooled connection exists
    proxy.partition();
    // on a pooled connection gone silent (the client-side deadline) and on new ones (the connect deadline)
    const calls = await Promise.all([
      within(store.findKeyByHash(hashSecret('sk-sy-nobody'))),
      within(store.insertUsage([usage({ tenantId: 'ten_part' })])),
      within(store.listTenants()),
      within(store.usageSummary({ tenantId: 'ten_part' })),
      within(store.spendByWorkspace(0)),
      within(store.getRollout('rol_part')),
      within(store.listRollouts({ active: true })),
      within(store.acquireLease('rollouts', 'gw-part', 10_000)),
      within(store.stableVersion('llama-3.1-8b')),
    ]);
    for (const c of calls) {
      expect(c.err).toBeInstanceOf(Error);
      expect(c.ms).toBeLessThan(TIMEOUT * 2 + 1_500);
    }
    proxy.heal();
    // connections opened during the partition are dead; the pool replaces them
    await store.insertUsage([usage({ tenantId: 'ten_part' })]);
    expect((await store.usageSummary({ tenantId: 'ten_part' })).requests).toBeGreaterThanOrEqual(2);
  });

  it('an unknown key during the partition is "cannot check now", and after the first look-up times out the rest are answered at once', async () => {
    const errors: string[] = [];
    const auth = createAuthenticator(store, { refreshMs: 600_000, onError: (e) => errors.push(e.message) });
    await auth.ready;
    proxy.partition();
    try {
      const t0 = performance.now();
      const first = await auth.authenticate('sk-sy-unknown-key-during-partition-1');
      expect(first).toBe(AUTH_UNAVAILABLE);
      expect(performance.now() - t0).toBeLessThan(TIMEOUT * 2 + 1_500);
      // the store is known to be failing: no wait while one look-up probes it
      const r = auth.authenticate('sk-sy-unknown-key-during-partition-2');
      const pending = auth.authenticate('sk-sy-unknown-key-during-partition-3');
      expect(pending).toBe(AUTH_UNAVAILABLE);
      expect(await r).toBe(AUTH_UNAVAILABLE);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/unknown keys get 503 until it answers/);
    } finally {
      proxy.heal();
    }
    // healed: an unknown key is unknown again (401), not "unavailable"
    expect(await auth.authenticate('sk-sy-unknown-key-after-healing')).toBe(null);
    auth.close();
  });

  it('close() returns within its deadline while partitioned', async () => {
    const via = new URL(PG.toString());
    via.port = String(proxy.port);
    const s = await openStore(via.toString(), { schema, timeoutMs: TIMEOUT });
    await s.listTenants();
    proxy.partition();
    const { ms } = await within(s.close());
    proxy.heal();
    expect(ms).toBeLessThan(TIMEOUT + 1_000);
    await store.close();
  });
});

describe('#11 – the SQLite file', () => {
  it('is created 0600 (and its -wal and -shm files) in a 0700 directory', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'sy-perm-')), 'data');
    const file = join(dir, 'switchyard.db');
    const s = await openStore(`sqlite:${file}`);
    await s.insertUsage([usage()]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of [file, file + '-wal', file + '-shm']) expect(statSync(f).mode & 0o777, f).toBe(0o600);
    await s.close();
  });
});
