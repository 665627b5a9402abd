import { z } from 'zod';
import { durationMs } from '../rollouts/spec.js';

// The Switchyard policy's knobs (policy.ts). Every knob has a default, so `.parse({})` is a working
// policy, and a bound, so a typo cannot make a pool scale on a 0 ms window or to a 1000× step. Where a
// default says "swept", it won a sweep in the simulator (bench/autoscaling, 70B FP8 TP2 pool, 5 s tick,
// tuned start-up) on both the Azure code and conv ×4 hours; the figures are in docs/autoscaling.md.

/** a duration (ms, or `30s`, `5m`, …) within [min, max] ms */
const window = (min: number, max: number, def: number) =>
  durationMs.pipe(z.number().min(min, `at least ${min} ms`).max(max, `at most ${max} ms`)).default(def);

export const forecastKnobsSchema = z.strictObject({
  /** off: the policy is reactive only (stable and panic windows, concurrency, SLO) */
  enabled: z.boolean().default(true),
  /**
   * Holt's level smoothing per tick: 0.3 follows a step within a few ticks yet averages out
   * per-tick Poisson noise
   */
  alpha: z.number().gt(0).max(1).default(0.3),
  /** Holt's trend smoothing per tick: small, so one noisy tick does not tilt a start-up's projection */
  beta: z.number().gt(0).max(1).default(0.05),
  /** the seasonal period (a day is 86_400_000); 0: no seasonal term */
  seasonPeriodMs: window(0, 30 * 86_400_000, 0),
  /** one seasonal bucket: 5 minutes resolves a morning ramp without leaving buckets unobserved */
  seasonBucketMs: window(1_000, 86_400_000, 300_000),
  /** how a bucket's index applies: multiplicative scales with the day's level, additive suits near-zero nights */
  seasonMode: z.enum(['multiplicative', 'additive']).default('multiplicative'),
  /**
   * the projection never exceeds this × the larger of the recent maximum rate and the rate seen in
   * the target bucket last period (AIBrix clamps to 4× the mean; the max is steadier on bursty traces)
   */
  clamp: z.number().min(1).max(100).default(4),
}).superRefine((f, ctx) => {
  if (f.seasonPeriodMs > 0 && f.seasonPeriodMs < 2 * f.seasonBucketMs) {
    ctx.addIssue({ code: 'custom', path: ['seasonPeriodMs'], message: 'a season must hold at least two buckets (seasonPeriodMs ≥ 2 × seasonBucketMs), or be 0 for none' });
  }
});

export const switchyardKnobsSchema = z.strictObject({
  /** a ready replica whose telemetry is older than this counts as no capacity (it never blocks a decision) */
  staleAfterMs: window(1_000, 600_000, 30_000),
  /** the stable rate's EWMA time constant: long enough to ride out a trace's seconds-scale bursts */
  stableWindowMs: window(1_000, 3_600_000, 120_000),
  /** the panic rate's EWMA time constant: short, to see a burst within a tick or two */
  panicWindowMs: window(1_000, 600_000, 20_000),
  /** panic when the panic rate reaches this × the stable rate (KPA's 2.0) */
  panicThreshold: z.number().min(1).max(100).default(2),
  /** no scale-down for this long after a panic: a burst's tail must not undo the replicas it started */
  panicHoldMs: window(0, 3_600_000, 60_000),
  /**
   * the share of a replica's modelled capacity at the SLO the policy plans to use: headroom for noise
   * and model error. Swept 0.75–0.95: 0.85 with the correction below meets 99 % on code, conv ×4 and
   * conv ×3; 0.75 carries conv on ~1 more replica, 0.9+ misses 99 % on conv ×4
   */
  targetUtilisation: z.number().gt(0).max(1).default(0.85),
  /**
   * the most the engine model is corrected by measured latency (measured ÷ modelled p99 at the
   * measured load; Dynamo's planner's correction): capacity is then the model's at SLO ÷ correction. 1: off.
   * Swept 1–8: without it conv ×4 misses 99 % (97.6 %: the mean shape cannot see the spread of lengths
   * and the bursts); 1.5 meets it on both traces; 2+ costs as many GPU-hours as the peak-sized fleet.
   * 1.25, or the same smoothed over 5–30 minutes, lowered the conv peak but let the trough fall to 4
   * and the next ramp catch the pool short (97.0–98.9 %)
   */
  correctionMax: z.number().min(1).max(100).default(1.5),
  /**
   * a need within ±this share of current capacity is no change (HPA's tolerance 0.1). Keep
   * targetUtilisation × (1 + deadBand) below 1, or a held pool runs past its capacity: swept 0.1–0.3,
   * 0.2 saved 9 % on conv ×4 but missed 99 % on conv ×3 (97.9 %), where 0.1 holds 99.9 %
   */
  deadBand: z.number().min(0).max(0.5).default(0.1),
  /** a scale-down follows the highest need of this window (HPA's 300 s; 600 s swept: 7–15 % more GPU-hours for half the scale events) */
  scaleDownStabiliseMs: window(0, 3_600_000, 300_000),
  /**
   * after a step down, the next waits until the drained replica is gone and this long has passed:
   * the pool's latency must show N−1 before N−2 is tried (a quick re-grow is the oscillation).
   * Swept 60–120 s: 120 s lifts code from 98.5 % to 99 % for ~4 % more GPU-hours
   */
  scaleDownCooloffMs: window(0, 3_600_000, 120_000),
  /**
   * no arrival, nothing in flight or queued for this long: down to the minimum, or zero. Swept 300 s →
   * 900 s on the code day: its night has quiet gaps of minutes between bursts, and going to the minimum
   * in each cost attainment (96.0 → 97.2 %) and GPU-hours (−8 %)
   */
  idleMs: window(1_000, 86_400_000, 900_000),
  /** warm calls behind a p99 before it may scale up or hold a scale-down: a p99 of a few calls is one call */
  minLatencySamples: z.number().int().min(1).max(100_000).default(20),
  forecast: forecastKnobsSchema.prefault({}),
  /** at most this many replicas asked for per decision (Dynamo caps a decision at 8) */
  maxStepUp: z.number().int().min(1).max(1_000).default(8),
});

export type SwitchyardKnobs = z.output<typeof switchyardKnobsSchema>;
export type SwitchyardKnobsInput = z.input<typeof switchyardKnobsSchema>;
export type ForecastKnobs = z.output<typeof forecastKnobsSchema>;
