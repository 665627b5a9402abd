import { PRIORITIES, type Priority } from '../../admission/index.js';
import { jain, maxMinShares, quantiles } from './stats.js';
import type { AdmissionReport, AdmissionTenantReport, ClassReport, RequestRecord, RunRecords, Slo } from './types.js';

// A run with admission, per priority class and per tenant, and how fairly its tenants were served.
// Fairness is Jain's index (Jain, Chiu and Hawe 1984) of x_i = served_i / fair_i, normalised by
// the max-min fair share, so a tenant asking little is not counted as starved when it got all it
// asked: fair_i is tenant i's weighted water-filling share of everything served, given what each
// tenant offered. "Served" is a request that met its SLO: a queue that keeps everyone but answers
// them all too late (plain FCFS under overload) serves nobody.

/** A tenant offering more than this many times its weighted share of all requests counts as heavy. */
export const HEAVY_FACTOR = 2;

/** The SLO a tenant's requests are held to: its class's TTFT bound when the scenario sets one. */
export function sloOf(run: RunRecords, slo: Slo): (tenant: string) => Slo {
  const by = slo.ttftSByPriority;
  const tenants = run.admission?.tenants;
  if (by === undefined || tenants === undefined) return () => slo;
  const of = new Map<Priority, Slo>(PRIORITIES.map((p) => [p, by[p] === undefined ? slo : { ...slo, ttftS: by[p] }]));
  return (t) => of.get(tenants[t]?.priority ?? 'standard')!;
}

export function admissionReport(run: RunRecords, meets: (r: RequestRecord) => boolean): AdmissionReport | undefined {
  const a = run.admission;
  if (a === undefined) return undefined;
  const byClass = new Map<Priority, RequestRecord[]>();
  const byTenant = new Map<string, RequestRecord[]>();
  let shed = 0;
  for (const r of run.requests) {
    const p = a.tenants[r.tenant]?.priority ?? 'standard';
    push(byClass, p, r);
    push(byTenant, r.tenant, r);
    if (r.outcome === 'shed') shed++;
  }
  const classes: ClassReport[] = PRIORITIES.filter((p) => byClass.has(p)).map((priority) => ({ priority, ...figures(byClass.get(priority)!, meets) }));
  const names = [...byTenant.keys()].sort();
  const demand = names.map((t) => byTenant.get(t)!.length);
  const weight = names.map((t) => a.tenants[t]?.weight ?? 1);
  const rows = names.map((t) => figures(byTenant.get(t)!, meets));
  const served = rows.map((f) => f.served);
  const fair = maxMinShares(demand, weight, served.reduce((s, x) => s + x, 0));
  const offered = demand.reduce((s, x) => s + x, 0);
  const weights = weight.reduce((s, x) => s + x, 0);
  const tenants: AdmissionTenantReport[] = names.map((tenant, i) => ({
    tenant, priority: a.tenants[tenant]?.priority ?? 'standard', weight: weight[i], ...rows[i],
    fairShare: fair[i], heavy: demand[i] > HEAVY_FACTOR * offered * (weight[i] / weights),
  }));
  const index = (ts: readonly AdmissionTenantReport[]) => (ts.some((t) => t.fairShare > 0) ? jain(ts.map((t) => t.served / t.fairShare)) : NaN);
  return {
    label: a.label, discipline: a.discipline, shed, classes, tenants,
    jain: index(tenants), jainOthers: index(tenants.filter((t) => !t.heavy)),
  };
}

function figures(rs: readonly RequestRecord[], meets: (r: RequestRecord) => boolean) {
  const ok = rs.filter((r) => r.outcome === 'ok');
  let shed = 0;
  let waited = 0;
  let served = 0;
  for (const r of rs) {
    if (r.outcome === 'shed') {
      shed++;
      if (r.finishS > r.arrivalS) waited++;
    }
    if (meets(r)) served++;
  }
  return {
    requests: rs.length, ok: ok.length, shed, shedWaited: waited, ttft: quantiles(ok.map((r) => r.firstTokenS - r.arrivalS)),
    goodputFraction: rs.length > 0 ? served / rs.length : NaN, served,
  };
}

function push<K>(m: Map<K, RequestRecord[]>, k: K, r: RequestRecord): void {
  let l = m.get(k);
  if (l === undefined) m.set(k, (l = []));
  l.push(r);
}
