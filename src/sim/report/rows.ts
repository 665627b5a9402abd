import { PRIORITIES } from '../../admission/index.js';
import type { ClassReport, PolicyReport, SimReport } from './types.js';

// The figures of the side-by-side table, once, for the text report and the HTML page alike.

export interface Row {
  readonly label: string;
  readonly cell: (p: PolicyReport) => string;
}

const ms = (s: number): string => (s === s ? (s * 1000).toFixed(s < 0.1 ? 1 : 0) : '—');
const sec = (s: number): string => (s === s ? s.toFixed(2) : '—');
const num = (x: number, d = 0): string => (x === x ? x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '—');
const pct = (x: number): string => (x === x ? `${(x * 100).toFixed(1)} %` : '—');

export const ROWS: readonly Row[] = [
  { label: 'requests arrived / ok / rejected / failed', cell: (p) => `${num(p.counts.arrived)} / ${num(p.counts.ok)} / ${num(p.counts.rejected)} / ${num(p.counts.failed)}` },
  { label: 'retries', cell: (p) => num(p.counts.retries) },
  { label: 'TTFT mean / p50 / p90 / p99 (ms)', cell: (p) => `${ms(p.ttft.mean)} / ${ms(p.ttft.p50)} / ${ms(p.ttft.p90)} / ${ms(p.ttft.p99)}` },
  { label: 'inter-token (TPOT) mean / p50 / p90 / p99 (ms)', cell: (p) => `${ms(p.itl.mean)} / ${ms(p.itl.p50)} / ${ms(p.itl.p90)} / ${ms(p.itl.p99)}` },
  { label: 'end-to-end mean / p50 / p90 / p99 (s)', cell: (p) => `${sec(p.e2e.mean)} / ${sec(p.e2e.p50)} / ${sec(p.e2e.p90)} / ${sec(p.e2e.p99)}` },
  { label: 'goodput under SLO (req/s, share)', cell: (p) => `${num(p.goodput.reqPerS, 2)} (${pct(p.goodput.fraction)})` },
  { label: 'throughput (req/s)', cell: (p) => num(p.throughput.reqPerS, 2) },
  { label: 'input / output tokens (tok/s)', cell: (p) => `${num(p.throughput.inputTokPerS)} / ${num(p.throughput.outputTokPerS)}` },
  { label: 'prefix-cache hit rate', cell: (p) => pct(p.prefixCacheHitRate) },
  { label: 'preemptions', cell: (p) => num(p.preemptions) },
  { label: "Jain's index, tenant goodput / completion", cell: (p) => `${num(p.jainGoodput, 3)} / ${num(p.jainCompletion, 3)}` },
  { label: 'GPU-hours (h) / cost (USD)', cell: (p) => `${num(p.gpuHours, 2)} / ${num(p.costUsd, 2)}` },
  { label: 'cost per M tokens, all / output only (USD)', cell: (p) => `${num(p.costPerMTokens, 3)} / ${num(p.costPerMOutputTokens, 2)}` },
];

/** One figure per class, interactive / standard / batch; a class that sent nothing is a dash. */
function perClass(p: PolicyReport, cell: (c: ClassReport) => string): string {
  const a = p.admission;
  if (a === undefined) return '—';
  return PRIORITIES.map((k) => {
    const c = a.classes.find((x) => x.priority === k);
    return c === undefined ? '—' : cell(c);
  }).join(' / ');
}

/** Shown when a run used admission: who it shed, how late each class was, how fair it was. */
export const ADMISSION_ROWS: readonly Row[] = [
  { label: 'admission discipline', cell: (p) => p.admission?.discipline ?? 'none' },
  { label: 'shed, interactive / standard / batch', cell: (p) => perClass(p, (c) => num(c.shed)) },
  { label: 'TTFT p99, interactive / standard / batch (ms)', cell: (p) => perClass(p, (c) => ms(c.ttft.p99)) },
  { label: 'goodput share, interactive / standard / batch', cell: (p) => perClass(p, (c) => pct(c.goodputFraction)) },
  { label: "Jain's index, max-min fair: all / others", cell: (p) => (p.admission === undefined ? '—' : `${num(p.admission.jain, 3)} / ${num(p.admission.jainOthers, 3)}`) },
];

/** Shown when a run autoscaled: what it scaled, how often, how much it wavered. */
export const AUTOSCALE_ROWS: readonly Row[] = [
  { label: 'autoscaler policy', cell: (p) => p.autoscale?.policies.join(', ') ?? 'none' },
  { label: 'autoscaled GPU-hours (h)', cell: (p) => (p.autoscale === undefined ? '—' : num(p.autoscale.gpuHours, 2)) },
  { label: 'scale events / oscillations', cell: (p) => (p.autoscale === undefined ? '—' : `${num(p.autoscale.scaleEvents)} / ${num(p.autoscale.oscillations)}`) },
  { label: 'replicas, peak / mean', cell: (p) => (p.autoscale === undefined ? '—' : `${num(p.autoscale.peakReplicas)} / ${num(p.autoscale.meanReplicas, 1)}`) },
];

/** The rows a report shows: the admission and autoscaling ones too when any run used them. */
export function rowsOf(report: SimReport): readonly Row[] {
  return [
    ...ROWS,
    ...(report.policies.some((p) => p.admission !== undefined) ? ADMISSION_ROWS : []),
    ...(report.policies.some((p) => p.autoscale !== undefined) ? AUTOSCALE_ROWS : []),
  ];
}

/** " (standard 10000 ms, batch 60000 ms)": the per-class TTFT bounds of an SLO, or nothing */
export function byClass(by: Readonly<Partial<Record<string, number>>> | undefined): string {
  const parts = Object.entries(by ?? {}).map(([k, v]) => `${k} ${ms(v!)} ms`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export const fmt = { ms, sec, num, pct };
