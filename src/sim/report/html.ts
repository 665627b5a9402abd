import { byClass, fmt, rowsOf } from './rows.js';
import { rolloutLines } from '../rollout-report.js';
import { barChart, escapeHtml, lineChart } from './svg.js';
import type { AdmissionReport, PolicyReport, SimReport } from './types.js';

/** One self-contained page: the scenario, the side-by-side table, the plots, per-tenant tables. */
export function renderHtml(report: SimReport): string {
  const s = report.scenario;
  const ps = report.policies;
  const head = ps.map((p) => `<th>${escapeHtml(p.policy)}</th>`).join('');
  const rows = rowsOf(report).map((r) => `<tr><th>${escapeHtml(r.label)}</th>${ps.map((p) => `<td>${escapeHtml(r.cell(p))}</td>`).join('')}</tr>`).join('\n');
  const cdf = (title: string, pick: (p: PolicyReport) => readonly (readonly [number, number])[], q: (p: PolicyReport) => number) => {
    const clip = Math.max(...ps.map(q).filter((x) => x === x), 0) * 1.1;
    return lineChart(title, 'seconds', 'fraction of requests', ps.map((p) => ({ name: p.policy, points: pick(p) })), { xMax: clip > 0 ? clip : undefined, yMax: 1, legendLow: true });
  };
  const overTime = (title: string, unit: string, pick: (p: PolicyReport) => readonly number[]) =>
    lineChart(title, 'time (s)', unit, ps.map((p) => ({ name: p.policy, points: p.series.t.map((t, i) => [t, pick(p)[i]] as const) })));
  const replicaIds = ps[0]?.replicas.map((r) => r.id) ?? [];
  const plots = [
    cdf('TTFT, CDF (cut past the worst p99)', (p) => p.cdf.ttft, (p) => p.ttft.p99),
    cdf('Inter-token latency (per-request TPOT), CDF', (p) => p.cdf.itl, (p) => p.itl.p99),
    cdf('End-to-end latency, CDF', (p) => p.cdf.e2e, (p) => p.e2e.p99),
    overTime('Output throughput', 'tokens / s', (p) => p.series.outputTokPerS),
    overTime('Completions', 'requests / s', (p) => p.series.completionsPerS),
    overTime('Queue depth (waiting in the replicas)', 'requests', (p) => p.series.queued),
    ...(ps.some((p) => p.series.held !== undefined) ? [overTime('Waiting in the gateway\'s admission queue', 'requests', (p) => p.series.held ?? p.series.t.map(() => 0))] : []),
    barChart('Per-replica load (mean running requests)', 'requests', replicaIds, ps.map((p) => ({ name: p.policy, values: p.replicas.map((r) => r.meanRunning) }))),
    barChart('Per-replica prefix-cache hit rate', 'hit rate', replicaIds, ps.map((p) => ({ name: p.policy, values: p.replicas.map((r) => r.prefixHitRate) })), 1),
  ];
  const tenants = ps.filter((p) => p.tenants.length > 0).map((p) => `<h3>Per tenant: ${escapeHtml(p.policy)}</h3>
<table><tr><th>tenant</th><th>requests</th><th>ok</th><th>TTFT p50 / p90 (ms)</th><th>e2e p50 / p90 (s)</th><th>goodput</th><th>output tokens</th><th>output share</th></tr>
${p.tenants.map((t) => `<tr><th>${escapeHtml(t.tenant)}</th><td>${fmt.num(t.requests)}</td><td>${fmt.num(t.ok)}</td><td>${fmt.ms(t.ttft.p50)} / ${fmt.ms(t.ttft.p90)}</td><td>${fmt.sec(t.e2e.p50)} / ${fmt.sec(t.e2e.p90)}</td><td>${fmt.pct(t.goodputFraction)}</td><td>${fmt.num(t.outputTokens)}</td><td>${fmt.pct(t.outputShare)}</td></tr>`).join('\n')}
</table>`).join('\n');
  const admission = ps.filter((p) => p.admission !== undefined).map((p) => admissionHtml(p.policy, p.admission!)).join('\n');
  const rollouts = ps.filter((p) => p.rollout !== undefined).map((p) => `<h3>${escapeHtml(p.policy)}</h3>\n<pre>${escapeHtml(rolloutLines(p.rollout!).join('\n'))}</pre>`).join('\n');
  // folded: a big fleet would otherwise push the notes off the page; <details> needs no script
  const replicas = ps.filter((p) => p.replicas.length > 0).map((p) => `<details><summary>Per replica: ${escapeHtml(p.policy)}</summary>
<table><tr><th>replica</th><th>region</th><th>requests</th><th>busy</th><th>mean running</th><th>prefix hits</th><th>preemptions</th></tr>
${p.replicas.map((r) => `<tr><th>${escapeHtml(r.id)}</th><td>${escapeHtml(r.region)}</td><td>${fmt.num(r.requests)}</td><td>${fmt.pct(r.busyFraction)}</td><td>${fmt.num(r.meanRunning, 1)}</td><td>${fmt.pct(r.prefixHitRate)}</td><td>${fmt.num(r.preemptions)}</td></tr>`).join('\n')}
</table></details>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`Switchyard sim: ${s.name}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}dt{font-weight:bold;float:left;width:90px}dd{margin-left:100px}</style>
</head><body>
<h1>${escapeHtml(s.name)}</h1>
<p>${escapeHtml(s.description)}</p>
<dl><dt>seed</dt><dd>${s.seed}</dd><dt>fleet</dt><dd>${escapeHtml(s.fleet)}</dd><dt>workload</dt><dd>${escapeHtml(s.workload)}</dd>
<dt>faults</dt><dd>${s.faults.length > 0 ? s.faults.map(escapeHtml).join('<br>') : 'none'}</dd>
<dt>SLO</dt><dd>TTFT ≤ ${fmt.ms(s.slo.ttftS)} ms${escapeHtml(byClass(s.slo.ttftSByPriority))}, TPOT ≤ ${fmt.ms(s.slo.tpotS)} ms${s.slo.e2eS !== undefined ? `, end to end ≤ ${fmt.sec(s.slo.e2eS)} s` : ''}</dd></dl>
<h2>Policies side by side</h2>
<table><tr><th></th>${head}</tr>
${rows}
</table>
<h2>Plots</h2>
<div class="plots">
${plots.join('\n')}
</div>
<h2>Tenants</h2>
${tenants}
${admission ? `<h2>Admission</h2>\n${admission}` : ''}
${rollouts ? `<h2>Rollout</h2>\n${rollouts}` : ''}
<h2>Replicas</h2>
${replicas}
<h2>Notes</h2>
<ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>
</body></html>
`;
}

/** Per class and per tenant, for one run with admission. */
function admissionHtml(policy: string, a: AdmissionReport): string {
  return `<h3>Admission: ${escapeHtml(policy)} (${escapeHtml(a.discipline)}); Jain's index, max-min fair: all ${fmt.num(a.jain, 3)}, others ${fmt.num(a.jainOthers, 3)}</h3>
<table><tr><th>class</th><th>requests</th><th>ok</th><th>shed</th><th>of them after waiting</th><th>TTFT p50 / p99 (ms)</th><th>goodput</th></tr>
${a.classes.map((c) => `<tr><th>${c.priority}</th><td>${fmt.num(c.requests)}</td><td>${fmt.num(c.ok)}</td><td>${fmt.num(c.shed)}</td><td>${fmt.num(c.shedWaited)}</td><td>${fmt.ms(c.ttft.p50)} / ${fmt.ms(c.ttft.p99)}</td><td>${fmt.pct(c.goodputFraction)}</td></tr>`).join('\n')}
</table>
<table><tr><th>tenant</th><th>priority</th><th>weight</th><th>requests</th><th>ok</th><th>shed</th><th>TTFT p50 / p99 (ms)</th><th>goodput</th><th>served / fair share</th></tr>
${a.tenants.map((t) => `<tr><th>${escapeHtml(t.tenant)}${t.heavy ? ' (heavy)' : ''}</th><td>${t.priority}</td><td>${fmt.num(t.weight, 1)}</td><td>${fmt.num(t.requests)}</td><td>${fmt.num(t.ok)}</td><td>${fmt.num(t.shed)}</td><td>${fmt.ms(t.ttft.p50)} / ${fmt.ms(t.ttft.p99)}</td><td>${fmt.pct(t.goodputFraction)}</td><td>${fmt.num(t.served)} / ${fmt.num(t.fairShare)}</td></tr>`).join('\n')}
</table>`;
}
