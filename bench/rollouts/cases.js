// The rollout evidence's setup: two traces on the fleets the routing evidence uses, a 1 % error
// rate on every replica, a candidate pool the size of stable's beside it, and the cases (the
// candidate's fault). One schedule for every case: the three analyses see the same traffic.

export const WARMUP_S = { azure: 180, mooncake: 300 };

/** The candidate's share and how long each holds; the analysis watches throughout (a failure at any point rolls back). */
export const SCHEDULE = [
  { setWeight: 5 }, { pause: { duration: '4m' } },
  { setWeight: 25 }, { pause: { duration: '4m' } },
  { setWeight: 50 }, { pause: { duration: '8m' } },
  { setWeight: 100 },
];
export const ROLLOUT_S = 16 * 60;
/** the step at equal shares, for the measured effect of each fault: seconds after the rollout's start */
export const HALF_STEP = [8 * 60, 16 * 60];

export const TRACES = {
  azure: {
    label: 'Azure conv 2023, 3× rate (whole trace: 19.5 min)',
    // the routing evidence's fleet (scenarios/routing-azure-conv.yaml): 2 regions × 4 × Llama 3.1 8B / H100
    model: 'llama-3.1-8b', profile: 'llama-3.1-8b-h100', replicas: 4, engine: {},
    workload: (seed) => ({ kind: 'azure', file: 'AzureLLMInferenceTrace_conv.csv', rateScale: 3, tenants: tenants() }),
    durationS: WARMUP_S.azure + ROLLOUT_S + 30,
    slo: { ttftMs: 1000, tpotMs: 50 },
  },
  mooncake: {
    label: 'Mooncake conversation, 1× rate (a 21.5-min window; its start moves with the seed)',
    // scenarios/routing-mooncake.yaml's fleet: 2 regions × 4 × Llama 3.3 70B FP8 / 2 × H100, 200 GiB host KV each
    model: 'llama-3.3-70b', profile: 'llama-3.3-70b-fp8-h100-tp2', replicas: 4, engine: { kvOffloadGiB: 200 },
    // 59 min of trace: windows start anywhere in the first 37 min
    workload: (seed) => ({ kind: 'mooncake', file: 'mooncake/conversation_trace.jsonl', startS: (seed * 97) % (37 * 60), durationS: WARMUP_S.mooncake + ROLLOUT_S + 30, tenants: tenants() }),
    durationS: WARMUP_S.mooncake + ROLLOUT_S + 30,
    slo: { ttftMs: 5000, tpotMs: 100 },
  },
};

function tenants() {
  return [{ name: 'east', weight: 1 }, { name: 'west', weight: 1 }];
}

/**
 * The cases: what the candidate build does wrong (its faults, on every candidate replica from t=0),
 * and whether a failure is a false rollback (`good`). `kind` says what counts as hurt before
 * detection: failed candidate calls (errors), or every candidate call served (latency, length).
 */
export const CASES = [
  { id: 'errors-2', label: 'errors 1 % → 2 %', kind: 'errors', faults: [{ kind: 'errors', rate: 0.02 }] },
  { id: 'errors-10', label: 'errors 1 % → 10 %', kind: 'errors', faults: [{ kind: 'errors', rate: 0.10 }] },
  { id: 'errors-50', label: 'errors 1 % → 50 % (broken build)', kind: 'errors', faults: [{ kind: 'errors', rate: 0.50 }] },
  { id: 'ttft-30', label: 'TTFT +30 % (prefill ×1.3)', kind: 'latency', faults: [{ kind: 'ttft', factor: 1.3 }] },
  { id: 'ttft-50', label: 'TTFT +50 % (prefill ×1.5)', kind: 'latency', faults: [{ kind: 'ttft', factor: 1.5 }] },
  { id: 'ttft-100', label: 'TTFT +100 % (prefill ×2)', kind: 'latency', faults: [{ kind: 'ttft', factor: 2 }] },
  { id: 'outputs-2', label: 'outputs ×2', kind: 'length', faults: [{ kind: 'long-outputs', factor: 2 }] },
  { id: 'cold', label: 'good build, cold cache (no fault)', kind: 'good', faults: [] },
  { id: 'aa', label: 'A/A (same build both sides, both warm)', kind: 'good', faults: [], warm: true },
];

/** The scenario of one run (plain data; the worker parses it). */
export function scenarioOf(traceId, c, seed, live) {
  const t = TRACES[traceId];
  const regions = ['us-east', 'eu-west'];
  const pool = (region, version) => ({ region, model: t.model, version, profile: t.profile, replicas: t.replicas, engine: t.engine });
  return {
    name: `rollout-${traceId}-${c.id}${live ? '-live' : ''}`,
    seed,
    durationS: t.durationS,
    regions: [{ name: 'us-east', latencyMs: { 'eu-west': 40 } }, { name: 'eu-west' }],
    fleet: regions.flatMap((r) => [pool(r, 'stable'), pool(r, 'candidate')]),
    tenants: { east: { region: 'us-east' }, west: { region: 'eu-west' } },
    workload: t.workload(seed),
    faults: [
      // the base rate every build has
      { kind: 'errors', atS: 0, rate: 0.01 },
      ...c.faults.map((f) => ({ ...f, atS: 0, version: 'candidate' })),
    ],
    rollout: {
      atS: WARMUP_S[traceId],
      warm: c.warm === true,
      shadow: live ? [] : ['interval-threshold', 'mann-whitney'],
      spec: {
        model: t.model, stable: 'stable', candidate: 'candidate', steps: SCHEDULE,
        // both regions move together, so the shares are the same everywhere
        waves: [regions],
        analysis: { dryRun: !live },
      },
    },
    policies: ['default'],
    slo: t.slo,
  };
}
