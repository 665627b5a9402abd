import { KvBlockPool } from './kv.js';
import { resolveConfig } from './config.js';
import { HostKvTier } from './host-tier.js';
import { kvBytesPerToken, stepSeconds, type BatchShape, type HardwareProfile } from './profile.js';
import { Deque } from './queue.js';
import { Seq } from './seq.js';
import type {
  AddResult, EngineRequest, EngineConfig, ReplicaModel, ReplicaOptions, ReplicaStats, SeqView, StepResult,
} from './types.js';

/** A vLLM-like replica: pure, clock-free; the caller advances time by each step's `durationS`. */
export function createReplicaModel<R extends EngineRequest = EngineRequest>(profile: HardwareProfile, opts: ReplicaOptions = {}): ReplicaModel<R> {
  return new EngineReplica<R>(profile, resolveConfig(profile, opts));
}

class EngineReplica<R extends EngineRequest> implements ReplicaModel<R> {
  readonly #kv: KvBlockPool;
  readonly #running: Seq<R>[] = [];
  readonly #waiting = new Deque<Seq<R>>();
  readonly #byId = new Map<string | number, Seq<R>>();
  readonly #scheduled: Seq<R>[] = [];
  readonly #shape: BatchShape = { prefillTokens: 0, decodeSeqs: 0, kvTokens: 0, scheduledTokens: 0 };
  readonly #result: StepResult<R> = {
    durationS: 0, steps: 1, scheduledTokens: 0, prefillTokens: 0, decodeSeqs: 0, kvTokens: 0,
    started: [], tokens: [], first: [], finished: [], preempted: [],
  };
  #queries = 0;
  #hits = 0;
  #offloadHits = 0;
  /** KV offloading: the host tier, seconds to load one token's KV from it, and tokens loaded this step */
  readonly #host: HostKvTier | null;
  readonly #loadPerTokenS: number;
  #loadTokens = 0;
  #preemptions = 0;
  #promptTokens = 0;
  #generationTokens = 0;
  #finished = 0;
  #aborted = 0;
  #steps = 0;
  #busyS = 0;
  // scratch for decode runs, sized by block size (and batch) once
  readonly #phaseCounts: Int32Array;
  readonly #phaseFill: Int32Array;
  #phaseOrder = new Int32Array(64);
  /** the waiting head that last failed to fit, and the state it failed in */
  #blocked: Seq<R> | null = null;
  #blockedReleases = 0;
  #blockedBudget = 0;
  /** bumped by every change to the running batch; keys the cached KV sum of decodeStepSeconds */
  #version = 0;
  #kvBase = 0;
  #kvBaseAt = -1;

  constructor(readonly profile: HardwareProfile, readonly config: EngineConfig) {
    const bytes = kvBytesPerToken(profile);
    const hostBlocks = Math.floor((config.kvOffloadGiB * 1024 ** 3) / (bytes * config.blockSize));
    this.#host = hostBlocks > 0 && config.enablePrefixCaching ? new HostKvTier(hostBlocks) : null;
    // every GPU of the replica loads its shard of the KV over its own host link
    this.#loadPerTokenS = bytes / (profile.tp * config.kvOffloadGBs * 1e9);
    this.#kv = new KvBlockPool(config.numGpuBlocks, this.#host);
    this.#phaseCounts = new Int32Array(config.blockSize + 1);
    this.#phaseFill = new Int32Array(config.blockSize);
  }

  get hasWork(): boolean {
    return this.#running.length + this.#waiting.length > 0;
  }

  get idle(): boolean {
    return !this.hasWork;
  }

  add(req: R): AddResult<R> {
    const c = this.config;
    const p = req.promptTokens !== undefined ? req.promptTokens.length : req.promptLen;
    if (p < 1) return { ok: false, error: { kind: 'invalid', message: 'the prompt has no tokens' } };
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) {
      return { ok: false, error: { kind: 'invalid', message: `maxTokens must be a positive integer, got ${req.maxTokens}` } };
    }
    if (this.#byId.has(req.id)) return { ok: false, error: { kind: 'duplicate_id', message: `request ${req.id} is already in the replica` } };
    if (p + req.maxTokens > c.maxModelLen) {
      return { ok: false, error: { kind: 'context_length', promptTokens: p, maxModelLen: c.maxModelLen, message: `prompt (${p}) + maxTokens (${req.maxTokens}) exceeds max_model_len ${c.maxModelLen}` } };
    }
    if (Math.ceil((p + req.maxTokens) / c.blockSize) > c.numGpuBlocks) {
      return { ok: false, error: { kind: 'kv_capacity', message: `the request needs more than the whole KV cache (${c.numGpuBlocks * c.blockSize} tokens)` } };
    }
    const s = new Seq(req, c.blockSize, c.enablePrefixCaching);
    this.#byId.set(req.id, s);
    this.#waiting.push(s);
    return { ok: true, seq: s };
  }

  abort(id: string | number): SeqView<R> | null {
    const s = this.#byId.get(id);
    if (s === undefined) return null;
    this.#byId.delete(id);
    this.#version++;
    if (s.phase === 'waiting') this.#waiting.remove(s);
    else {
      this.#running.splice(this.#running.indexOf(s), 1);
      this.#free(s);
    }
    s.phase = 'aborted';
    this.#aborted++;
    return s;
  }

  step(): StepResult<R> {
    const r = this.#resetResult();
    this.#version++;
    const sched = this.#scheduled;
    sched.length = 0;
    const budget = this.#scheduleRunning(this.config.maxNumBatchedTokens);
    // vLLM V1: no new admissions in a step that had to preempt
    if (r.preempted.length === 0) this.#admitWaiting(budget);
    this.#measure();
    this.#advance();
    this.#steps++;
    this.#busyS += r.durationS;
    return r;
  }

  decodeRun(maxSteps: number): number {
    const c = this.config;
    const running = this.#running;
    const n = running.length;
    if (n === 0 || n > c.maxNumBatchedTokens) return 0;
    // a waiting request could be admitted by the next step (unless the batch is full)
    if (this.#waiting.length > 0 && n < c.maxNumSeqs) return 0;
    const bs = c.blockSize;
    const phase = this.#phaseCounts;
    phase.fill(0, 0, bs);
    let k = maxSteps;
    for (let i = 0; i < n; i++) {
      const s = running[i];
      if (s.generated === 0 || s.computedTokens !== s.numTokens - 1) return 0; // still prefilling
      const left = s.maxTokens - s.generated;
      if (left < k) k = left;
      phase[s.numTokens % bs]++;
    }
    // step i takes a block for every request whose KV grows past a block edge: numTokens + i ≡ 1 (mod bs)
    let free = this.#kv.numFree;
    for (let i = 0; i < k; i++) {
      free -= phase[(((1 - i) % bs) + bs) % bs];
      if (free < 0) return i; // step i would preempt
    }
    return k;
  }

  decodeStepSeconds(i: number): number {
    const sh = this.#shape;
    const n = this.#running.length;
    // the batch's KV tokens, summed once per state (the simulator asks for many steps in a row)
    if (this.#kvBaseAt !== this.#version) {
      let kv = 0;
      for (let j = 0; j < n; j++) kv += this.#running[j].numTokens;
      this.#kvBase = kv;
      this.#kvBaseAt = this.#version;
    }
    sh.prefillTokens = 0;
    sh.decodeSeqs = sh.scheduledTokens = n;
    sh.kvTokens = this.#kvBase + i * n;
    return stepSeconds(this.profile.step, sh);
  }

  advanceDecode(m: number): StepResult<R> {
    const r = this.#resetResult();
    const running = this.#running;
    const n = running.length;
    if (m < 1 || this.decodeRun(m) < m) throw new RangeError(`advanceDecode(${m}): the next ${m} steps are not all pure decode (decodeRun says ${this.decodeRun(m)})`);
    this.#version++;
    this.#growDecodeKv(m);
    const sh = this.#shape;
    let kv = 0;
    for (let j = 0; j < n; j++) kv += running[j].numTokens;
    sh.prefillTokens = 0;
    sh.decodeSeqs = sh.scheduledTokens = n;
    let dur = 0;
    let kvSum = 0;
    for (let i = 0; i < m; i++) {
      sh.kvTokens = kv + i * n;
      kvSum += sh.kvTokens;
      // summed step by step, in order, so the total equals m single steps' sum exactly
      const d = stepSeconds(this.profile.step, sh);
      dur += d;
      this.#busyS += d;
    }
    r.durationS = dur;
    r.steps = m;
    r.scheduledTokens = n * m;
    r.prefillTokens = 0;
    r.decodeSeqs = n;
    r.kvTokens = kvSum;
    this.#steps += m;
    this.#generationTokens += n * m;
    let done = 0;
    for (let i = 0; i < n; i++) {
      const s = running[i];
      s.computedTokens += m;
      s.generated += m;
      s.numTokens += m;
      r.tokens.push(s);
      if (s.generated >= s.maxTokens) {
        this.#finish(s);
        done++;
      }
    }
    if (done > 0) this.#compactRunning();
    return r;
  }

  /**
   * The KV side of m decode steps, in the order m single steps would touch the pool: step by step,
   * requests in running order, each taking a block as its KV crosses a block edge and registering a
   * block it just filled. Only requests with an event that step are visited.
   */
  #growDecodeKv(m: number): void {
    const running = this.#running;
    const n = running.length;
    const bs = this.config.blockSize;
    const kv = this.#kv;
    // bucket running indexes by numTokens mod bs, each bucket in running order
    const start = this.#phaseCounts;
    start.fill(0, 0, bs + 1);
    for (let i = 0; i < n; i++) start[(running[i].numTokens % bs) + 1]++;
    for (let p = 0; p < bs; p++) start[p + 1] += start[p];
    const order = this.#phaseOrder.length >= n ? this.#phaseOrder : (this.#phaseOrder = new Int32Array(n * 2));
    const fill = this.#phaseFill;
    fill.set(start.subarray(0, bs));
    for (let i = 0; i < n; i++) order[fill[running[i].numTokens % bs]++] = i;
    for (let i = 0; i < m; i++) {
      // at step i a request with numTokens ≡ p computes token numTokens + i + 1 (1-based): it takes a
      // block when that is ≡ 1 (mod bs) and fills one when it is ≡ 0
      const pt = ((((1 - i) % bs) + bs) % bs);
      const pr = ((((0 - i) % bs) + bs) % bs);
      let a = start[pt];
      const aEnd = start[pt + 1];
      let b = start[pr];
      const bEnd = start[pr + 1];
      if (pt === pr) { // bs = 1: every request takes and fills a block every step
        for (; a < aEnd; a++) this.#decodeKvEvent(running[order[a]], i, true, true);
        continue;
      }
      while (a < aEnd || b < bEnd) {
        if (b >= bEnd || (a < aEnd && order[a] < order[b])) this.#decodeKvEvent(running[order[a++]], i, true, false);
        else this.#decodeKvEvent(running[order[b++]], i, false, true);
      }
    }
  }

  #decodeKvEvent(s: Seq<R>, i: number, take: boolean, register: boolean): void {
    const bs = this.config.blockSize;
    const total = s.numTokens + i; // KV tokens once step i has run (numTokens before the run + i + 1 − 1 pending)
    if (take) s.blocks[s.numBlocks++] = this.#kv.take();
    if (register) {
      const full = total / bs;
      if (full <= s.numHashed && full > s.numRegistered) {
        this.#kv.register(s.blocks[full - 1], s.hashes[full - 1]);
        s.numRegistered = full;
      }
    }
  }

  get prefixCapacityBlocks(): number {
    return this.config.numGpuBlocks + (this.#host?.capacity ?? 0);
  }

  cachedPrefixBlocks(hashes: Float64Array, max: number): number {
    return this.config.enablePrefixCaching ? this.#kv.cachedRun(hashes, Math.min(max, hashes.length)) : 0;
  }

  stats(): ReplicaStats {
    const kv = this.#kv;
    return {
      running: this.#running.length, waiting: this.#waiting.length,
      kvUsage: 1 - kv.numFree / kv.numBlocks, kvBlocks: kv.numBlocks, kvBlocksFree: kv.numFree, kvBlocksCached: kv.numCached,
      prefixCacheQueries: this.#queries, prefixCacheHits: this.#hits, offloadHits: this.#offloadHits, preemptions: this.#preemptions,
      promptTokens: this.#promptTokens, generationTokens: this.#generationTokens,
      finished: this.#finished, aborted: this.#aborted, steps: this.#steps, busyS: this.#busyS,
    };
  }

  /** Running requests first, in order: decodes and continuing prefill chunks. Returns the budget left. */
  #scheduleRunning(budget: number): number {
    const running = this.#running;
    for (let i = 0; i < running.length && budget > 0; i++) {
      const s = running[i];
      const n = Math.min(s.numTokens - s.computedTokens, budget);
      let fits = true;
      while (!this.#allocate(s, n, 0)) {
        // out of KV: recompute-preempt the youngest running request (maybe this one)
        const victim = running.pop()!;
        this.#preempt(victim);
        if (victim === s) {
          fits = false;
          break;
        }
      }
      if (!fits) break;
      s.scheduled = n;
      budget -= n;
      this.#scheduled.push(s);
    }
    return budget;
  }

  /** Then the queue, in order, while the budget and max_num_seqs allow; head-of-line blocks. */
  #admitWaiting(budget: number): void {
    const c = this.config;
    while (budget > 0 && this.#running.length < c.maxNumSeqs) {
      const s = this.#waiting.peek();
      if (s === undefined) break;
      const kv = this.#kv;
      // The head did not fit last time. Nothing can have made room unless a block was freed, the
      // next block of its prefix was cached, or the budget shrank (a smaller chunk): otherwise it
      // fails again, so skip the prefix match (hundreds of blocks for a long prompt, every step).
      if (s === this.#blocked && kv.releases === this.#blockedReleases && !kv.watchHit && budget >= this.#blockedBudget) break;
      // the longest cached prefix, leaving at least one token to compute (vLLM: num_tokens - 1)
      const maxHit = Math.min(s.numHashed, Math.floor((s.numTokens - 1) / c.blockSize));
      const hitBlocks = maxHit > 0 ? kv.match(s.hashes, maxHit, s.blocks) : 0;
      const hitTokens = hitBlocks * c.blockSize;
      // where the GPU's prefix ends, the host tier may go on: those blocks are loaded, not computed.
      // They leave the host before allocating, so the evictions allocation causes cannot push them out.
      const host = this.#host;
      const loadBlocks = host !== null && hitBlocks < maxHit ? host.run(s.hashes, hitBlocks, maxHit) : 0;
      if (loadBlocks > 0) host!.take(s.hashes, hitBlocks, loadBlocks);
      const loadTokens = loadBlocks * c.blockSize;
      const n = Math.min(s.numTokens - hitTokens - loadTokens, budget);
      if (!this.#allocate(s, loadTokens + n, hitBlocks)) {
        if (loadBlocks > 0) host!.restore(s.hashes, hitBlocks, loadBlocks);
        this.#blocked = s;
        this.#blockedReleases = kv.releases;
        this.#blockedBudget = budget;
        kv.watch(hitBlocks < maxHit ? s.hashes[hitBlocks] : -1);
        break;
      }
      this.#blocked = null;
      this.#waiting.shift();
      this.#running.push(s);
      s.phase = 'running';
      s.computedTokens = hitTokens + loadTokens;
      s.scheduled = n;
      budget -= n;
      this.#queries += s.numTokens;
      this.#hits += hitTokens;
      this.#offloadHits += loadTokens;
      this.#loadTokens += loadTokens;
      if (!s.everScheduled) {
        s.everScheduled = true;
        s.cachedTokens = hitTokens + loadTokens;
        this.#result.started.push(s);
      }
      this.#scheduled.push(s);
    }
  }

  /** Reserve blocks for n more tokens (after hitBlocks cached ones); false, changing nothing, if KV is short. */
  #allocate(s: Seq<R>, n: number, hitBlocks: number): boolean {
    const kv = this.#kv;
    const bs = this.config.blockSize;
    const total = s.computedTokens + hitBlocks * bs + n;
    const newBlocks = Math.ceil(total / bs) - s.numBlocks - hitBlocks;
    const reclaimed = hitBlocks > 0 ? kv.countUnreferenced(s.blocks, hitBlocks) : 0;
    if (newBlocks > kv.numFree - reclaimed) return false;
    if (hitBlocks > 0) {
      for (let i = 0; i < hitBlocks; i++) kv.touch(s.blocks[i]);
      s.numBlocks = s.numRegistered = hitBlocks;
    }
    for (let i = 0; i < newBlocks; i++) s.blocks[s.numBlocks++] = kv.take();
    // blocks that will be full once this step computes them join the prefix cache now, as in vLLM
    const full = Math.min(Math.floor(total / bs), s.numHashed);
    for (let b = s.numRegistered; b < full; b++) kv.register(s.blocks[b], s.hashes[b]);
    if (full > s.numRegistered) s.numRegistered = full;
    return true;
  }

  #resetResult(): StepResult<R> {
    const r = this.#result;
    r.started.length = r.tokens.length = r.first.length = r.finished.length = r.preempted.length = 0;
    r.steps = 1;
    return r;
  }

  /** A request reached maxTokens: its KV is freed now; it leaves the running set at the next compaction. */
  #finish(s: Seq<R>): void {
    this.#free(s);
    s.phase = 'finished';
    this.#byId.delete(s.req.id);
    this.#finished++;
    this.#result.finished.push(s);
  }

  #compactRunning(): void {
    const running = this.#running;
    let k = 0;
    for (let i = 0; i < running.length; i++) if (running[i].phase === 'running') running[k++] = running[i];
    running.length = k;
  }

  #preempt(s: Seq<R>): void {
    this.#free(s);
    s.phase = 'waiting';
    s.computedTokens = 0;
    s.preemptions++;
    this.#preemptions++;
    this.#waiting.unshift(s);
    this.#result.preempted.push(s);
  }

  /** Free in reverse so a request's tail blocks are evicted before its shared prefix (vLLM). */
  #free(s: Seq<R>): void {
    for (let b = s.numBlocks - 1; b >= 0; b--) this.#kv.release(s.blocks[b]);
    s.numBlocks = 0;
    s.numRegistered = 0;
  }

  #measure(): void {
    const sh = this.#shape;
    sh.prefillTokens = sh.decodeSeqs = sh.kvTokens = sh.scheduledTokens = 0;
    const sched = this.#scheduled;
    for (let i = 0; i < sched.length; i++) {
      const s = sched[i];
      const decode = s.scheduled === 1 && s.generated > 0 && s.computedTokens === s.numTokens - 1;
      if (decode) sh.decodeSeqs++;
      else sh.prefillTokens += s.scheduled;
      sh.scheduledTokens += s.scheduled;
      sh.kvTokens += s.computedTokens + s.scheduled;
    }
    const r = this.#result;
    // loading offloaded KV over PCIe is not overlapped with the step's compute (a conservative model)
    r.durationS = stepSeconds(this.profile.step, sh) + this.#loadTokens * this.#loadPerTokenS;
    this.#loadTokens = 0;
    r.scheduledTokens = sh.scheduledTokens;
    r.prefillTokens = sh.prefillTokens;
    r.decodeSeqs = sh.decodeSeqs;
    r.kvTokens = sh.kvTokens;
  }

  /** The model ran: computed tokens advance; a request whose KV caught up samples a token. */
  #advance(): void {
    const r = this.#result;
    const sched = this.#scheduled;
    let done = 0;
    for (let i = 0; i < sched.length; i++) {
      const s = sched[i];
      s.computedTokens += s.scheduled;
      s.scheduled = 0;
      if (s.computedTokens < s.numTokens) continue; // a prefill chunk: no token yet
      s.generated++;
      s.numTokens++;
      this.#generationTokens++;
      r.tokens.push(s);
      if (s.generated === 1) {
        this.#promptTokens += s.promptLen;
        r.first.push(s);
      }
      if (s.generated >= s.maxTokens) {
        this.#finish(s);
        done++;
      }
    }
    if (done > 0) this.#compactRunning();
  }
}
