// The autoscaling evidence's setup: one pool (Llama 3.3 70B FP8 on 2 × H100, one region), the
// traces it is judged on, and the policies side by side. Every policy of a case sees the very same
// arrivals (the workload is rebuilt from the same spec and seed for each run).

export const MODEL = 'llama-3.3-70b';
export const PROFILE = 'llama-3.3-70b-fp8-h100-tp2';
export const REGION = 'us-east';
/** the objective every request is held to: p99 targets, attainment = share of requests within both */
export const SLO = { ttftMs: 2000, tpotMs: 100 };
/** least-outstanding: the Azure traces carry no prefixes for the default profile to use, and it is ~2× faster to simulate */
export const ROUTING = 'least-outstanding';
/** the driver's tick for every policy (KEDA's own 30 s poll sits inside its rule) */
export const TICK_S = 5;
/** the sample clock: replicas are counted (and GPU-hours integrated over the window) this often */
export const SAMPLE_S = 5;
export const SEED = 1;
const H = 3600;

/**
 * Every run starts WARMUP_S before what is measured: the policies need a history (a rule that has
 * seen 5 s of a trace's first requests would shrink any pool), so the first ten minutes drive the
 * pool and count for nothing: attainment, GPU-hours, scale events and replicas are of the window
 * [WARMUP_S, WARMUP_S + durationS) alone.
 */
export const WARMUP_S = 600;

/**
 * The cases. Every workload is a `diurnal` one: a 1-hour case is the trace looped under a flat
 * shape (so a sped-up trace still fills the hour), a day is the trace looped and warped to a cosine
 * day with its trough at a quarter of its peak and its peak at 14:00 of the measured window — the
 * peak hour is the trace at its own rate. `hint` is where the search for the fixed fleet starts, and
 * the size every autoscaled run starts from (as if the pool had been sized for the peak the day
 * before); `max` bounds the pool.
 */
export const CASES = [
  { id: 'code', label: 'Azure code (bursty), 1 h', trace: 'code', rateScale: 1, durationS: H, hint: 11, max: 20 },
  { id: 'conv', label: 'Azure conv ×4 rate, 1 h', trace: 'conv', rateScale: 4, durationS: H, hint: 5, max: 16 },
  { id: 'day-conv', label: 'a diurnal day from conv ×4 (trough 0.25 × peak)', trace: 'conv', rateScale: 4, durationS: 24 * H, hint: 5, max: 16, day: true },
  { id: 'day-code', label: 'a diurnal day from code (trough 0.25 × peak)', trace: 'code', rateScale: 1, durationS: 24 * H, hint: 11, max: 20, day: true },
];

export function workloadOf(c) {
  const of = { kind: 'azure', file: `AzureLLMInferenceTrace_${c.trace}.csv`, ...(c.rateScale !== 1 ? { rateScale: c.rateScale } : {}) };
  const durationS = WARMUP_S + c.durationS;
  return c.day ? { kind: 'diurnal', of, durationS, shape: { trough: 0.25, peakAtS: WARMUP_S + 14 * H } } : { kind: 'diurnal', of, durationS, shape: [1] };
}

/** A run's attainment must reach this for the run to count as meeting the SLO (the fixed fleet's search, the goals). */
export const ATTAINMENT_GOAL = 0.99;

/** KEDA's one knob that is the user's to pick: waiting requests per replica. The best of these is reported. */
export const KEDA_SWEEP = [1, 2, 5, 10];
/** KPA's: concurrency per replica (in flight + queued). The best of these is reported. */
export const KPA_SWEEP = [16, 32, 64];

/** Switchyard's knobs swept one at a time around the defaults, on one case. */
export const KNOB_CASE = 'conv';
export const KNOB_SWEEP = {
  targetUtilisation: [0.7, 0.85, 0.95],
  deadBand: [0.1, 0.2, 0.3],
  scaleDownStabiliseMs: [120_000, 300_000, 600_000],
  scaleDownCooloffMs: [60_000, 120_000, 300_000],
  correctionMax: [1, 1.5, 2],
  panicThreshold: [1.5, 2, 3],
};

export const STARTUPS = ['tuned', 'cold', 'snapshot'];
/** the start-up the main table runs; the others are a second table on the 1-hour cases */
export const DEFAULT_STARTUP = 'tuned';

/**
 * The scenario of one run (plain data, as a YAML scenario would say it: the worker parses it):
 * `policy` is { name: fixed | keda | kpa | switchyard, options } (a fixed fleet's options are
 * { replicas }; switchyard's are its knobs).
 */
export function scenarioOf(c, policy, startup = DEFAULT_STARTUP, seed = SEED) {
  const fixed = policy.name === 'fixed';
  const o = policy.options ?? {};
  return {
    name: `autoscale-${c.id}-${policy.name}`,
    description: `${c.label}: ${policy.name}${Object.keys(o).length > 0 ? ` ${JSON.stringify(o)}` : ''}, start-up ${startup}`,
    seed,
    durationS: WARMUP_S + c.durationS,
    regions: [{ name: REGION }],
    fleet: [{ region: REGION, model: MODEL, profile: PROFILE, replicas: fixed ? o.replicas : c.hint }],
    workload: workloadOf(c),
    policies: [ROUTING],
    slo: SLO,
    sampleS: SAMPLE_S,
    autoscale: {
      policy: policy.name,
      ...(policy.name === 'switchyard' ? { knobs: o } : policy.name === 'keda' || policy.name === 'kpa' ? { options: o } : {}),
      tickS: TICK_S,
      pools: [{ region: REGION, model: MODEL, min: 1, max: fixed ? o.replicas : c.max, startup }],
    },
  };
}
