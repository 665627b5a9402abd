// The seed's curve, set up: cost per million tokens at 1× to 10× a base traffic level, with
// Switchyard's autoscaler on, on two real traces — Azure conv (no prefix reuse: batching and the
// fleet's integer granularity alone) and Mooncake conversation (prompt blocks shared across turns
// and sessions: prefix-cache hits too). Each level is the trace replayed rate-scaled (a k× level
// is the trace's arrivals k times as fast, looped to fill the window; every loop has its own
// prefix keys, so a loop never hits the previous loop's cache). Every run is seeded: the same
// arrivals for the autoscaled run and the fixed fleets of its level.

export const LEVELS = [1, 2, 3, 5, 7, 10];
export const QUICK_LEVELS = [1, 5];
export const SEED = 1;
export const REGION = 'us-east';
/** the driver's tick; start-up tuned (43 s, engine/startup.ts), as docs/autoscaling.md's main table */
export const TICK_S = 5;
export const STARTUP = 'tuned';
/** replicas counted (GPU-hours integrated, running sequences read) this often */
export const SAMPLE_S = 5;
/** a fixed fleet meets its level when this share of the window's requests meets the SLO */
export const ATTAINMENT_GOAL = 0.99;

/**
 * The cases. `rateScale` is the 1× level's multiple of the trace's own rate; `ratePerS` and `shape` the
 * trace's mean rate and request (traces/README.md), only for the fixed fleet search's first guess. Mooncake's 1× is half
 * its trace (1.7 req/s of 12k-token prompts fill ~3 replicas of the 8B model), so that 1× is a small
 * fleet, as conv's 1× is. Mooncake's prompts reach 126k tokens (p99 85k: ~3 s of prefill alone on
 * an H100), so its TTFT objective is 5 s; conv's is the gateway's default 2 s. Warm-up: the first
 * `warmupS` drive the pool and count for nothing (the policy needs a history, and a fleet started
 * cold would be measured filling its caches); what is measured is [warmupS, warmupS + durationS).
 * Routing: the gateway's default (prefix-aware) where the trace has prefixes; least-outstanding on
 * conv, which has none for the default profile to use and simulates several times faster.
 */
export const CASES = [
  {
    id: 'conv', label: 'Azure conv', trace: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', ratePerS: 5.53, shape: { promptTokens: 1155, outputTokens: 211 }, rateScale: 1,
    model: 'llama-3.3-70b', profile: 'llama-3.3-70b-fp8-h100-tp2', routing: 'least-outstanding', slo: { ttftMs: 2000, tpotMs: 100 },
    warmupS: 600, durationS: 1800, quick: { warmupS: 120, durationS: 180 },
  },
  {
    id: 'mooncake', label: 'Mooncake conversation', trace: 'mooncake', file: 'mooncake/conversation_trace.jsonl', ratePerS: 3.4, shape: { promptTokens: 12035, outputTokens: 343 }, rateScale: 0.5,
    model: 'llama-3.1-8b', profile: 'llama-3.1-8b-h100', routing: 'default', slo: { ttftMs: 5000, tpotMs: 100 },
    warmupS: 300, durationS: 1200, quick: { warmupS: 120, durationS: 120 },
  },
];

/** the case's windows, quick or full */
export function windowsOf(c, quick) {
  return quick ? c.quick : { warmupS: c.warmupS, durationS: c.durationS };
}

export function workloadOf(c, level, quick) {
  const w = windowsOf(c, quick);
  // a flat shape: the trace's own rhythm (bursts, minute-to-minute swings), looped to fill the window
  return { kind: 'diurnal', of: { kind: c.trace, file: c.file, rateScale: c.rateScale * level }, durationS: w.warmupS + w.durationS, shape: [1] };
}

/**
 * One run's scenario (plain data, as a YAML scenario would say it): `policy` is
 * { name: 'switchyard' } with the pool from `initial` up to `max`, or { name: 'fixed', replicas }.
 */
export function scenarioOf(c, level, quick, policy) {
  const w = windowsOf(c, quick);
  const fixed = policy.name === 'fixed';
  const initial = fixed ? policy.replicas : policy.initial;
  return {
    name: `economics-${c.id}-${level}x-${policy.name}`,
    description: `${c.label} at ${level}× (${c.rateScale * level}× the trace's rate): ${fixed ? `a fixed fleet of ${policy.replicas}` : 'Switchyard autoscaling'}`,
    seed: SEED,
    durationS: w.warmupS + w.durationS,
    regions: [{ name: REGION }],
    fleet: [{ region: REGION, model: c.model, profile: c.profile, replicas: initial }],
    workload: workloadOf(c, level, quick),
    policies: [c.routing],
    slo: c.slo,
    sampleS: SAMPLE_S,
    autoscale: {
      policy: policy.name,
      ...(fixed ? {} : { knobs: {} }),
      tickS: TICK_S,
      pools: [{ region: REGION, model: c.model, min: 1, max: fixed ? policy.replicas : policy.max, initial, startup: STARTUP }],
    },
  };
}
