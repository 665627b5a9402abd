import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { grantOf, openStore, type KeyEntitlement, type Store } from '../../src/ledger/index.js';
import { AUTH_UNAVAILABLE, createAuthenticator, type Authenticator } from '../../src/tenancy/index.js';
import { ManualTime } from '../../src/time/index.js';

/** The real store, with its look-ups counted and, when asked, held until released or failed. */
function watched(store: Store) {
  const w = {
    lookups: 0,
    hold: null as null | Promise<void>,
    failLookups: false,
  };
  const proxy = new Proxy(store, {
    get(target, prop, recv) {
      if (prop === 'findKeyByHash') {
        return async (hash: string): Promise<KeyEntitlement | null> => {
          w.lookups++;
          const answer = target.findKeyByHash(hash);
          if (w.hold) await w.hold;
          if (w.failLookups) throw new Error('store down');
          return answer;
        };
      }
      const v = Reflect.get(target, prop, recv);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return { store: proxy, w };
}

function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('the authenticator', () => {
  let base: Store;
  let store: Store;
  let w: ReturnType<typeof watched>['w'];
  let auth: Authenticator | undefined;
  let tenantId: string;
  let workspaceId: string;
  /** the negative cache's clock and the refresh interval's timers, moved by hand */
  let time = new ManualTime();

  async function newKey(): Promise<{ secret: string; keyId: string; grant: KeyEntitlement }> {
    const r = await base.createKey({ tenantId, name: 'k' });
    if (!r.ok) throw new Error(r.error.message);
    return { secret: r.value.secret, keyId: r.value.key.id, grant: { key: r.value.key, tier: 'gold', allowedRegions: ['eu-west'], priority: null, spendLimitUsd: null } };
  }

  beforeEach(async () => {
    base = await openStore('sqlite::memory:');
    ({ store, w } = watched(base));
    const t = await base.createTenant({ name: 'acme', tier: 'gold', allowedRegions: ['eu-west'] });
    if (!t.ok) throw new Error(t.error.message);
    tenantId = t.value.tenant.id;
    workspaceId = t.value.workspace.id;
    time = new ManualTime(1_000_000);
  });
  afterEach(async () => {
    auth?.close();
    auth = undefined;
    await base.close();
  });

  it('answers a key loaded at start synchronously, with its tenant, workspace, tier and regions', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const ctx = auth.authenticate(k.secret);
    expect(ctx).not.toBeInstanceOf(Promise);
    expect(ctx).toEqual({ keyId: k.keyId, tenantId, workspaceId, tier: 'gold', allowedRegions: ['eu-west'], priority: null, spendLimitUsd: null });
    expect(auth.authenticate(k.secret)).toBe(ctx); // the same object: nothing allocated per request
    expect(w.lookups).toBe(0);
  });

  it('finds a key created elsewhere after start with one look-up, then from memory', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const k = await newKey();
    await expect(auth.authenticate(k.secret)).resolves.toMatchObject({ keyId: k.keyId });
    expect(auth.authenticate(k.secret)).toMatchObject({ keyId: k.keyId });
    expect(w.lookups).toBe(1);
  });

  it('shares one look-up between concurrent requests with the same unknown key', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const k = await newKey();
    const [a, b, c] = await Promise.all([auth.authenticate(k.secret), auth.authenticate(k.secret), auth.authenticate(k.secret)]);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(w.lookups).toBe(1);
  });

  it('remembers an unknown key as unknown for the negative TTL, then asks again', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time, negativeTtlMs: 5_000 });
    await auth.ready;
    await expect(auth.authenticate('sk-sy-not-a-real-key')).resolves.toBeNull();
    expect(auth.authenticate('sk-sy-not-a-real-key')).toBeNull(); // synchronous: cached
    expect(w.lookups).toBe(1);
    time.advance(5_001);
    await expect(auth.authenticate('sk-sy-not-a-real-key')).resolves.toBeNull();
    expect(w.lookups).toBe(2);
  });

  it('keeps memory bounded when random keys are sprayed at it', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time, maxNegative: 100 });
    await auth.ready;
    for (let i = 0; i < 1_000; i++) await auth.authenticate('sk-sy-' + randomBytes(30).toString('base64url'));
    expect(auth.stats()).toEqual({ keys: 0, negative: 100, pending: 0, unavailable: 0 });
  });

  it('refuses unknown keys at once when too many look-ups are already waiting', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time, maxPendingLookups: 2 });
    await auth.ready;
    const g = gate();
    w.hold = g.p;
    const a = auth.authenticate('sk-sy-unknown-1');
    const b = auth.authenticate('sk-sy-unknown-2');
    expect(auth.authenticate('sk-sy-unknown-3')).toBeNull();
    g.open();
    await Promise.all([a, b]);
    expect(w.lookups).toBe(2);
  });

  it('fails a key revoked in this process at once', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    expect(auth.authenticate(k.secret)).toMatchObject({ keyId: k.keyId });
    await base.revokeKey(k.keyId);
    auth.invalidate(k.keyId);
    await expect(Promise.resolve(auth.authenticate(k.secret))).resolves.toBeNull();
    expect(auth.authenticate(k.secret)).toBeNull();
  });

  it('does not trust a look-up that was in flight when the key was revoked', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const k = await newKey();
    const g = gate();
    w.hold = g.p;
    const pending = auth.authenticate(k.secret); // reads the key as active, then waits
    await Promise.resolve();
    await base.revokeKey(k.keyId);
    auth.invalidate(k.keyId);
    w.hold = null;
    g.open();
    await expect(pending).resolves.toBeNull();
    expect(auth.authenticate(k.secret)).toBeNull();
  });

  it('picks up a revocation made by another process on the next refresh', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    await base.revokeKey(k.keyId); // another gateway instance did this
    expect(auth.authenticate(k.secret)).toMatchObject({ keyId: k.keyId });
    await auth.refresh();
    await expect(Promise.resolve(auth.authenticate(k.secret))).resolves.toBeNull();
  });

  it('refreshes on its own interval', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time, refreshMs: 20 });
    await auth.ready;
    await base.revokeKey(k.keyId);
    time.advance(19);
    await new Promise((r) => setImmediate(r));
    expect(auth.stats().keys).toBe(1); // not yet due
    time.advance(1);
    const end = Date.now() + 2_000;
    while (auth.stats().keys !== 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
    expect(auth.stats().keys).toBe(0);
  });

  it('makes a key created in this process usable without a look-up', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const k = await newKey();
    auth.remember(k.grant);
    expect(auth.authenticate(k.secret)).toMatchObject({ keyId: k.keyId, tier: 'gold' });
    expect(w.lookups).toBe(0);
  });

  it('carries the key\'s priority and its workspace\'s spend limit', async () => {
    await base.updateWorkspace(workspaceId, { spendLimitUsd: 500 });
    const r = await base.createKey({ tenantId, name: 'batchy', priority: 'batch' });
    if (!r.ok) throw new Error(r.error.message);
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    expect(auth.authenticate(r.value.secret)).toMatchObject({ priority: 'batch', spendLimitUsd: 500 });
  });

  it('answers with a grant changed in this process at once, without a look-up', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    expect(auth.authenticate(k.secret)).toMatchObject({ priority: null, spendLimitUsd: null });
    const key = await base.updateKey(k.keyId, { priority: 'interactive' });
    const ws = await base.updateWorkspace(workspaceId, { spendLimitUsd: 25 });
    const t = await base.getTenant(tenantId);
    if (!key.ok || !ws.ok || !t) throw new Error('setup');
    auth.invalidate(k.keyId);
    auth.remember(grantOf(t, ws.value, key.value));
    expect(auth.authenticate(k.secret)).toMatchObject({ keyId: k.keyId, priority: 'interactive', spendLimitUsd: 25 });
    expect(w.lookups).toBe(0);
  });

  it('keeps a grant remembered while a reload that began before the change was running', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    const g = gate();
    const slow = new Proxy(base, {
      get: (t, p, r) => (p === 'activeKeys' ? async () => { const all = await t.activeKeys(); await g.p; return all; } : Reflect.get(t, p, r)),
    });
    const a2 = createAuthenticator(slow, { clock: time, timers: time });
    try {
      // a2's first load has read the old grant and is held; the admin change lands meanwhile
      await new Promise((r) => setTimeout(r, 10));
      const key = await base.updateKey(k.keyId, { priority: 'batch' });
      const ws = await base.getWorkspace(workspaceId);
      const t = await base.getTenant(tenantId);
      if (!key.ok || !ws || !t) throw new Error('setup');
      a2.invalidate(k.keyId);
      a2.remember(grantOf(t, ws, key.value));
      g.open();
      await a2.ready;
      expect(a2.authenticate(k.secret)).toMatchObject({ priority: 'batch' });
    } finally {
      a2.close();
    }
  });

  it('picks up a priority or limit changed by another process on the next refresh', async () => {
    const k = await newKey();
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    await base.updateKey(k.keyId, { priority: 'batch' }); // another gateway instance did these
    await base.updateWorkspace(workspaceId, { spendLimitUsd: 10 });
    expect(auth.authenticate(k.secret)).toMatchObject({ priority: null, spendLimitUsd: null });
    await auth.refresh();
    expect(auth.authenticate(k.secret)).toMatchObject({ priority: 'batch', spendLimitUsd: 10 });
  });

  it('#11 – answers "cannot check now" (not "unknown key") without caching when the store cannot answer', async () => {
    const errors: Error[] = [];
    auth = createAuthenticator(store, { clock: time, timers: time, onError: (e) => errors.push(e) });
    await auth.ready;
    const k = await newKey();
    w.failLookups = true;
    await expect(auth.authenticate(k.secret)).resolves.toBe(AUTH_UNAVAILABLE);
    expect(errors).toHaveLength(1);
    w.failLookups = false;
    await expect(auth.authenticate(k.secret)).resolves.toMatchObject({ keyId: k.keyId });
  });

  it('rejects empty and absurdly long secrets without a look-up', async () => {
    auth = createAuthenticator(store, { clock: time, timers: time });
    await auth.ready;
    expect(auth.authenticate('')).toBeNull();
    expect(auth.authenticate('x'.repeat(10_000))).toBeNull();
    expect(w.lookups).toBe(0);
  });

  it('reports a failed first load through ready, and still authenticates by look-up', async () => {
    const k = await newKey();
    const broken = new Proxy(store, {
      get: (t, p, r) => (p === 'activeKeys' ? async () => { throw new Error('no table'); } : Reflect.get(t, p, r)),
    });
    auth = createAuthenticator(broken, { clock: time, timers: time });
    await expect(auth.ready).rejects.toThrow('no table');
    await expect(auth.authenticate(k.secret)).resolves.toMatchObject({ keyId: k.keyId });
  });
});
