import type { PolicyReport } from './types.js';

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

export const fmt = { ms, sec, num, pct };
