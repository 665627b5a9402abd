import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditRecord, Store } from '../../src/ledger/index.js';

// Changes to tenants, workspaces and keys, and the audit records they write: part of the one Store
// specification (store.spec.ts runs it for every backend, on the same store as the rest).

export interface AuditSpecContext {
  store(): Store;
  now(): number;
  advance(ms: number): void;
  /** From now on the backend refuses audit records whose actor is `saboteur`, as a full disk would. */
  sabotageAudit(): Promise<void>;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const ADMIN = { actor: 'admin:alice', requestId: 'req_audit_1' };

export function auditSpec(ctx: AuditSpecContext): void {
  let store: Store;
  beforeAll(() => { store = ctx.store(); });

  async function newTenant(name: string) {
    const r = await store.createTenant({ name });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  }

  describe('changes and the audit trail', () => {
    it('writes a record for the tenant and one for its default workspace, with the actor and request', async () => {
      ctx.advance(1000);
      const r = await store.createTenant({ name: 'Audited', tier: 'gold' }, ADMIN);
      if (!r.ok) throw new Error(r.error.message);
      const { tenant, workspace } = r.value;
      const common = { at: ctx.now(), actor: 'admin:alice', requestId: 'req_audit_1', reason: null, tenantId: tenant.id, before: null };
      expect(await store.listAudit({ tenantId: tenant.id })).toEqual([
        { ...common, id: expect.stringMatching(/^aud_/), action: 'workspace.create', target: workspace.id, after: { id: workspace.id, tenantId: tenant.id, name: 'default', spendLimitUsd: null, createdAt: ctx.now() } },
        { ...common, id: expect.stringMatching(/^aud_/), action: 'tenant.create', target: tenant.id, after: { id: tenant.id, name: 'Audited', tier: 'gold', allowedRegions: null, createdAt: ctx.now() } },
      ]);
    });

    it('writes nothing without an actor, and nothing for the demo tenant', async () => {
      const { tenant } = await newTenant('unaudited');
      await store.createKey({ tenantId: tenant.id, name: 'k' });
      expect(await store.listAudit({ tenantId: tenant.id })).toEqual([]);
      await store.ensureDemoTenant();
      expect(await store.listAudit({ tenantId: 'ten_demo' })).toEqual([]);
    });

    it('writes nothing for a change that fails', async () => {
      expect((await store.createTenant({ name: 'a', id: 'ten_taken', defaultWorkspaceId: 'wrk_taken' }, ADMIN)).ok).toBe(true);
      expect(await store.createTenant({ name: 'b', id: 'ten_taken', defaultWorkspaceId: 'wrk_taken2' }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      expect((await store.listAudit({ target: 'ten_taken' })).map((a) => a.after)).toMatchObject([{ name: 'a' }]);
      expect(await store.listAudit({ target: 'wrk_taken2' })).toEqual([]);

      const research = await store.createWorkspace('ten_taken', 'research', ADMIN);
      if (!research.ok) throw new Error(research.error.message);
      expect(await store.createWorkspace('ten_taken', 'research', ADMIN)).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      expect(await store.createWorkspace('ten_missing', 'x', ADMIN)).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      const prod = await store.createWorkspace('ten_taken', 'prod', ADMIN);
      if (!prod.ok) throw new Error(prod.error.message);
      expect(await store.updateWorkspace(prod.value.id, { name: 'research' }, ADMIN)).toEqual({
        ok: false, error: { kind: 'conflict', message: "tenant ten_taken already has a workspace named 'research'" },
      });
      expect(await store.getWorkspace(prod.value.id)).toMatchObject({ name: 'prod' });

      const secret = 'sk-sy-audit-import-0001';
      expect((await store.importKey({ tenantId: 'ten_taken', name: 'i', secret }, ADMIN)).ok).toBe(true);
      expect(await store.importKey({ tenantId: 'ten_taken', name: 'i2', secret }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'conflict' } });
      expect(await store.updateKey('key_missing', { name: 'x' }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'not_found' } });
      expect(await store.revokeKey('key_missing', ADMIN)).toBeNull();

      expect((await store.listAudit({ tenantId: 'ten_taken' })).map((a) => a.action).sort()).toEqual(
        ['key.create', 'tenant.create', 'workspace.create', 'workspace.create', 'workspace.create'],
      );
      expect(await store.listAudit({ target: 'key_missing' })).toEqual([]);
    });

    it('changes a tenant and records the row before and after', async () => {
      const { tenant } = await newTenant('Before');
      ctx.advance(1000);
      const r = await store.updateTenant(tenant.id, { name: 'After', tier: 'gold', allowedRegions: ['eu-west'] }, ADMIN);
      const after = { ...tenant, name: 'After', tier: 'gold', allowedRegions: ['eu-west'] };
      expect(r).toEqual({ ok: true, value: after });
      expect(await store.getTenant(tenant.id)).toEqual(after);
      expect(await store.listAudit({ target: tenant.id })).toEqual([{
        id: expect.stringMatching(/^aud_/), at: ctx.now(), actor: 'admin:alice', action: 'tenant.update', target: tenant.id, tenantId: tenant.id,
        requestId: 'req_audit_1', reason: null, before: tenant, after,
      }]);
      // absent fields stay, null clears
      expect(await store.updateTenant(tenant.id, { allowedRegions: null })).toEqual({ ok: true, value: { ...after, allowedRegions: null } });
    });

    it('changes a workspace\'s name and spend limit, and its keys\' grants carry the limit', async () => {
      const { tenant } = await newTenant('limits');
      const ws = await store.createWorkspace(tenant.id, 'team');
      if (!ws.ok) throw new Error(ws.error.message);
      const key = await store.createKey({ tenantId: tenant.id, workspaceId: ws.value.id, name: 'k' });
      if (!key.ok) throw new Error(key.error.message);
      const r = await store.updateWorkspace(ws.value.id, { name: 'team-b', spendLimitUsd: 250.5 }, ADMIN);
      expect(r).toEqual({ ok: true, value: { ...ws.value, name: 'team-b', spendLimitUsd: 250.5 } });
      expect(await store.getWorkspace(ws.value.id)).toMatchObject({ name: 'team-b', spendLimitUsd: 250.5 });
      expect(await store.findKeyByHash(sha256(key.value.secret))).toMatchObject({ spendLimitUsd: 250.5, priority: null });
      expect((await store.activeKeys()).find((g) => g.key.id === key.value.key.id)).toMatchObject({ spendLimitUsd: 250.5 });
      const [rec] = await store.listAudit({ target: ws.value.id, action: 'workspace.update' });
      expect(rec).toMatchObject({ tenantId: tenant.id, before: { name: 'team', spendLimitUsd: null }, after: { name: 'team-b', spendLimitUsd: 250.5 } });
      expect(await store.updateWorkspace(ws.value.id, { spendLimitUsd: 0 })).toMatchObject({ ok: true, value: { spendLimitUsd: 0 } });
      expect(await store.updateWorkspace(ws.value.id, { spendLimitUsd: null })).toMatchObject({ ok: true, value: { spendLimitUsd: null } });
      expect((await store.findKeyByHash(sha256(key.value.secret)))?.spendLimitUsd).toBeNull();
    });

    it('creates a key with a priority, changes and clears it, and grants carry it', async () => {
      const { tenant } = await newTenant('priorities');
      const r = await store.createKey({ tenantId: tenant.id, name: 'nightly', priority: 'batch' }, ADMIN);
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.key.priority).toBe('batch');
      expect(await store.getKey(r.value.key.id)).toEqual(r.value.key);
      expect(await store.findKeyByHash(sha256(r.value.secret))).toMatchObject({ priority: 'batch' });
      ctx.advance(10);
      const u = await store.updateKey(r.value.key.id, { priority: 'interactive', name: 'chat' }, ADMIN);
      expect(u).toEqual({ ok: true, value: { ...r.value.key, name: 'chat', priority: 'interactive' } });
      expect((await store.activeKeys()).find((g) => g.key.id === r.value.key.id)).toMatchObject({ priority: 'interactive', key: { priority: 'interactive' } });
      const [rec] = await store.listAudit({ target: r.value.key.id, action: 'key.update' });
      expect(rec).toMatchObject({ at: ctx.now(), before: { name: 'nightly', priority: 'batch' }, after: { name: 'chat', priority: 'interactive' } });
      expect(await store.updateKey(r.value.key.id, { priority: null })).toMatchObject({ ok: true, value: { priority: null } });
      expect((await store.findKeyByHash(sha256(r.value.secret)))?.priority).toBeNull();
    });

    it.each([
      ['an empty tenant name', (s: Store, ids: Ids) => s.updateTenant(ids.tenant, { name: ' ' }, ADMIN), 'tenant name must not be empty'],
      ['an empty tier', (s: Store, ids: Ids) => s.updateTenant(ids.tenant, { tier: '' }, ADMIN), 'tier must be'],
      ['an empty region list', (s: Store, ids: Ids) => s.updateTenant(ids.tenant, { allowedRegions: [] }, ADMIN), 'at least one region'],
      ['a negative spend limit', (s: Store, ids: Ids) => s.updateWorkspace(ids.workspace, { spendLimitUsd: -1 }, ADMIN), 'at least 0'],
      ['a spend limit that is not a number', (s: Store, ids: Ids) => s.updateWorkspace(ids.workspace, { spendLimitUsd: Number.NaN }, ADMIN), 'finite number'],
      ['renaming the default workspace', (s: Store, ids: Ids) => s.updateWorkspace(ids.workspace, { name: 'main' }, ADMIN), "keeps the name 'default'"],
      ['an unknown priority', (s: Store, ids: Ids) => s.updateKey(ids.key, { priority: 'urgent' as never }, ADMIN), 'priority must be one of interactive, standard, batch'],
      ['a key created with an unknown priority', (s: Store, ids: Ids) => s.createKey({ tenantId: ids.tenant, name: 'x', priority: 'asap' as never }, ADMIN), 'priority must be one of'],
      ['an empty actor', (s: Store, ids: Ids) => s.updateTenant(ids.tenant, { name: 'x' }, { actor: '' }), 'audit actor'],
    ])('refuses %s as invalid, changing and recording nothing', async (_why, change, message) => {
      const ids = await fixture();
      const before = await snapshot(ids);
      const r = await change(store, ids);
      expect(r).toMatchObject({ ok: false, error: { kind: 'invalid', message: expect.stringContaining(message) } });
      expect(await snapshot(ids)).toEqual(before);
      expect(await store.listAudit({ tenantId: ids.tenant })).toEqual([]);
    });

    it('answers not_found for a row that does not exist', async () => {
      expect(await store.updateTenant('ten_missing', { name: 'x' }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'not_found', message: 'tenant ten_missing not found' } });
      expect(await store.updateWorkspace('wrk_missing', { name: 'x' }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'not_found', message: 'workspace wrk_missing not found' } });
      expect(await store.updateKey('key_missing', { name: 'x' }, ADMIN)).toMatchObject({ ok: false, error: { kind: 'not_found', message: 'key key_missing not found' } });
    });

    it('records a revocation once, with its time in after', async () => {
      const ids = await fixture();
      ctx.advance(5000);
      const revoked = await store.revokeKey(ids.key, ADMIN);
      ctx.advance(5000);
      expect(await store.revokeKey(ids.key, ADMIN)).toEqual(revoked);
      const recs = await store.listAudit({ target: ids.key });
      expect(recs).toHaveLength(1);
      expect(recs[0]).toMatchObject({ action: 'key.revoke', at: revoked?.revokedAt, before: { revokedAt: null }, after: { revokedAt: revoked?.revokedAt } });
    });

    it('records nothing for a change that changes nothing', async () => {
      const ids = await fixture();
      expect(await store.updateKey(ids.key, { name: 'k', priority: null }, ADMIN)).toMatchObject({ ok: true, value: { name: 'k' } });
      expect(await store.updateTenant(ids.tenant, {}, ADMIN)).toMatchObject({ ok: true });
      expect(await store.listAudit({ tenantId: ids.tenant })).toEqual([]);
    });

    it('keeps key hashes and secrets out of every record', async () => {
      const { tenant } = await newTenant('secrets');
      const made = await store.createKey({ tenantId: tenant.id, name: 'k' }, ADMIN);
      if (!made.ok) throw new Error(made.error.message);
      const imported = 'sk-sy-audit-imported-secret-42';
      const imp = await store.importKey({ tenantId: tenant.id, name: 'imp', secret: imported }, ADMIN);
      if (!imp.ok) throw new Error(imp.error.message);
      await store.updateKey(made.value.key.id, { priority: 'batch' }, ADMIN);
      await store.revokeKey(imp.value.id, ADMIN);
      const recs = await store.listAudit({ tenantId: tenant.id });
      expect(recs.map((r) => r.action).sort()).toEqual(['key.create', 'key.create', 'key.revoke', 'key.update']);
      const all = JSON.stringify(recs);
      for (const leak of [made.value.key.hash, imp.value.hash, made.value.secret.slice(6), imported.slice(6), '"hash"']) expect(all).not.toContain(leak);
      for (const r of recs) expect(r.after).toMatchObject({ hint: expect.stringMatching(/^sk-sy-…/) });
    });

    it('rolls the change back when its audit record cannot be written', async () => {
      const ids = await fixture();
      await ctx.sabotageAudit();
      const saboteur = { actor: 'saboteur' };
      await expect(store.createTenant({ name: 'never-born' }, saboteur)).rejects.toThrow();
      expect(await store.findTenantsByName('never-born')).toEqual([]);
      await expect(store.updateTenant(ids.tenant, { tier: 'gold' }, saboteur)).rejects.toThrow();
      await expect(store.updateWorkspace(ids.workspace, { spendLimitUsd: 1 }, saboteur)).rejects.toThrow();
      await expect(store.createKey({ tenantId: ids.tenant, name: 'never' }, saboteur)).rejects.toThrow();
      await expect(store.revokeKey(ids.key, saboteur)).rejects.toThrow();
      expect((await store.listKeys(ids.tenant)).map((k) => [k.name, k.revokedAt])).toEqual([['k', null]]);
      expect(await store.getTenant(ids.tenant)).toMatchObject({ tier: 'default' });
      expect((await store.getWorkspace(ids.workspace))?.spendLimitUsd).toBeNull();
      // and the store still works afterwards (no connection left inside a failed transaction)
      expect(await store.updateTenant(ids.tenant, { tier: 'gold' }, ADMIN)).toMatchObject({ ok: true });
    });

    async function fixture(): Promise<Ids> {
      const { tenant, workspace } = await newTenant('fixture');
      const key = await store.createKey({ tenantId: tenant.id, name: 'k' });
      if (!key.ok) throw new Error(key.error.message);
      return { tenant: tenant.id, workspace: workspace.id, key: key.value.key.id };
    }

    async function snapshot(ids: Ids) {
      return [await store.getTenant(ids.tenant), await store.getWorkspace(ids.workspace), await store.listKeys(ids.tenant)];
    }
  });

  describe('audit records made elsewhere, and listing', () => {
    it('stores a fleet change as given, stamped with the store\'s clock', async () => {
      ctx.advance(1000);
      const r = await store.appendAudit({
        actor: 'admin:bob', action: 'fleet.replica.drain', target: 'us-east/llama-3.1-8b/0', before: { draining: false }, after: { draining: true },
      });
      expect(r).toEqual({
        ok: true,
        value: {
          id: expect.stringMatching(/^aud_/), at: ctx.now(), actor: 'admin:bob', action: 'fleet.replica.drain', target: 'us-east/llama-3.1-8b/0',
          tenantId: null, requestId: null, reason: null, before: { draining: false }, after: { draining: true },
        },
      });
      if (!r.ok) return;
      expect(await store.listAudit({ action: 'fleet.replica.drain' })).toEqual([r.value]);
    });

    it('keeps the reason a record is given', async () => {
      const r = await store.appendAudit({ actor: 'admin:bob', action: 'fleet.replica.eject', target: 'us-east/m/1', reason: 'five 5xx in a row' });
      if (!r.ok) throw new Error(r.error.message);
      expect(r.value.reason).toBe('five 5xx in a row');
      expect((await store.listAudit({ action: 'fleet.replica.eject' })).map((a) => a.reason)).toEqual(['five 5xx in a row']);
    });

    it.each([
      ['no actor', { actor: '', action: 'fleet.replica.add', target: 'r' }],
      ['no action', { actor: 'admin', action: '', target: 'r' }],
      ['no target', { actor: 'admin', action: 'fleet.replica.add', target: ' ' }],
      ['an after that is not JSON', { actor: 'admin', action: 'fleet.replica.add', target: 'r', after: { n: 1n } }],
      ['an empty reason', { actor: 'admin', action: 'fleet.replica.add', target: 'r', reason: ' ' }],
      ['an after larger than 64 KiB', { actor: 'admin', action: 'fleet.replica.add', target: 'r', after: { blob: 'x'.repeat(70_000) } }],
    ])('refuses a record with %s', async (_why, entry) => {
      expect(await store.appendAudit(entry)).toMatchObject({ ok: false, error: { kind: 'invalid' } });
    });

    it('lists newest first, filters, and pages through records sharing a time without losing or repeating one', async () => {
      ctx.advance(60_000);
      const t0 = ctx.now();
      const made: AuditRecord[] = [];
      for (let i = 0; i < 7; i++) {
        if (i === 5) ctx.advance(1);
        const r = await store.appendAudit({ actor: 'admin', action: i % 2 ? 'fleet.replica.drain' : 'fleet.replica.undrain', target: `page-${i % 3}`, tenantId: 'ten_paging' });
        if (!r.ok) throw new Error(r.error.message);
        made.push(r.value);
      }
      const newestFirst = [...made].reverse().map((r) => r.id);
      expect((await store.listAudit({ tenantId: 'ten_paging' })).map((r) => r.id)).toEqual(newestFirst);
      expect((await store.listAudit({ tenantId: 'ten_paging', action: 'fleet.replica.drain' })).map((r) => r.id)).toEqual(made.filter((_, i) => i % 2).reverse().map((r) => r.id));
      expect((await store.listAudit({ tenantId: 'ten_paging', target: 'page-0' })).map((r) => r.target)).toEqual(['page-0', 'page-0', 'page-0']);
      expect(await store.listAudit({ tenantId: 'ten_paging', since: t0 + 1 })).toHaveLength(2);
      expect(await store.listAudit({ tenantId: 'ten_paging', before: t0 + 1 })).toHaveLength(5);
      expect(await store.listAudit({ since: t0 })).toHaveLength(7); // every tenant, and none
      const seen: string[] = [];
      let cursor: { at: number; id: string } | undefined;
      for (let guard = 0; guard < 10; guard++) {
        const page = await store.listAudit({ tenantId: 'ten_paging', limit: 2, olderThan: cursor });
        if (page.length === 0) break;
        seen.push(...page.map((r) => r.id));
        const last = page[page.length - 1];
        cursor = { at: last.at, id: last.id };
      }
      expect(seen).toEqual(newestFirst);
    });
  });
}

interface Ids {
  tenant: string;
  workspace: string;
  key: string;
}
