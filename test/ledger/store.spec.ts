import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store, UsageRecord } from '../../src/ledger/index.js';
import type { Clock } from '../../src/time/index.js';
import { auditSpec } from './audit.spec.js';

// One specification for every Store backend. `open` may be called several times and must reach
// the same database each time (that is how a restart is tested); `cleanup` removes it.

export interface StoreHarness {
  /** the store stamps rows with `clock.nowMs()` */
  open(clock: Clock): Promise<Store>;
  cleanup(): Promise<void>;
  /** From now on the database refuses audit records whose actor is `saboteur` (a trigger). */
  sabotageAudit(): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let seq = 0;
export function usage(over: Partial<UsageRecord> = {}): UsageRecord {
  seq++;
  return {
    requestId: `req_${String(seq).padStart(8, '0')}`, startedAt: 1_750_000_000_000, tenantId: 'ten_x', workspaceId: 'wrk_x', keyId: 'key_x',
    tier: 'default', model: 'llama-3.1-8b', replica: 'us-east/llama-3.1-8b/0', region: 'us-east', wire: 'anthropic', stream: false, status: 200,
    outcome: 'ok', inputTokens: 100, cachedInputTokens: 20, outputTokens: 10, ttftMs: 12.5, latencyMs: 80.25, costUsd: 0.0001,
    ...over,
  };
}

export function storeSpec(name: string, makeHarness: () => StoreHarness): void {
  describe(`the ${name} store`, () => {
    let h: StoreHarness;
    let store: Store;
    let t = 1_750_000_000_000;
    const now = () => t;
    const clock: Clock = { nowMs: now, monoMs: now };

    beforeAll(async () => {
      h = makeHarness();
      store = await h.open(clock);
    });
    afterAll(async () => {
      await store?.close();
      await h?.cleanup();
    });

    describe('tenants and workspaces', () => {
      it('creates a tenant with defaults and a default workspace', async () => {
        const r = await store.createTenant({ name: 'Acme' });
        expect(r.ok).toBe(true);
        if (!r.ok) return;
        expect(r.value.tenant).toEqual({ id: expect.stringMatching(/^ten_[0-9A-Za-z]{20}$/), name: 'Acme', tier: 'default', allowedRegions: null, createdAt: t });
        expect(r.value.workspace).toMatchObject({ id: expect.stringMatching(/^wrk_/), tenantId: r.value.tenant.id, name: 'default' });
        expect(await store.getTenant(r.value.tenant.id)).toEqual(r.value.tenant);
        expect(await store.listWorkspaces(r.value.tenant.id)).toEqual([r.value.workspace]);
      });

      it('keeps a tier and a region list as given', async () => {
        const r = await store.createTenant({ name: 'EU only', tier: 'gold', allowedRegions: ['eu-west', 'eu-central'] });
        if (!r.ok) throw new Error(r.error.message);
        expect(await store.getTenant(r.value.tenant.id)).toMatchObject({ tier: 'gold', allowedRegions: ['eu-west', 'eu-central'] });
      });

      it('answers null for a tenant that does not exist', async () => {
        expect(await store.getTenant('ten_missing')).toBeNull();
        expect(await store.getWorkspace('wrk_missing')).toBeNull();
      });

      it('refuses a second tenant with a fixed id that is taken', async () => {
        expect((await store.createTenant({ name: 'a', id: 'ten_fixed', defaultWorkspaceId: 'wrk_fixed' })).ok).toBe(true);
        const again = await store.createTenant({ name: 'b', id: 'ten_fixed', defaultWorkspaceId: 'wrk_fixed2' });
        expect(again).toMatchObject({ ok: false, error: { kind: 'conflict' } });
        expect(await store.getTenant('ten_fixed')).toMatchObject({ name: 'a' });
        expect(await store.getWorkspace('wrk_fixed2')).toBeNull(); // the pair is all or nothing
      });

      it('finds tenants by exact name, oldest first', async () => {
        t += 1;
        const a = await store.createTenant({ name: 'Twin' });
        t += 1;
        const b = await store.createTenant({ name: 'Twin' });
        if (!a.ok || !b.ok) throw new Error('createTenant failed');
        expect((await store.findTenantsByName('Twin')).map((x) => x.id)).toEqual([a.value.tenant.id, b.value.tenant.id]);
        expect(await store.findTenantsByName('twin')).toEqual([]);
      });

      it('refuses an empty tenant name', async () => {
        expect(await store.createTenant({ name: '  ' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
      });

      it('lists tenants in creation order and pages with afterId', async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) {
          t += 1000;
          const r = await store.createTenant({ name: `page-${i}` });
          if (r.ok) ids.push(r.value.tenant.id);
        }
        const all = (await store.listTenants({ limit: 1000 })).map((x) => x.id).filter((id) => ids.includes(id));
        expect(all).toEqual(ids);
        const page = await store.listTenants({ afterId: ids[1], limit: 2 });
        expect(page.map((x) => x.id)).toEqual([ids[2], ids[3]]);
      });

      it('adds workspaces, unique by name within a tenant', async () => {
        const r = await store.createTenant({ name: 'ws' });
        if (!r.ok) throw new Error(r.error.message);
        const id = r.value.tenant.id;
        const w = await store.createWorkspace(id, 'research');
        expect(w).toMatchObject({ ok: true, value: { tenantId: id, name: 'research' } });
        expect(await store.createWorkspace(id, 'research')).toMatchObject({ ok: false, error: { kind: 'conflict' } });
        expect(await store.createWorkspace('ten_missing', 'x')).toMatchObject({ ok: false, error: { kind: 'not_found' } });
        expect((await store.listWorkspaces(id)).map((x) => x.name).sort()).toEqual(['default', 'research']);
      });
    });

    describe('keys', () => {
      let tenantId: string;
      let defaultWs: string;
      beforeAll(async () => {
        const r = await store.createTenant({ name: 'keys', tier: 'silver', allowedRegions: ['us-east'] });
        if (!r.ok) throw new Error(r.error.message);
        tenantId = r.value.tenant.id;
        defaultWs = r.value.workspace.id;
      });

      it('generates a secret, returns it once and stores only its sha256 and a hint', async () => {
        const r = await store.createKey({ tenantId, name: 'ci' });
        if (!r.ok) throw new Error(r.error.message);
        const { key, secret } = r.value;
        expect(secret).toMatch(/^sk-sy-[A-Za-z0-9_-]{40}$/);
        expect(key).toMatchObject({ tenantId, workspaceId: defaultWs, name: 'ci', hash: sha256(secret), hint: `sk-sy-…${secret.slice(-4)}`, revokedAt: null });
        const stored = await store.getKey(key.id);
        expect(stored).toEqual(key);
        expect(JSON.stringify(stored)).not.toContain(secret.slice(6));
      });

      it('never generates the same secret twice', async () => {
        const a = await store.createKey({ tenantId, name: 'a' });
        const b = await store.createKey({ tenantId, name: 'b' });
        if (!a.ok || !b.ok) throw new Error('createKey failed');
        expect(a.value.secret).not.toBe(b.value.secret);
      });

      it('finds a key by hash together with its tenant\'s grant', async () => {
        const r = await store.createKey({ tenantId, name: 'lookup' });
        if (!r.ok) throw new Error(r.error.message);
        const g = await store.findKeyByHash(sha256(r.value.secret));
        expect(g).toEqual({ key: r.value.key, tier: 'silver', allowedRegions: ['us-east'], priority: null, spendLimitUsd: null });
        expect(await store.findKeyByHash(sha256('sk-sy-nothing'))).toBeNull();
      });

      it('places a key in the workspace asked for, and only one of the same tenant', async () => {
        const ws = await store.createWorkspace(tenantId, 'prod');
        if (!ws.ok) throw new Error(ws.error.message);
        expect(await store.createKey({ tenantId, workspaceId: ws.value.id, name: 'p' })).toMatchObject({ ok: true, value: { key: { workspaceId: ws.value.id } } });
        const other = await store.createTenant({ name: 'other' });
        if (!other.ok) throw new Error(other.error.message);
        expect(await store.createKey({ tenantId, workspaceId: other.value.workspace.id, name: 'x' })).toMatchObject({ ok: false, error: { kind: 'not_found' } });
        expect(await store.createKey({ tenantId: 'ten_missing', name: 'x' })).toMatchObject({ ok: false, error: { kind: 'not_found' } });
        expect((await store.listKeys(tenantId, ws.value.id)).map((k) => k.name)).toEqual(['p']);
      });

      it('revokes a key once: a second revocation keeps the first time', async () => {
        const r = await store.createKey({ tenantId, name: 'doomed' });
        if (!r.ok) throw new Error(r.error.message);
        t += 5000;
        const first = await store.revokeKey(r.value.key.id);
        expect(first?.revokedAt).toBe(t);
        t += 5000;
        expect((await store.revokeKey(r.value.key.id))?.revokedAt).toBe(first?.revokedAt);
        expect((await store.activeKeys()).map((g) => g.key.id)).not.toContain(r.value.key.id);
        expect((await store.findKeyByHash(r.value.key.hash))?.key.revokedAt).toBe(first?.revokedAt);
        expect(await store.revokeKey('key_missing')).toBeNull();
      });

      it('lists active keys with their grants for the authenticator', async () => {
        const r = await store.createKey({ tenantId, name: 'warm' });
        if (!r.ok) throw new Error(r.error.message);
        const g = (await store.activeKeys()).find((x) => x.key.id === r.value.key.id);
        expect(g).toEqual({ key: r.value.key, tier: 'silver', allowedRegions: ['us-east'], priority: null, spendLimitUsd: null });
      });

      it('imports a chosen secret once and refuses a duplicate or an unusable one', async () => {
        const secret = 'sk-sy-imported-secret-0001';
        const r = await store.importKey({ tenantId, name: 'imp', secret });
        expect(r).toMatchObject({ ok: true, value: { hash: sha256(secret), hint: 'sk-sy-…0001' } });
        expect(await store.importKey({ tenantId, name: 'imp2', secret })).toMatchObject({ ok: false, error: { kind: 'conflict' } });
        expect(await store.importKey({ tenantId, name: 'short', secret: 'abc' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
        expect(await store.importKey({ tenantId, name: 'space', secret: 'has a space in it' })).toMatchObject({ ok: false, error: { kind: 'invalid' } });
      });
    });

    describe('the demo tenant', () => {
      it('creates a key the first time, and reuses it on every later start', async () => {
        const first = await store.ensureDemoTenant();
        expect(first.tenant.id).toBe('ten_demo');
        expect(first.secret).toMatch(/^sk-sy-/);
        expect(first.key.hash).toBe(sha256(first.secret!));
        const restarted = await h.open(clock);
        try {
          const again = await restarted.ensureDemoTenant();
          expect(again.secret).toBeNull();
          expect(again.key.id).toBe(first.key.id);
          expect(again.tenant).toEqual(first.tenant);
        } finally {
          await restarted.close();
        }
      });

      it('registers a configured secret once and reuses it', async () => {
        const secret = 'sk-sy-configured-demo-key-42';
        const a = await store.ensureDemoTenant(secret);
        expect(a.secret).toBeNull();
        expect(a.key).toMatchObject({ tenantId: 'ten_demo', hash: sha256(secret) });
        const b = await store.ensureDemoTenant(secret);
        expect(b.key.id).toBe(a.key.id);
        expect((await store.listKeys('ten_demo')).filter((k) => k.hash === sha256(secret))).toHaveLength(1);
      });

      it('refuses to start with a configured secret that was revoked', async () => {
        const secret = 'sk-sy-configured-then-revoked';
        const a = await store.ensureDemoTenant(secret);
        await store.revokeKey(a.key.id);
        await expect(store.ensureDemoTenant(secret)).rejects.toThrow(/revoked/);
      });

      it('creates a new key when every demo key was revoked', async () => {
        for (const k of await store.listKeys('ten_demo')) await store.revokeKey(k.id);
        const d = await store.ensureDemoTenant();
        expect(d.secret).not.toBeNull();
        expect(d.key.revokedAt).toBeNull();
      });
    });

    auditSpec({ store: () => store, now, advance: (ms) => { t += ms; }, sabotageAudit: () => h.sabotageAudit() });

    describe('usage', () => {
      const T0 = 1_760_000_000_000;
      const tenantId = 'ten_usage';

      it('writes a batch and reads it back newest first, every field intact', async () => {
        const a = usage({ tenantId, startedAt: T0, replica: null, region: null, ttftMs: null, stream: true, wire: 'openai' });
        const b = usage({ tenantId, startedAt: T0 + 10, outcome: 'rate_limited', status: 429, costUsd: 0 });
        await store.insertUsage([a, b]);
        expect(await store.queryUsage({ tenantId })).toEqual([b, a]);
      });

      it('skips request ids already written, so a retried batch adds nothing twice', async () => {
        const r = usage({ tenantId: 'ten_dup', startedAt: T0 });
        await store.insertUsage([r]);
        await store.insertUsage([r, r, usage({ tenantId: 'ten_dup', startedAt: T0 + 1 })]);
        expect(await store.queryUsage({ tenantId: 'ten_dup' })).toHaveLength(2);
      });

      it('writes a batch all or nothing', async () => {
        const good = usage({ tenantId: 'ten_atomic', startedAt: T0 });
        const bad = { ...usage({ tenantId: 'ten_atomic' }), model: null } as unknown as UsageRecord;
        await expect(store.insertUsage([good, bad])).rejects.toThrow();
        expect(await store.queryUsage({ tenantId: 'ten_atomic' })).toEqual([]);
      });

      it('writes thousands of records in one batch, every field of every row intact', async () => {
        // 3007: not a multiple of the rows per statement, so the batched and the single path both run.
        const rows = Array.from({ length: 3007 }, (_, i) => usage({ tenantId: 'ten_bulk', startedAt: T0 + i, outputTokens: i, stream: i % 2 === 0 }));
        await store.insertUsage(rows);
        const s = await store.usageSummary({ tenantId: 'ten_bulk' });
        expect(s.requests).toBe(3007);
        expect(s.inputTokens).toBe(300_700);
        const back = await store.queryUsage({ tenantId: 'ten_bulk', limit: 1000 });
        for (const r of back) {
          const sent = rows[r.startedAt - T0];
          expect(r).toEqual(sent);
        }
      });

      it('filters by workspace and time window, and honours limit', async () => {
        const id = 'ten_filter';
        await store.insertUsage([
          usage({ tenantId: id, workspaceId: 'wrk_a', startedAt: T0 }),
          usage({ tenantId: id, workspaceId: 'wrk_b', startedAt: T0 + 100 }),
          usage({ tenantId: id, workspaceId: 'wrk_a', startedAt: T0 + 200 }),
          usage({ tenantId: 'ten_elsewhere', workspaceId: 'wrk_a', startedAt: T0 + 300 }),
        ]);
        expect((await store.queryUsage({ tenantId: id })).length).toBe(3);
        expect((await store.queryUsage({ tenantId: id, workspaceId: 'wrk_a' })).map((r) => r.startedAt)).toEqual([T0 + 200, T0]);
        expect((await store.queryUsage({ tenantId: id, since: T0 + 100 })).map((r) => r.startedAt)).toEqual([T0 + 200, T0 + 100]);
        expect((await store.queryUsage({ tenantId: id, before: T0 + 200 })).map((r) => r.startedAt)).toEqual([T0 + 100, T0]);
        expect((await store.queryUsage({ tenantId: id, limit: 1 })).map((r) => r.startedAt)).toEqual([T0 + 200]);
      });

      it('pages through records that share a start time without losing or repeating one', async () => {
        const id = 'ten_pages';
        const rows = Array.from({ length: 7 }, (_, i) => usage({ tenantId: id, startedAt: T0 + (i < 5 ? 0 : i) }));
        await store.insertUsage(rows);
        const seen: string[] = [];
        let cursor: { startedAt: number; requestId: string } | undefined;
        for (let guard = 0; guard < 10; guard++) {
          const page = await store.queryUsage({ tenantId: id, limit: 2, olderThan: cursor });
          if (page.length === 0) break;
          seen.push(...page.map((r) => r.requestId));
          const last = page[page.length - 1];
          cursor = { startedAt: last.startedAt, requestId: last.requestId };
        }
        expect(seen).toHaveLength(7);
        expect(new Set(seen).size).toBe(7);
      });

      it('sums usage by outcome and by model', async () => {
        const id = 'ten_sum';
        await store.insertUsage([
          usage({ tenantId: id, model: 'b-model', inputTokens: 10, cachedInputTokens: 5, outputTokens: 1, costUsd: 0.25, startedAt: T0 }),
          usage({ tenantId: id, model: 'a-model', inputTokens: 20, cachedInputTokens: 0, outputTokens: 2, costUsd: 0.5, startedAt: T0 + 1 }),
          usage({ tenantId: id, model: 'a-model', inputTokens: 30, cachedInputTokens: 0, outputTokens: 0, costUsd: 0, outcome: 'timeout', status: 504, startedAt: T0 + 2 }),
        ]);
        const s = await store.usageSummary({ tenantId: id });
        expect(s).toMatchObject({ requests: 3, inputTokens: 60, cachedInputTokens: 5, outputTokens: 3, byOutcome: { ok: 2, timeout: 1 } });
        expect(s.costUsd).toBeCloseTo(0.75, 10);
        expect(s.byModel.map((m) => [m.model, m.requests, m.inputTokens])).toEqual([['a-model', 2, 50], ['b-model', 1, 10]]);
        expect((await store.usageSummary({ tenantId: id, since: T0 + 1 })).requests).toBe(2);
        expect(await store.usageSummary({ tenantId: 'ten_nothing' })).toEqual({
          requests: 0, inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, costUsd: 0, byOutcome: {}, byModel: [],
        });
      });
    });

    describe('spend by workspace', () => {
      // Later than every other usage record here, so the window holds only these.
      const M = 1_900_000_000_000;
      beforeAll(async () => {
        await store.insertUsage([
          usage({ tenantId: 'ten_spend', workspaceId: 'wrk_s1', startedAt: M, costUsd: 0.5 }),
          usage({ tenantId: 'ten_spend', workspaceId: 'wrk_s1', startedAt: M + 1, costUsd: 0.25 }),
          usage({ tenantId: 'ten_spend', workspaceId: 'wrk_s2', startedAt: M - 1, costUsd: 100 }), // before the window
          usage({ tenantId: 'ten_spend', workspaceId: 'wrk_s2', startedAt: M + 5, costUsd: 0.125, outcome: 'timeout', status: 504 }),
          usage({ tenantId: 'ten_other', workspaceId: 'wrk_s3', startedAt: M + 9, costUsd: 2 }),
        ]);
      });

      it('sums the cost of requests started at or after since, per workspace', async () => {
        expect(await store.spendByWorkspace(M)).toEqual(new Map([['wrk_s1', 0.75], ['wrk_s2', 0.125], ['wrk_s3', 2]]));
        expect(await store.spendByWorkspace(M + 2)).toEqual(new Map([['wrk_s2', 0.125], ['wrk_s3', 2]]));
        expect((await store.spendByWorkspace(M - 1)).get('wrk_s2')).toBe(100.125);
      });

      it('answers every workspace asked for, 0 when it spent nothing, and no other', async () => {
        expect(await store.spendByWorkspace(M, ['wrk_s1', 'wrk_idle'])).toEqual(new Map([['wrk_s1', 0.75], ['wrk_idle', 0]]));
        expect(await store.spendByWorkspace(M, [])).toEqual(new Map());
      });
    });

    describe('reopening', () => {
      it('keeps every row and leaves the schema as it was', async () => {
        const before = await store.listTenants({ limit: 1000 });
        const again = await h.open(clock);
        try {
          expect(await again.listTenants({ limit: 1000 })).toEqual(before);
          expect((await again.usageSummary({ tenantId: 'ten_bulk' })).requests).toBe(3007);
        } finally {
          await again.close();
        }
      });
    });
  });
}
