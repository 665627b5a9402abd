// The shapes a workload hands the simulator. Times are virtual seconds from the start of the run;
// prompts are described by segments, never by token ids, so a 100k-token prompt costs a few objects.

/** A run of prompt tokens: `length` tokens of the text named `key`, from its start. */
export interface Segment {
  readonly key: number;
  readonly length: number;
}

/** One request of a workload. Times in seconds from the start of the run. */
export interface Arrival {
  /** 0, 1, 2… in arrival order */
  readonly id: number;
  /** non-decreasing */
  readonly atS: number;
  /** 'default' when the source has none */
  readonly tenant: string;
  /** null = the scenario's default model */
  readonly model: string | null;
  /** ≥ 1 */
  readonly promptLen: number;
  /** ≥ 1 (a trace row with 0 generated tokens becomes 1; trace workloads count them) */
  readonly outputLen: number;
  /** what the prompt is made of, in order; lengths sum to promptLen. Equal keys at equal positions = equal tokens. */
  readonly segments: readonly Segment[];
  /** the segment key of this request's output, so a multi-turn follow-up that includes it can hit the cache */
  readonly outputKey: number;
  /** multi-turn session id, when any */
  readonly session: number | null;
}

/** A pull iterator: traces are large, so prompts are built one arrival at a time. */
export interface Workload {
  readonly name: string;
  /** one line for reports */
  readonly description: string;
  /** null when exhausted (or past the duration) */
  next(): Arrival | null;
}

/** A replayed trace also tells what it read. */
export interface TraceWorkload extends Workload {
  /** arrivals this replay will produce (after startS / durationS) */
  readonly requests: number;
  /** virtual seconds from the first to the last of them */
  readonly spanS: number;
  /** rows of the whole file */
  readonly rows: number;
  /** rows whose output length was 0 and became 1 (prompt likewise) */
  readonly zeroOutputRows: number;
  readonly zeroPromptRows: number;
  /** bytes of the parsed table per row (typed arrays; prompts are built lazily) */
  readonly bytesPerRequest: number;
}

/** Traces whose length distributions are built in (quantile tables, see empirical.ts). */
export const EMPIRICAL_TRACES = ['azure-code', 'azure-conv', 'mooncake-conversation', 'mooncake-synthetic'] as const;
export type EmpiricalTrace = (typeof EMPIRICAL_TRACES)[number];

/**
 * A distribution of token counts (or of seconds, for think times). Token counts are rounded and
 * clamped to [max(1, min), max]; seconds are clamped to [min ?? 0, max]. A bare number is `fixed`.
 */
export type LengthDist =
  | number
  | { readonly kind: 'fixed'; readonly value: number }
  | { readonly kind: 'uniform'; readonly min: number; readonly max: number }
  | {
      readonly kind: 'lognormal';
      /** give the mean or the median (p50), and the spread as sigma (default 0.5) or p90 */
      readonly mean?: number;
      readonly p50?: number;
      readonly p90?: number;
      readonly sigma?: number;
      readonly min?: number;
      readonly max?: number;
    }
  | {
      readonly kind: 'empirical';
      readonly trace: EmpiricalTrace;
      /** which column; default: the role it is used in (prompt for prompts and user turns, output for outputs) */
      readonly of?: 'prompt' | 'output';
      readonly min?: number;
      readonly max?: number;
    };

/** Each arrival's tenant is drawn by weight. */
export type TenantMix = readonly { readonly name: string; readonly weight: number }[];

/** A workload that cannot be built: a bad option or an unreadable trace. The message says the fix. */
export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
}
