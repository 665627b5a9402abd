import type { ReplicaRecord, RequestRecord, RunRecords, ScenarioInfo, Slo } from '../../../src/sim/report/index.js';

// Hand-built records: one ok request is 100 prompt + 11 output tokens, TTFT 0.2 s, TPOT 0.05 s.

export const slo: Slo = { ttftS: 0.5, tpotS: 0.05 };

export const info: ScenarioInfo = { name: 's', seed: 1, description: 'd', workload: 'w', fleet: 'f', faults: [], slo };

export function req(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 0, tenant: 'a', model: 'm', arrivalS: 0, replica: 'r0', region: 'us', outcome: 'ok', promptLen: 100, outputLen: 11,
    cachedTokens: 0, firstTokenS: 0.2, finishS: 0.7, preemptions: 0, retries: 0, ...over,
  };
}

export const rejected = (over: Partial<RequestRecord> = {}): RequestRecord =>
  req({ outcome: 'rejected', replica: null, region: null, outputLen: 0, firstTokenS: NaN, finishS: NaN, ...over });

export function replica(over: Partial<ReplicaRecord> = {}): ReplicaRecord {
  return {
    id: 'r0', region: 'us', model: 'm', profile: 'p', gpus: 2, costPerGpuHour: 3, upS: 3600, busyS: 1800, requests: 1,
    promptTokens: 0, generationTokens: 0, prefixQueries: 1000, prefixHits: 250, preemptions: 2, ...over,
  };
}

export function run(requests: readonly RequestRecord[], over: Partial<RunRecords> = {}): RunRecords {
  return {
    policy: 'p', durationS: 10, wallS: 0.1, requests: requests.map((r, id) => ({ ...r, id })), replicas: [replica()],
    samples: [{ atS: 0, queued: 2, running: 4, kvUsage: 0.5, perReplicaRunning: [4] }], sampleS: 1, ...over,
  };
}

/** A bigger run, deterministic: `n` requests over `durationS`, spread over tenants and replicas. */
export function bigRun(policy: string, n: number, durationS: number, replicas = 8): RunRecords {
  const requests: RequestRecord[] = [];
  for (let i = 0; i < n; i++) {
    const at = (i / n) * durationS;
    const ttft = 0.05 + ((i * 7919) % 1000) / 2000;
    requests.push(req({ id: i, tenant: `t${i % 5}`, replica: `r${i % replicas}`, arrivalS: at, firstTokenS: at + ttft, finishS: at + ttft + 2 + (i % 13) / 10, outputLen: 50 + (i % 200) }));
  }
  // sampled as the simulator does by default, about 600 times a run
  const sampleS = Math.max(1, durationS / 600);
  const perReplicaRunning = Array.from({ length: replicas }, (_, k) => k);
  const samples = [];
  for (let t = 0; t <= durationS; t += sampleS) samples.push({ atS: t, queued: t % 7, running: 10, kvUsage: 0.4, perReplicaRunning });
  return run(requests, { policy, durationS, sampleS, samples, replicas: Array.from({ length: replicas }, (_, k) => replica({ id: `us-east/llama-3.1-8b/${k}` })) });
}
