import { z } from 'zod';

// A rollout is data: the model, the candidate version (and the stable one it replaces), the steps
// each wave of regions goes through, a cap on the candidate's share, and how it is judged and
// rolled back. The admin API and `switchyard rollout start` take this shape (JSON or YAML).

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A duration: ms as a number, or a string such as `500ms`, `30s`, `10m`, `1h`. */
export const durationMs = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as 30s, 10m or 1h (or a number of ms)')
    .transform((s) => Math.round(Number.parseFloat(s) * UNITS[/(ms|s|m|h)$/.exec(s)![1]])),
], { error: 'a duration such as 30s, 10m or 1h (or a number of ms)' });

const name = (what: string) => z.string().min(1, `${what} must not be empty`).max(200, `${what} must be at most 200 characters`)
  .regex(/^[^\u0000-\u001f\u007f]*$/, `${what} must not contain control characters`);

/** One step of a wave: move the candidate's share, wait, or gate on the analysis. */
export const stepSchema = z.union([
  z.strictObject({ setWeight: z.number().min(0).max(100) }),
  /** no duration: until promoted by hand */
  z.strictObject({ pause: z.strictObject({ duration: durationMs.optional() }) }),
  /**
   * Hold until the analysis passes (enough candidate calls, no failure): at least `minDuration`,
   * and pause for a person when `maxDuration` passes without a verdict. The analysis also runs
   * between gates: a failure at any time rolls back.
   */
  z.strictObject({ analysis: z.strictObject({ minDuration: durationMs.default(0), maxDuration: durationMs.default(1_800_000) }).prefault({}) }),
], { error: 'a step is { setWeight: 0–100 }, { pause: { duration? } } or { analysis: { minDuration?, maxDuration? } }' });

export type RolloutStep = z.infer<typeof stepSchema>;

/** The sequential analysis's knobs (docs/rollouts.md says what each one buys). */
export const analysisSchema = z.strictObject({
  /** the chance, over the whole rollout, that a candidate as good as stable is rolled back (split over the metrics) */
  alpha: z.number().gt(0).lt(0.5).default(0.01),
  /** candidate calls since an analysis step began before it may pass */
  minCalls: z.number().int().positive().default(200),
  /** a candidate call is compared only with stable calls that ended within this of it */
  windowMs: durationMs.default(60_000),
  /** stable calls matched to each candidate call */
  maxMatched: z.number().int().min(1).max(32).default(8),
  /** relative changes tolerated before a metric counts as worse (0.1 = 10 %) */
  tolerance: z.strictObject({
    errors: z.number().nonnegative().max(10).default(0),
    ttft: z.number().nonnegative().max(10).default(0.05),
    itl: z.number().nonnegative().max(10).default(0.05),
    output_tokens: z.number().nonnegative().max(10).default(0.1),
    truncations: z.number().nonnegative().max(10).default(0.1),
    cost: z.number().nonnegative().max(10).default(0.1),
  }).prefault({}),
  /** judge and report, never roll back (Argo's dryRun) */
  dryRun: z.boolean().default(false),
});

export type AnalysisSpec = z.infer<typeof analysisSchema>;

export const DEFAULT_STEPS: RolloutStep[] = [
  { setWeight: 5 }, { analysis: { minDuration: 60_000, maxDuration: 1_800_000 } },
  { setWeight: 25 }, { analysis: { minDuration: 60_000, maxDuration: 1_800_000 } },
  { setWeight: 50 }, { analysis: { minDuration: 60_000, maxDuration: 1_800_000 } },
  { setWeight: 100 },
];

export const rolloutSpecSchema = z.strictObject({
  model: name('model'),
  /** the version to roll out (registered for the model, with replicas) */
  candidate: name('candidate'),
  /** the version it replaces; default the model's stable version */
  stable: name('stable').optional(),
  steps: z.array(stepSchema).min(1).max(50).default(DEFAULT_STEPS),
  /** regions per wave, in order; absent: one region per wave, the one with the fewest stable replicas first */
  waves: z.array(z.array(name('region')).min(1)).min(1).optional(),
  /** the candidate's share never exceeds this (%) before a wave completes; its pools' capacity caps it too */
  maxShare: z.number().gt(0).max(100).default(100),
  analysis: analysisSchema.prefault({}),
  rollback: z.strictObject({
    /** when stable cannot take the candidate's share at once, it moves back this often, as much as stable can carry */
    stepInterval: durationMs.default(10_000),
    /** the share of a pool's capacity (replicas × maxInflightPerReplica) a move may fill */
    headroom: z.number().gt(0).max(1).default(0.8),
  }).prefault({}),
}).superRefine((s, ctx) => {
  if (s.stable !== undefined && s.stable === s.candidate) ctx.addIssue({ code: 'custom', path: ['candidate'], message: 'the candidate must differ from the stable version' });
  const seen = new Set<string>();
  s.waves?.forEach((w, i) => w.forEach((r, j) => {
    if (seen.has(r)) ctx.addIssue({ code: 'custom', path: ['waves', i, j], message: `region "${r}" is in two waves` });
    seen.add(r);
  }));
});

export type RolloutSpec = z.infer<typeof rolloutSpecSchema>;
export type RolloutSpecInput = z.input<typeof rolloutSpecSchema>;
