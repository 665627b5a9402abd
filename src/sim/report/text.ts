import { fmt, ROWS } from './rows.js';
import type { SimReport } from './types.js';

/** The terminal report: the scenario, the side-by-side table, per-tenant figures. */
export function renderText(report: SimReport): string {
  const s = report.scenario;
  const out: string[] = [];
  out.push(`scenario ${s.name} (seed ${s.seed})${s.description ? `: ${s.description}` : ''}`);
  out.push(`  fleet     ${s.fleet}`);
  out.push(`  workload  ${s.workload}`);
  if (s.faults.length > 0) out.push(`  faults    ${s.faults.join('; ')}`);
  out.push(`  SLO       TTFT ≤ ${fmt.ms(s.slo.ttftS)} ms, TPOT ≤ ${fmt.ms(s.slo.tpotS)} ms${s.slo.e2eS !== undefined ? `, end to end ≤ ${fmt.sec(s.slo.e2eS)} s` : ''}`);
  out.push('');
  out.push(table(['', ...report.policies.map((p) => p.policy)], ROWS.map((r) => [r.label, ...report.policies.map(r.cell)])));
  for (const p of report.policies) {
    if (p.tenants.length < 2) continue;
    out.push('');
    out.push(`per tenant, ${p.policy}:`);
    out.push(table(['tenant', 'requests', 'ok', 'TTFT p50 / p90 (ms)', 'e2e p50 / p90 (s)', 'goodput', 'output share'],
      p.tenants.map((t) => [t.tenant, fmt.num(t.requests), fmt.num(t.ok), `${fmt.ms(t.ttft.p50)} / ${fmt.ms(t.ttft.p90)}`,
        `${fmt.sec(t.e2e.p50)} / ${fmt.sec(t.e2e.p90)}`, fmt.pct(t.goodputFraction), fmt.pct(t.outputShare)])));
  }
  return out.join('\n') + '\n';
}

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
