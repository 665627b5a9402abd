import { rolloutLines } from '../rollout-report.js';
import { byClass, fmt, rowsOf, type Row } from './rows.js';
import type { AdmissionReport, PolicyReport, SimReport } from './types.js';

/** Replicas listed per policy in the terminal; the page's plots show them all. */
const MAX_REPLICA_ROWS = 16;

/**
 * The terminal report: the scenario, one block per policy (its figures, tenants and replicas),
 * then, when there are several policies, the figures side by side, one column per policy, last so
 * it is what stays on screen.
 */
export function renderText(report: SimReport): string {
  const s = report.scenario;
  const out: string[] = [];
  out.push(`scenario ${s.name} (seed ${s.seed})${s.description ? `: ${s.description}` : ''}`);
  out.push(`  fleet     ${s.fleet}`);
  out.push(`  workload  ${s.workload}`);
  if (s.faults.length > 0) out.push(`  faults    ${s.faults.join('; ')}`);
  out.push(`  SLO       TTFT ≤ ${fmt.ms(s.slo.ttftS)} ms${byClass(s.slo.ttftSByPriority)}, TPOT ≤ ${fmt.ms(s.slo.tpotS)} ms${s.slo.e2eS !== undefined ? `, end to end ≤ ${fmt.sec(s.slo.e2eS)} s` : ''}`);
  const rows = rowsOf(report);
  for (const p of report.policies) out.push('', policyBlock(p, rows));
  if (report.policies.length > 1) {
    out.push('', 'policies side by side:');
    out.push(table(['', ...report.policies.map((p) => p.policy)], rows.map((r) => [r.label, ...report.policies.map(r.cell)])));
  }
  return out.join('\n') + '\n';
}

function policyBlock(p: PolicyReport, rows: readonly Row[]): string {
  const w = Math.max(...rows.map((r) => r.label.length));
  const lines = [`== policy ${p.policy} ==`, ...rows.map((r) => `  ${r.label.padEnd(w)}  ${r.cell(p)}`)];
  if (p.tenants.length > 0) {
    lines.push('', indent(table(['tenant', 'requests', 'ok', 'TTFT p50 / p90 (ms)', 'e2e p50 / p90 (s)', 'goodput', 'output tokens', 'output share'],
      p.tenants.map((t) => [t.tenant, fmt.num(t.requests), fmt.num(t.ok), `${fmt.ms(t.ttft.p50)} / ${fmt.ms(t.ttft.p90)}`,
        `${fmt.sec(t.e2e.p50)} / ${fmt.sec(t.e2e.p90)}`, fmt.pct(t.goodputFraction), fmt.num(t.outputTokens), fmt.pct(t.outputShare)]))));
  }
  if (p.admission !== undefined) {
    const [classes, tenants] = admissionTables(p.admission);
    lines.push('', indent(classes), '', indent(tenants));
  }
  if (p.rollout !== undefined) lines.push('', ...rolloutLines(p.rollout).map((l) => `  ${l}`));
  if (p.replicas.length > 0) {
    const shown = p.replicas.slice(0, MAX_REPLICA_ROWS);
    lines.push('', indent(table(['replica', 'region', 'requests', 'busy', 'mean running', 'prefix hits', 'preemptions'],
      shown.map((r) => [r.id, r.region, fmt.num(r.requests), fmt.pct(r.busyFraction), fmt.num(r.meanRunning, 1), fmt.pct(r.prefixHitRate), fmt.num(r.preemptions)]))));
    if (p.replicas.length > shown.length) lines.push(`  … and ${p.replicas.length - shown.length} more replicas (see the JSON or HTML report)`);
  }
  return lines.join('\n');
}

/** Per class, then per tenant, of a run with admission. */
function admissionTables(a: AdmissionReport): [string, string] {
  const cls = table(['admission: ' + a.label, 'requests', 'ok', 'shed', 'of them after waiting', 'TTFT p50 / p99 (ms)', 'goodput'],
    a.classes.map((c) => [c.priority, fmt.num(c.requests), fmt.num(c.ok), fmt.num(c.shed), fmt.num(c.shedWaited), `${fmt.ms(c.ttft.p50)} / ${fmt.ms(c.ttft.p99)}`, fmt.pct(c.goodputFraction)]));
  const ten = table(['tenant', 'priority', 'weight', 'requests', 'ok', 'shed', 'TTFT p50 / p99 (ms)', 'goodput', 'served / fair share'],
    a.tenants.map((t) => [t.tenant + (t.heavy ? ' (heavy)' : ''), t.priority, fmt.num(t.weight, 1), fmt.num(t.requests), fmt.num(t.ok), fmt.num(t.shed),
      `${fmt.ms(t.ttft.p50)} / ${fmt.ms(t.ttft.p99)}`, fmt.pct(t.goodputFraction), `${fmt.num(t.served)} / ${fmt.num(t.fairShare)}`]));
  return [cls, ten];
}

const indent = (s: string): string => s.split('\n').map((l) => `  ${l}`).join('\n');

/** Columns padded to their widest cell; the first left-aligned, the rest right-aligned. */
function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
