import { getProfile } from '../profiles.js';
import { closedLoop, promptTimeMs, tokenTimeMs } from './measure.js';
import { NIM_LLAMA_31_8B, NIM_LLAMA_33_70B_FP8_TP2, SPLITWISE } from './published.js';

// Model against measurement, point by point. A point is "covered" when the model is meant to
// reproduce it; the others are shown with the reason they are not.

export interface CalibrationRow {
  readonly profile: string;
  readonly source: string;
  readonly point: string;
  readonly publishedMs: number;
  readonly modelMs: number;
  /** (model − published) / published, percent */
  readonly errorPct: number;
  readonly covered: boolean;
  readonly why: string;
}

const row = (profile: string, source: string, point: string, publishedMs: number, modelMs: number, covered = true, why = ''): CalibrationRow =>
  ({ profile, source, point, publishedMs, modelMs, errorPct: ((modelMs - publishedMs) / publishedMs) * 100, covered, why });

// Splitwise ran vLLM without chunked prefill (one 8k prompt is one step), and past Llama 2's
// 4k context for its longest prompts.
const SPLITWISE_ENGINE = { maxNumBatchedTokens: 8192, maxModelLen: 16_384 };

function splitwise(profile: string, data: typeof SPLITWISE.h100, kvFitsBatch64: boolean): CalibrationRow[] {
  const p = getProfile(profile)!;
  const rows: CalibrationRow[] = [];
  for (const [tokens, ms] of Object.entries(data.promptMs)) {
    rows.push(row(profile, SPLITWISE.source, `prompt time, batch 1, ${tokens} tokens`, ms, promptTimeMs(p, Number(tokens), SPLITWISE_ENGINE)));
  }
  for (const [batch, ms] of Object.entries(data.tokenMs)) {
    const b = Number(batch);
    const covered = b <= 32 || kvFitsBatch64;
    rows.push(row(profile, SPLITWISE.source, `token time, batch ${batch}, 512 in / 128 out`, ms, tokenTimeMs(p, b, 512, 128, SPLITWISE_ENGINE), covered,
      covered ? '' : 'batch 64 × 640 tokens outgrows the KV cache at TP2 (~22k tokens): the run was preempting, and its token time falls below batch 32\'s, which no steady batch does'));
  }
  return rows;
}

function nim70b(): CalibrationRow[] {
  const name = 'llama-3.3-70b-fp8-h100-tp2';
  const p = getProfile(name)!;
  const d = NIM_LLAMA_33_70B_FP8_TP2;
  const rows: CalibrationRow[] = [];
  for (const pt of d.points) {
    const r = closedLoop(p, pt.concurrency, d.inputTokens, d.outputTokens);
    const covered = pt.concurrency <= 50;
    const why = covered ? '' : 'beyond KV capacity: requests queue, and TTFT then measures the benchmark\'s queue (its length and warm-up), not the engine';
    // NIM's TTFT rises 140 ms from 1 to 5 users although the engine has no more to do (the others
    // decode; their 0.4 s prefills seldom collide in a 10 s cycle): something outside a batching
    // model (TensorRT-LLM's scheduling or the client) that the model does not claim to reproduce
    const ttftCovered = covered && pt.concurrency !== 5;
    const ttftWhy = ttftCovered ? why : why || 'NIM adds ~140 ms over 1 user with no more engine work to explain it; the model gives the single-user TTFT here';
    rows.push(row(name, d.source, `TTFT, concurrency ${pt.concurrency}`, pt.ttftMs, r.ttftMs, ttftCovered, ttftWhy));
    rows.push(row(name, d.source, `ITL, concurrency ${pt.concurrency}`, pt.itlMs, r.itlMs, covered, why));
  }
  return rows;
}

function nim8b(): CalibrationRow[] {
  const name = 'llama-3.1-8b-h100';
  const p = getProfile(name)!;
  const why = 'not a point this profile models: the table names no sequence lengths, GPU count or precision, and NIM 1.8 serves 8B with TensorRT-LLM in FP8 (its 4.6 ms ITL is below the BF16 weight read of 4.8 ms at full HBM bandwidth)';
  // shown against a 200-in / 200-out closed loop for scale only
  return NIM_LLAMA_31_8B.points.flatMap((pt) => {
    const r = closedLoop(p, pt.concurrency, 200, 200);
    return [
      row(name, NIM_LLAMA_31_8B.source, `TTFT, concurrency ${pt.concurrency} (200 in / 200 out assumed)`, pt.ttftMs, r.ttftMs, false, why),
      row(name, NIM_LLAMA_31_8B.source, `ITL, concurrency ${pt.concurrency} (200 in / 200 out assumed)`, pt.itlMs, r.itlMs, false, why),
    ];
  });
}

/** Every published point against the model, profile by profile. */
export function calibrationTable(): CalibrationRow[] {
  return [
    ...splitwise('llama-2-70b-h100-tp4', SPLITWISE.h100tp4, true),
    ...splitwise('llama-2-70b-h100-tp2', SPLITWISE.h100, false),
    ...splitwise('llama-2-70b-a100-tp2', SPLITWISE.a100, false),
    ...nim70b(),
    ...nim8b(),
  ];
}

/** The table as Markdown (docs/engine-calibration.md is generated from it). */
export function calibrationMarkdown(rows: readonly CalibrationRow[]): string {
  const lines = ['| profile | point | published ms | model ms | error | covered |', '| --- | --- | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    lines.push(`| ${r.profile} | ${r.point} | ${r.publishedMs.toFixed(2)} | ${r.modelMs.toFixed(2)} | ${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)} % | ${r.covered ? 'yes' : 'no¹'} |`);
  }
  return lines.join('\n');
}
