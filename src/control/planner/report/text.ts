import type { CheckResult, Offer, PlanOutcome, PlanReport, WhatIfRow } from '../types.js';

// The planner's report for a terminal (kept within 100 columns), and the figures it is made of,
// which the HTML page shows too: the headline, replicas per region and hour, the plan beside its
// baselines, the what-ifs, and cost per million tokens per model and region.

/** hours of replicas per table block: a day fits in 100 columns */
const HOURS_PER_BLOCK = 24;
/** a what-if's name and note are cut here in the terminal (the JSON and HTML keep them whole) */
const NAME_CHARS = 28;
const NOTE_CHARS = 36;

const num = (x: number, d = 0): string => (Number.isFinite(x) ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const pct = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(1)} %`);
const signed = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : `${x > 0 ? '+' : x < 0 ? '−' : '±'}${Math.abs(x * 100).toFixed(1)} %`);
const usd = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : num(x, 2));

export const fmt = { num, pct, signed, usd };

const feasible = (o: PlanOutcome): boolean => o.solution.status === 'optimal';

/** USD a day: the horizon's cost scaled to 24 hours */
export const usdPerDay = (r: PlanReport, o: PlanOutcome): number | null => (feasible(o) ? (o.solution.usd * 24) / r.hours : null);

/** USD per hour of the horizon: Σ replicas × GPUs × price over the offers */
export function usdByHour(r: PlanReport, o: PlanOutcome): number[] {
  return Array.from({ length: r.hours }, (_, h) => {
    const row = replicasAt(o, h);
    return o.offers.reduce((t, off, i) => t + (row[i] ?? 0) * off.gpus * off.usdPerGpuHour, 0);
  });
}

/** the replicas of hour h (a static fleet may list one row for every hour) */
export function replicasAt(o: PlanOutcome, h: number): readonly number[] {
  const rs = o.solution.replicas;
  return rs[h] ?? rs[rs.length - 1] ?? [];
}

/** `99.6 % ok` / `97.0 % MISS` (the normal scenario's attainment; ok covers the failure runs too) / `—` when not checked */
export function attainmentCell(c: CheckResult | null): string {
  return c === null ? '—' : `${pct(c.attainment)} ${c.ok ? 'ok' : 'MISS'}`;
}

/** an offer as the tables name it: its profile, and `spot` for a spot offer */
export const offerLabel = (o: Offer): string => (o.spot ? `${o.profile} spot` : o.profile);

/** The figures of the comparisons table: the plan, each single type, peak provisioning. */
export function comparisonRows(r: PlanReport): string[][] {
  const planUsd = r.plan.solution.status === 'optimal' ? r.plan.solution.usd : null;
  return [r.plan, ...r.singleType, r.peak].map((o) => {
    const ok = feasible(o);
    const vs = o === r.plan || !ok || planUsd === null || !(planUsd > 0) ? null : o.solution.usd / planUsd - 1;
    return [
      o.label, ok ? 'yes' : 'no', usd(usdPerDay(r, o)), ok ? num(o.solution.gpuHours, 1) : '—', ok ? pct(o.utilisation) : '—',
      attainmentCell(o.check), o === r.plan ? '' : signed(vs),
    ];
  });
}
export const COMPARISON_HEAD = ['', 'feasible', 'USD / day', 'GPU-hours', 'util', 'attainment', 'vs plan'];

/**
 * why a what-if reads as it does: why it failed, how the plan's own fleet fares in it (a region
 * lost), and demand residency leaves exposed that the plan itself does not
 */
function whatIfNote(r: PlanReport, w: WhatIfRow): string {
  const parts: string[] = [];
  const s = w.outcome.solution;
  if (s.status !== 'optimal') parts.push(s.message ?? s.status);
  if (w.survivors !== null) parts.push(`the plan's fleet without it: ${pct(w.survivors.attainment)}${w.survivors.ok ? '' : ' (misses)'}`);
  const already = new Set(r.plan.solution.unprotected.map((u) => u.stream));
  const exposed = [...new Set(s.unprotected.map((u) => u.stream))].filter((x) => !already.has(x));
  if (exposed.length > 0) parts.push(`unprotected: ${exposed.join(', ')}`);
  return parts.join('; ');
}

export function whatIfRows(r: PlanReport): string[][] {
  return r.whatIfs.map((w) => [w.name, w.kind, usd(usdPerDay(r, w.outcome)), signed(w.deltaVsPlan), attainmentCell(w.outcome.check), whatIfNote(r, w)]);
}
export const WHAT_IF_HEAD = ['what-if', 'kind', 'USD / day', 'vs plan', 'attainment', 'note'];


/** Cost per million tokens per model and region: the plan's, beside the best single type's and peak provisioning's. */
export function unitCostRows(r: PlanReport): string[][] {
  const perM = (x: number | null) => (x === null ? '—' : num(x, 3));
  const best = r.singleType.find((o) => o.solution.status === 'optimal');
  const outcomes = [r.plan, ...(best === undefined ? [] : [best]), r.peak].filter((o) => o.unitCosts.length > 0);
  return outcomes.flatMap((o) => o.unitCosts.map((u) => [
    o.label.replace(/^single type: /, 'only '), clip(u.model, 20), u.region, usd(u.usd), num(u.inputTokens / 1e6, 1), num(u.outputTokens / 1e6, 1), perM(u.inputUsdPerM), perM(u.outputUsdPerM),
  ]));
}
export const UNIT_COST_HEAD = ['outcome', 'model', 'region', 'GPU USD', 'in Mtok', 'out Mtok', '$/M in', '$/M out'];

export function streamRows(r: PlanReport): string[][] {
  return r.streams.map((s) => {
    const peak = Math.max(0, ...s.ratesPerS);
    const mean = s.ratesPerS.reduce((a, b) => a + b, 0) / Math.max(1, s.ratesPerS.length);
    return [s.id, s.origin, s.model, s.tier, s.allowed.join(' '), num(peak, 2), num(mean, 2), String(s.buckets.length)];
  });
}
export const STREAM_HEAD = ['stream', 'origin', 'model', 'tier', 'may be served in', 'peak req/s', 'mean req/s', 'buckets'];

/** The headline's lines: what the plan costs, what it saves, how the simulator judged it. */
export function headline(r: PlanReport): string[] {
  const p = r.plan;
  const lines: string[] = [];
  if (!feasible(p)) {
    lines.push(`no plan: ${p.solution.status}${p.solution.message ? ` — ${p.solution.message}` : ''}`);
    return lines;
  }
  const best = r.singleType.find(feasible);
  lines.push(`cost                 ${usd(usdPerDay(r, p))} USD a day${r.hours !== 24 ? ` (${usd(p.solution.usd)} USD over ${r.hours} h)` : ''}, ${num(p.solution.gpuHours, 1)} GPU-hours`);
  lines.push(`vs per-region peak   ${r.savings.vsPeak === null ? `— (peak provisioning: ${r.peak.solution.status})` : `${signed(-r.savings.vsPeak)} (peak ${usd(usdPerDay(r, r.peak))} USD a day)`}`);
  lines.push(`vs best single type  ${r.savings.vsBestSingleType === null ? '— (no single GPU type serves it all)' : `${signed(-r.savings.vsBestSingleType)} (${best!.label.replace(/^single type: /, '')}, ${usd(usdPerDay(r, best!))} USD a day)`}`);
  lines.push(`utilisation          ${pct(p.utilisation)} of the capacity held, planned`);
  const c = p.check;
  if (c === null) lines.push('attainment in sim    not checked');
  else {
    const hours = new Set(c.runs.filter((x) => x.scenario === 'normal').map((x) => x.hour)).size;
    lines.push(`attainment in sim    ${pct(c.attainment)} over ${plural(hours, 'hour')}${c.failureAttainment !== null ? `, ${pct(c.failureAttainment)} with a region lost` : ''}; target ${pct(c.target)}: ${c.ok ? 'met' : 'MISSED'}`);
    if (c.worstStream !== null) lines.push(`worst stream         ${c.worstStream.stream}, ${pct(c.worstStream.attainment)}`);
  }
  const exposed = [...new Set(p.solution.unprotected.map((u) => `${u.stream} (${u.scenario})`))];
  if (exposed.length > 0) lines.push(`unprotected          ${exposed.join(', ')}: residency pins them to the region lost`);
  return lines;
}

/** Replicas per offer (rows, grouped by region) and hour (columns), a day per block; zeros as dots. */
export function replicaTable(r: PlanReport, o: PlanOutcome): string {
  const used = o.offers.map((_, i) => o.solution.replicas.some((row) => (row[i] ?? 0) > 0));
  const rows = r.regions.flatMap((region) => {
    const mine = o.offers.map((off, i) => ({ off, i })).filter(({ off, i }) => off.region === region && used[i]);
    return mine.length === 0 ? [] : [{ label: region, cells: null as number[] | null }, ...mine.map(({ off, i }) => ({ label: `  ${offerLabel(off)}`, cells: Array.from({ length: r.hours }, (_, h) => replicasAt(o, h)[i] ?? 0) }))];
  });
  if (rows.length === 0) return '  (no replicas)';
  const lw = Math.max(...rows.map((x) => x.label.length));
  const most = Math.max(...rows.flatMap((x) => x.cells ?? [0]));
  const cw = Math.max(2, String(most).length) + 1;
  const out: string[] = [];
  for (let from = 0; from < r.hours; from += HOURS_PER_BLOCK) {
    const hs = Array.from({ length: Math.min(HOURS_PER_BLOCK, r.hours - from) }, (_, k) => from + k);
    if (from > 0) out.push('');
    out.push(`${'hour'.padEnd(lw)}${hs.map((h) => String(h).padStart(cw)).join('')}`);
    for (const x of rows) out.push(x.cells === null ? x.label : `${x.label.padEnd(lw)}${hs.map((h) => (x.cells![h] === 0 ? '.' : String(x.cells![h])).padStart(cw)).join('')}`);
  }
  return out.map((l) => `  ${l}`).join('\n');
}

/** The terminal report. */
export function renderPlanText(r: PlanReport): string {
  const out: string[] = [];
  out.push(`plan ${r.name} (seed ${r.seed})${r.description ? `: ${r.description}` : ''}`);
  out.push(`  ${plural(r.hours, 'hour')}, ${plural(r.regions.length, 'region')} (${r.regions.join(', ')}), ${plural(r.streams.length, 'demand stream')}, ${plural(r.plan.offers.length, 'offer')}`);
  out.push('', ...headline(r).map((l) => `  ${l}`));
  out.push('', 'demand:', indent(table(STREAM_HEAD, streamRows(r), new Set([0, 1, 2, 3, 4]))));
  out.push('', 'replicas per region and hour (the plan):', replicaTable(r, r.plan));
  out.push('', 'the plan beside its baselines:', indent(table(COMPARISON_HEAD, comparisonRows(r))));
  if (r.whatIfs.length > 0) {
    // the kind is left out here (the name says it) to keep the note readable in 100 columns
    const drop = (row: readonly string[]) => row.filter((_, i) => i !== 1);
    const rows = whatIfRows(r).map((row) => drop([clip(row[0], NAME_CHARS), ...row.slice(1, -1), clip(row[row.length - 1], NOTE_CHARS)]));
    out.push('', 'what-ifs:', indent(table(drop(WHAT_IF_HEAD), rows, new Set([0, 4]))));
  }
  const costs = unitCostRows(r);
  if (costs.length > 0) out.push('', `cost per million tokens (normal scenario, over ${plural(r.hours, 'hour')}):`, indent(table(UNIT_COST_HEAD, costs, new Set([0, 1, 2]))));
  if (r.warnings.length > 0) out.push('', 'warnings:', ...r.warnings.map((w) => `  ${w}`));
  return out.join('\n') + '\n';
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

const clip = (s: string, n: number): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

const indent = (s: string): string => s.split('\n').map((l) => `  ${l}`).join('\n');

/** Columns padded to their widest cell; the columns of words (default the first) left-aligned, figures right-aligned. */
function table(head: readonly string[], rows: readonly (readonly string[])[], words: ReadonlySet<number> = new Set([0])): string {
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (words.has(i) ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ').trimEnd();
  return [line(head), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}
