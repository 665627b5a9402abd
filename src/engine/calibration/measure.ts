import { createReplicaModel } from '../replica.js';
import type { HardwareProfile } from '../profile.js';
import type { HashedRequest, ReplicaOptions } from '../types.js';

// The published experiments, re-run on the engine model (its scheduler, KV cache and step times,
// not just the step formula). Random prompts: no prefix is shared, as in the benchmarks.

const NO_PREFIX = new Float64Array(0);

/** Splitwise "prompt time": one request alone, time from arrival to its first token, ms. */
export function promptTimeMs(profile: HardwareProfile, promptTokens: number, engine: ReplicaOptions = {}): number {
  const m = createReplicaModel<HashedRequest>(profile, engine);
  m.add({ id: 0, promptLen: promptTokens, maxTokens: 1, blockHashes: NO_PREFIX });
  let t = 0;
  while (m.hasWork) {
    const r = m.step();
    t += r.durationS;
    if (r.first.length > 0) return t * 1000;
  }
  return NaN;
}

/** Splitwise "token time": `batch` requests prefilled together, then the mean decode step, ms. */
export function tokenTimeMs(profile: HardwareProfile, batch: number, promptTokens: number, outputTokens: number, engine: ReplicaOptions = {}): number {
  const m = createReplicaModel<HashedRequest>(profile, engine);
  for (let i = 0; i < batch; i++) m.add({ id: i, promptLen: promptTokens, maxTokens: outputTokens, blockHashes: NO_PREFIX });
  let decodeS = 0;
  let decodeSteps = 0;
  while (m.hasWork) {
    const r = m.step();
    if (r.prefillTokens === 0 && r.decodeSeqs > 0) {
      decodeS += r.durationS;
      decodeSteps++;
    }
  }
  return (decodeS / decodeSteps) * 1000;
}

export interface ClosedLoopResult {
  /** mean over measured requests, ms */
  readonly ttftMs: number;
  /** mean over measured requests of (end − first token) / (output − 1), ms */
  readonly itlMs: number;
}

/**
 * NIM / AIPerf "concurrency C": C users, each sending its next request the moment its last one
 * ends. Users start at random times over one request's length (not all at once, which would keep
 * them in lockstep for the whole run, as a real benchmark's jitter does not), and the first
 * `warmup` requests per user are not measured.
 */
export function closedLoop(profile: HardwareProfile, concurrency: number, inputTokens: number, outputTokens: number,
  opts: { engine?: ReplicaOptions; warmup?: number; measured?: number } = {}): ClosedLoopResult {
  type Req = HashedRequest & { sentS: number; firstS: number; n: number; user: number };
  const m = createReplicaModel<Req>(profile, opts.engine ?? {});
  const warmup = opts.warmup ?? 2;
  const measured = opts.measured ?? 3;
  const perUser = warmup + measured;
  // one request's length when alone: the stagger period
  const alone = promptTimeMs(profile, inputTokens, opts.engine) / 1000 + (outputTokens - 1) * tokenTimeMs(profile, 1, inputTokens, Math.min(outputTokens, 64), opts.engine) / 1000;
  let id = 0;
  let t = 0;
  const sent = new Array<number>(concurrency).fill(0);
  const send = (user: number): void => {
    m.add({ id: id++, promptLen: inputTokens, maxTokens: outputTokens, blockHashes: NO_PREFIX, sentS: t, firstS: NaN, n: sent[user]++, user });
  };
  // users start at seeded random times within one request's length, as real clients drift apart
  let seed = 0x2545f491;
  const starts = Array.from({ length: concurrency }, () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return (seed / 4294967296) * alone;
  }).sort((a, b) => a - b);
  let next = 0; // users started so far
  let ttft = 0;
  let itl = 0;
  let count = 0;
  for (;;) {
    while (next < concurrency && starts[next] <= t) send(next++);
    if (!m.hasWork) {
      if (next >= concurrency) break;
      t = starts[next];
      continue;
    }
    const r = m.step();
    t += r.durationS;
    for (const s of r.first) s.req.firstS = t;
    for (const s of r.finished) {
      const q = s.req;
      if (q.n >= warmup) {
        ttft += q.firstS - q.sentS;
        itl += (t - q.firstS) / (outputTokens - 1);
        count++;
      }
      if (sent[q.user] < perUser) send(q.user);
    }
  }
  return { ttftMs: (ttft / count) * 1000, itlMs: (itl / count) * 1000 };
}
