import type { RandomStream } from './rng.js';
import { WorkloadError, type TenantMix } from './types.js';

// Who sends each arrival: one fixed tenant, or a draw by weight from its own random stream (so the
// mix can change without moving any arrival time or length).

export type TenantPicker = (rng: RandomStream) => string;

export function tenantPicker(tenants: TenantMix | undefined, tenant: string | undefined): TenantPicker {
  if (tenants === undefined || tenants.length === 0) {
    const t = tenant ?? 'default';
    return () => t;
  }
  if (tenant !== undefined) throw new WorkloadError('give tenant (one name) or tenants (a weighted mix), not both');
  const names = tenants.map((t) => t.name);
  const cum = new Float64Array(tenants.length);
  let sum = 0;
  tenants.forEach((t, i) => {
    if (!(t.weight > 0) || !Number.isFinite(t.weight)) throw new WorkloadError(`tenant "${t.name}": weight must be a finite number > 0, got ${t.weight}`);
    sum += t.weight;
    cum[i] = sum;
  });
  if (names.length === 1) return () => names[0];
  return (rng) => {
    const x = rng.float() * sum;
    let i = 0;
    while (i < cum.length - 1 && x >= cum[i]) i++;
    return names[i];
  };
}

export function describeTenants(tenants: TenantMix | undefined, tenant: string | undefined): string {
  if (tenants !== undefined && tenants.length > 0) return `tenants ${tenants.map((t) => `${t.name}:${t.weight}`).join(' ')}`;
  return tenant !== undefined ? `tenant ${tenant}` : '';
}
