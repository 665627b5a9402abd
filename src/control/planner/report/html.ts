import { barChart, escapeHtml, lineChart, type Line } from '../../../sim/report/svg.js';
import type { PlanOutcome, PlanReport } from '../types.js';
import {
  COMPARISON_HEAD, STREAM_HEAD, UNIT_COST_HEAD, WHAT_IF_HEAD, comparisonRows, fmt, headline, offerLabel, replicasAt, streamRows, unitCostRows, usdByHour, usdPerDay, whatIfRows,
} from './text.js';

// One self-contained page, like `switchyard sim`'s: the headline, plots (replicas per region and
// hour, cost per hour beside the baselines, demand per stream, what each outcome costs, attainment
// per checked hour) and the text report's tables. Every name comes from the plan's YAML, so every
// one is escaped.

/** an hourly series as steps: the value holds from h to h + 1 */
const steps = (values: readonly number[]): (readonly [number, number])[] => values.flatMap((v, h) => [[h, v], [h + 1, v]] as const);

function replicaCharts(r: PlanReport, o: PlanOutcome): string[] {
  return r.regions.flatMap((region) => {
    const lines: Line[] = o.offers.flatMap((off, i) => {
      if (off.region !== region) return [];
      const values = Array.from({ length: r.hours }, (_, h) => replicasAt(o, h)[i] ?? 0);
      return values.some((v) => v > 0) ? [{ name: offerLabel(off), points: steps(values) }] : [];
    });
    return lines.length === 0 ? [] : [lineChart(`Replicas per hour: ${region}`, 'hour', 'replicas', lines)];
  });
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return `<table><tr>${head.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>\n${rows.map((row) => `<tr>${row.map((c, i) => (i === 0 ? `<th>${escapeHtml(c)}</th>` : `<td>${escapeHtml(c)}</td>`)).join('')}</tr>`).join('\n')}\n</table>`;
}

/** replicas per offer and hour, as the text report's table, one row per offer */
function replicaHtml(r: PlanReport, o: PlanOutcome): string {
  const hs = Array.from({ length: r.hours }, (_, h) => String(h));
  const rows = o.offers.flatMap((off, i) => {
    const cells = Array.from({ length: r.hours }, (_, h) => replicasAt(o, h)[i] ?? 0);
    return cells.some((c) => c > 0) ? [[off.id, ...cells.map((c) => (c === 0 ? '·' : String(c)))]] : [];
  });
  return rows.length === 0 ? '<p>no replicas</p>' : table(['offer \\ hour', ...hs], rows);
}

function checkHtml(o: PlanOutcome): string {
  const c = o.check;
  if (c === null) return '<p>Not checked in the simulator.</p>';
  const rows = c.runs.map((run) => {
    const req = run.streams.reduce((t, s) => t + s.requests, 0);
    const met = run.streams.reduce((t, s) => t + s.met, 0);
    const worst = run.streams.filter((s) => s.requests > 0).map((s) => ({ s: s.stream, a: s.met / s.requests })).sort((a, b) => a.a - b.a)[0];
    const busy = run.utilisation.length > 0 ? run.utilisation.reduce((t, u) => t + u.busy * u.replicas, 0) / Math.max(1, run.utilisation.reduce((t, u) => t + u.replicas, 0)) : NaN;
    return [String(run.hour), run.scenario, fmt.num(req), fmt.pct(req > 0 ? met / req : null), worst ? `${worst.s} ${fmt.pct(worst.a)}` : '—', fmt.pct(Number.isFinite(busy) ? busy : null), fmt.num(run.preemptions)];
  });
  return `<details><summary>${escapeHtml(`${c.runs.length} simulator runs, ${fmt.num(c.simulatedS)} virtual seconds`)}</summary>
${table(['hour', 'scenario', 'requests', 'attainment', 'worst stream', 'busy', 'preemptions'], rows)}
</details>`;
}

/** The report as one page. */
export function renderPlanHtml(r: PlanReport): string {
  const feasible = (o: PlanOutcome) => o.solution.status === 'optimal';
  const best = r.singleType.find(feasible);
  const costLines: Line[] = [r.plan, r.peak, ...(best ? [best] : [])].filter(feasible).map((o) => ({ name: o.label, points: steps(usdByHour(r, o)) }));
  const outcomes = [r.plan, ...r.singleType, r.peak, ...r.whatIfs.map((w) => w.outcome)];
  const attainment = r.plan.check?.runs.filter((x) => x.scenario === 'normal').map((x) => {
    const req = x.streams.reduce((t, s) => t + s.requests, 0);
    return { hour: x.hour, a: req > 0 ? x.streams.reduce((t, s) => t + s.met, 0) / req : 1 };
  }).sort((a, b) => a.hour - b.hour) ?? [];
  const plots = [
    ...replicaCharts(r, r.plan),
    costLines.length > 0 ? lineChart('Cost per hour: the plan beside peak provisioning and the best single type', 'hour', 'USD / hour', costLines) : '',
    lineChart('Demand per hour, per stream', 'hour', 'requests / s', r.streams.map((s) => ({ name: s.id, points: steps(s.ratesPerS) }))),
    barChart('USD a day, per outcome (0: infeasible)', 'USD / day', outcomes.map((o) => o.label), [{ name: 'USD / day', values: outcomes.map((o) => usdPerDay(r, o) ?? 0) }]),
    attainment.length > 0 ? barChart('SLO attainment in the simulator, per checked hour (the plan)', 'attainment', attainment.map((x) => `hour ${x.hour}`), [{ name: 'attainment', values: attainment.map((x) => x.a) }], 1) : '',
  ].filter((p) => p !== '');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(`Switchyard plan: ${r.name}`)}</title>
<style>body{font:14px system-ui,sans-serif;margin:24px;max-width:1200px}table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th:first-child{text-align:left}.plots{display:flex;flex-wrap:wrap;gap:12px}pre{background:#f6f6f6;padding:8px}.wide{overflow-x:auto}</style>
</head><body>
<h1>${escapeHtml(r.name)}</h1>
<p>${escapeHtml(r.description)}</p>
<p>${escapeHtml(`seed ${r.seed}; regions ${r.regions.join(', ')}; ${r.hours} h; streams ${r.streams.map((s) => s.id).join(', ')}; ${r.plan.offers.length} offers`)}</p>
<pre>${escapeHtml(headline(r).join('\n'))}</pre>
<h2>Plots</h2>
<div class="plots">
${plots.join('\n')}
</div>
<h2>Demand</h2>
${table(STREAM_HEAD, streamRows(r))}
<h2>Replicas per offer and hour (the plan)</h2>
<div class="wide">${replicaHtml(r, r.plan)}</div>
<h2>The plan beside its baselines</h2>
${table(COMPARISON_HEAD, comparisonRows(r))}
${r.whatIfs.length > 0 ? `<h2>What-ifs</h2>\n${table(WHAT_IF_HEAD, whatIfRows(r))}` : ''}
<h2>Cost per million tokens</h2>
${unitCostRows(r).length > 0 ? table(UNIT_COST_HEAD, unitCostRows(r)) : '<p>nothing served</p>'}
${r.warnings.length > 0 ? `<h2>Warnings</h2>\n<ul>${r.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>` : ''}
<h2>The simulator's check (the plan)</h2>
${checkHtml(r.plan)}
</body></html>
`;
}
