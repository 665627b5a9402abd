import { checkName, fail } from './common.js';
import { PRIORITIES, type ApiKey, type KeyPatch, type Priority, type StoreResult, type Tenant, type TenantPatch, type Workspace, type WorkspacePatch } from './types.js';

// A row and a patch → the row as it will be, or why not. Both backends read the row inside their
// transaction, apply the patch here and write the result, so both refuse the same patches with the
// same words. Absent fields stay; null clears a nullable one.

export function patchTenant(t: Tenant, p: TenantPatch): StoreResult<Tenant> {
  const next = { ...t };
  if (p.name !== undefined) {
    const bad = checkName('tenant', p.name);
    if (bad) return { ok: false, error: bad };
    next.name = p.name;
  }
  if (p.tier !== undefined) {
    if (typeof p.tier !== 'string' || p.tier === '' || p.tier.length > 64) return fail('invalid', 'tier must be a name of 1 to 64 characters');
    next.tier = p.tier;
  }
  if (p.allowedRegions !== undefined) {
    if (p.allowedRegions !== null && (!Array.isArray(p.allowedRegions) || p.allowedRegions.length === 0)) {
      return fail('invalid', 'allowed regions must name at least one region, or be null to allow any region');
    }
    next.allowedRegions = p.allowedRegions === null ? null : [...p.allowedRegions];
  }
  return { ok: true, value: next };
}

export function patchWorkspace(w: Workspace, p: WorkspacePatch): StoreResult<Workspace> {
  const next = { ...w };
  if (p.name !== undefined) {
    const bad = checkName('workspace', p.name);
    if (bad) return { ok: false, error: bad };
    // Keys created without a workspace go to the one named `default`; renaming it would silently
    // send them elsewhere.
    if (w.name === 'default' && p.name !== 'default') return fail('invalid', `workspace ${w.id} is its tenant's default workspace and keeps the name 'default'`);
    next.name = p.name;
  }
  if (p.spendLimitUsd !== undefined) {
    const bad = checkSpendLimit(p.spendLimitUsd);
    if (bad) return fail('invalid', bad);
    next.spendLimitUsd = p.spendLimitUsd;
  }
  return { ok: true, value: next };
}

export function patchKey(k: ApiKey, p: KeyPatch): StoreResult<ApiKey> {
  const next = { ...k };
  if (p.name !== undefined) {
    const bad = checkName('key', p.name);
    if (bad) return { ok: false, error: bad };
    next.name = p.name;
  }
  if (p.priority !== undefined) {
    const bad = checkPriority(p.priority);
    if (bad) return fail('invalid', bad);
    next.priority = p.priority;
  }
  return { ok: true, value: next };
}

export function checkPriority(p: Priority | null): string | null {
  return p === null || PRIORITIES.includes(p) ? null : `priority must be one of ${PRIORITIES.join(', ')}, or null for the tier's default`;
}

function checkSpendLimit(usd: number | null): string | null {
  return usd === null || (typeof usd === 'number' && Number.isFinite(usd) && usd >= 0)
    ? null
    : 'a spend limit must be a finite number of USD, at least 0, or null for the tier\'s limit';
}
