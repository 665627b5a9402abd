import { OutlierDetector, PrefixIndex, SessionTable, type OutlierEvent, type OutlierPolicy } from '../fleet/index.js';
import { readsPrefix, Router, type CachedBlocks, type ProfileSpec, type RouteRequest } from '../routing/index.js';
import type { SeqView } from '../engine/index.js';
import { SimAdmission, type Admitted, type SimAdmissionInput } from './admission.js';
import { Agenda } from './events.js';
import { SimReplica, type SimReplicaSpec, type SimRequestLike } from './replica.js';
import { blockHashes, type Arrival, type Workload } from './workload/index.js';
import type { Outcome, ReplicaRecord, RequestRecord, RunRecords, Sample } from './report/index.js';
import type { Fault } from './faults.js';

// The discrete-event loop. Arrivals reach the gateway in their tenant's region; with admission on,
// its pool's queue sends, holds or sheds them (the same PoolQueue the gateway runs); the gateway's
// own routing policy picks a replica (the same function `switchyard up` calls); the request crosses
// the network, queues in the replica's engine, and its tokens cross back. Faults crash, slow or blind
// replicas on a schedule; the gateway only learns of a crash the way the live one does, from a
// broken connection or its next health probe, and retries a request that had no first token yet.

export interface Network {
  /** one-way latency between two regions, seconds */
  latencyS(from: string, to: string): number;
}

export interface TenantPlacement {
  /** where the tenant's clients and their gateway are */
  readonly region: string;
  /** data residency: the regions its requests may be served in; null = any */
  readonly allowedRegions: readonly string[] | null;
}

export interface SimulationInput {
  readonly policyName: string;
  /** the routing profile under test: the same Router the gateway runs */
  readonly profile: ProfileSpec;
  /** regions nearest first from each home region (the home region first) */
  readonly regionOrder: (home: string) => readonly string[];
  /** tokens per prefix block the router hashes and indexes (a multiple of the engine's blockSize) */
  readonly prefixBlockTokens: number;
  /** prefix blocks of a prompt the router considers */
  readonly prefixMaxBlocks: number;
  readonly replicas: readonly SimReplicaSpec[];
  readonly workload: Workload;
  readonly network: Network;
  readonly tenants: (tenant: string) => TenantPlacement;
  readonly defaultModel: string;
  /** arrivals after this are not admitted; the fleet then drains */
  readonly durationS: number;
  /** give up draining after this much more virtual time */
  readonly drainLimitS: number;
  readonly faults: readonly Fault[];
  readonly random: () => number;
  readonly sampleS: number;
  readonly scrapeIntervalS: number;
  readonly probeIntervalS: number;
  /** the gateway's outlier detection (fleet.outlier), per pool of a model in a region; null = off */
  readonly outlier: OutlierPolicy | null;
  /** attempts per request, the first included (the gateway's upstream.maxAttempts) */
  readonly maxAttempts: number;
  /** take decode runs instead of single steps (same results, much faster); off only to prove that */
  readonly coalesce: boolean;
  /** the gateway's admission queues, one per model; absent or null = none (straight to the router) */
  readonly admission?: SimAdmissionInput | null;
  readonly onProgress?: (fraction: number) => void;
}

const enum Ev { Arrival, Deliver, StepEnd, Retry, FaultStart, FaultEnd, Sample, Scrape, Probe, Expire }

class SimRequest implements SimRequestLike, Admitted {
  readonly id: number;
  readonly promptLen: number;
  readonly maxTokens: number;
  blockHashes: Float64Array;
  seq: SeqView<SimRequestLike> | null = null;
  readonly arrival: Arrival;
  readonly model: string;
  readonly place: TenantPlacement;
  readonly sessionKey: string | null;
  replica: SimReplica | null = null;
  /** slots of the replicas tried */
  tried: number[] | null = null;
  attempts = 0;
  firstTokenS = NaN;
  finishS = NaN;
  /** the router's estimate of the prefill this attempt owes its replica (0 once the first token came) */
  prefillOwed = 0;
  /** when the current attempt was sent */
  sentS = 0;
  cachedTokens = 0;
  preemptions = 0;
  generated = 0;
  outcome: Outcome | null = null;
  // admission (see admission.ts)
  holdsSlot = false;
  held: Admitted['held'] = null;
  dispatchS = NaN;
  firstTokenSeen = false;

  constructor(a: Arrival, model: string, place: TenantPlacement) {
    this.id = a.id;
    this.arrival = a;
    this.model = model;
    this.place = place;
    this.sessionKey = a.session === null ? null : `${a.tenant}/${a.session}`;
    this.promptLen = a.promptLen;
    this.maxTokens = a.outputLen;
    this.blockHashes = EMPTY;
  }
}

const EMPTY = new Float64Array(0);

/** The simulator hands the engine's own block hashes along, for the precise prefix scorer. */
interface SimRouteRequest extends RouteRequest {
  readonly hashes: Float64Array;
}

export function simulate(input: SimulationInput): RunRecords {
  return new Simulation(input).run();
}

class Simulation {
  readonly #in: SimulationInput;
  readonly #agenda = new Agenda<Ev>();
  readonly #replicas: SimReplica[];
  readonly #byModel = new Map<string, SimReplica[]>();
  readonly #records: RequestRecord[] = [];
  readonly #samples: Sample[] = [];
  /** requests by id while in the system (targets of Deliver/Retry events) */
  readonly #live = new Map<number, SimRequest>();
  #now = 0;
  #sequence = 0;
  #arrivalsDone = false;
  /** the next arrival, read ahead from the workload and scheduled */
  #pendingArrival: Arrival | null = null;
  #open = 0;
  #hashBlockSize: number;
  readonly #router: Router;
  readonly #prefixes: PrefixIndex;
  readonly #sessions = new SessionTable(1 << 20);
  readonly #stride: number;
  /** the profile reads prefixes: hash prompts as they arrive and feed the index */
  readonly #usesPrefix: boolean;
  /** outlier detection per pool (a model's replicas in one region), as the live gateway keeps it */
  readonly #pools = new Map<string, { detector: OutlierDetector; hosts: SimReplica[] }>();
  readonly #host: Int32Array;
  readonly #admission: SimAdmission<SimRequest> | null;

  constructor(input: SimulationInput) {
    this.#in = input;
    this.#replicas = input.replicas.map((spec, i) => new SimReplica(spec, i));
    for (const r of this.#replicas) {
      let list = this.#byModel.get(r.spec.model);
      if (!list) this.#byModel.set(r.spec.model, (list = []));
      list.push(r);
    }
    // one hash chain per request serves every replica, so every pool must cut blocks alike
    this.#hashBlockSize = this.#replicas[0]?.model.config.blockSize ?? 16;
    const odd = this.#replicas.find((r) => r.model.config.blockSize !== this.#hashBlockSize);
    if (odd) throw new RangeError(`every pool must use the same engine blockSize (${odd.spec.id} uses ${odd.model.config.blockSize}, ${this.#replicas[0].spec.id} ${this.#hashBlockSize})`);
    this.#stride = Math.max(1, Math.round(input.prefixBlockTokens / this.#hashBlockSize));
    this.#usesPrefix = readsPrefix(input.profile);
    const stride = this.#stride;
    const replicas = this.#replicas;
    // the router's picture of each replica's prefix cache: its KV (and host tier), in prefix blocks
    this.#prefixes = new PrefixIndex({
      capacityBlocks: (slot) => Math.floor(replicas[slot].model.prefixCapacityBlocks / stride),
      maxBlocks: input.prefixMaxBlocks,
    });
    // precise: the blocks each replica's engine really holds, as vLLM's KV events would report them
    const cachedBlocks: CachedBlocks = {
      cachedPrefix: (slot, req) => {
        const r = replicas[slot];
        if (!r.up) return 0;
        return Math.floor(r.model.cachedPrefixBlocks((req as SimRouteRequest).hashes, req.prefixBlocks * stride) / stride);
      },
    };
    this.#host = new Int32Array(replicas.length);
    if (input.outlier !== null) {
      for (const r of replicas) {
        const key = `${r.spec.model}\u0000${r.region}`;
        let pool = this.#pools.get(key);
        if (!pool) this.#pools.set(key, (pool = { detector: null as unknown as OutlierDetector, hosts: [] }));
        this.#host[r.index] = pool.hosts.length;
        pool.hosts.push(r);
      }
      for (const pool of this.#pools.values()) pool.detector = new OutlierDetector(input.outlier, pool.hosts.length);
    }
    this.#router = new Router({
      profile: input.profile, regionOrder: input.regionOrder,
      state: { prefixIndex: this.#prefixes, cachedBlocks, sessions: this.#sessions },
    });
    this.#admission = input.admission ? new SimAdmission<SimRequest>(input.admission, this.#byModel, (req) => this.#route(req)) : null;
  }

  run(): RunRecords {
    const a = this.#agenda;
    const inp = this.#in;
    this.#nextArrival();
    for (let i = 0; i < inp.faults.length; i++) a.at(inp.faults[i].atS, Ev.FaultStart, i);
    a.at(0, Ev.Sample);
    a.at(0, Ev.Scrape);
    a.at(inp.probeIntervalS, Ev.Probe);
    const hardStop = inp.durationS + inp.drainLimitS;
    let lastProgress = -1;
    for (;;) {
      const e = a.pop();
      if (e === undefined) break;
      if (e.t > hardStop) break;
      this.#now = e.t;
      switch (e.kind) {
        case Ev.Arrival: this.#onArrival(); break;
        case Ev.Deliver: this.#onDeliver(e.target); break;
        case Ev.StepEnd: {
          const r = this.#replicas[e.target];
          if (e.stamp === r.stamp) this.#onStepEnd(r);
          break;
        }
        case Ev.Retry: this.#route(this.#live.get(e.target)!); break;
        case Ev.Expire: {
          const req = this.#live.get(e.target);
          if (req !== undefined && this.#admission!.expire(req)) this.#close(req, 'shed');
          break;
        }
        case Ev.FaultStart: this.#fault(inp.faults[e.target], true); break;
        case Ev.FaultEnd: this.#fault(inp.faults[e.target], false); break;
        case Ev.Sample: this.#sample(); break;
        case Ev.Scrape:
          // vLLM updates its gauges at step ends: a busy replica answers with the state after the
          // step in progress (a run is cut there), so decode runs and single steps scrape alike
          for (const r of this.#replicas) {
            if (!r.up || r.telemetryFrozen) continue;
            if (!r.busy) r.scrape(this.#now);
            else {
              r.scrapeDue = true;
              const end = r.cut(this.#now);
              if (end >= 0) a.at(end, Ev.StepEnd, r.index, r.stamp);
            }
          }
          if (this.#busy()) a.at(this.#now + inp.scrapeIntervalS, Ev.Scrape);
          break;
        case Ev.Probe:
          // the health prober: a replica answers iff its process is up
          for (const r of this.#replicas) {
            if (!r.up) this.#outOfRotation(r);
            else if (!r.healthy) {
              r.healthy = true;
              // back from the dead: a fresh process, its ejection lifted (as the live watch does)
              if (r.ejectedUntilS !== 0) this.#readmit(r);
              this.#admission?.rotation(r.spec.model, this.#now);
            }
          }
          this.#sweepOutliers();
          if (this.#busy()) a.at(this.#now + inp.probeIntervalS, Ev.Probe);
          break;
      }
      if (inp.onProgress) {
        const p = Math.floor((Math.min(this.#now, inp.durationS) / inp.durationS) * 1000);
        if (p !== lastProgress) {
          lastProgress = p;
          inp.onProgress(p / 1000);
        }
      }
      if (this.#arrivalsDone && this.#open === 0) break;
    }
    // whatever is still open when the drain limit hits did not finish (nor leaves a queue now)
    this.#admission?.stop();
    for (const req of this.#live.values()) this.#close(req, 'failed');
    return this.#result();
  }

  #busy(): boolean {
    return !this.#arrivalsDone || this.#open > 0;
  }

  // ── arrivals and routing ─────────────────────────────────────────────────────

  #nextArrival(): void {
    const a = this.#in.workload.next();
    if (a === null || a.atS > this.#in.durationS) {
      this.#arrivalsDone = true;
      this.#pendingArrival = null;
      return;
    }
    this.#pendingArrival = a;
    this.#agenda.at(a.atS, Ev.Arrival);
  }

  #onArrival(): void {
    const a = this.#pendingArrival!;
    this.#nextArrival();
    const req = new SimRequest(a, a.model ?? this.#in.defaultModel, this.#in.tenants(a.tenant));
    // the gateway hashes the prompt as it routes (when its profile reads prefixes); otherwise the
    // hashes are made when the request reaches its engine
    if (this.#usesPrefix) this.#hash(req);
    this.#open++;
    this.#live.set(req.id, req);
    if (this.#admission === null) return this.#route(req);
    const o = this.#admission.admit(req, this.#now);
    if (o.kind === 'shed') this.#close(req, 'shed');
    else if (o.kind === 'held' && o.expireS !== null) this.#agenda.at(o.expireS, Ev.Expire, req.id);
  }

  #route(req: SimRequest): void {
    const candidates = this.#byModel.get(req.model);
    if (candidates === undefined) return this.#close(req, 'rejected');
    if (req.attempts >= this.#in.maxAttempts) return this.#close(req, 'failed');
    const route: SimRouteRequest = {
      homeRegion: req.place.region, allowedRegions: req.place.allowedRegions, exclude: req.tried,
      prefix: req.blockHashes, prefixStride: this.#stride,
      prefixBlocks: this.#usesPrefix ? Math.floor(req.promptLen / (this.#stride * this.#hashBlockSize)) : 0,
      hashes: req.blockHashes, sessionKey: req.sessionKey, tokens: req.promptLen + req.maxTokens, promptTokens: req.promptLen,
      random: this.#in.random(), sequence: this.#sequence++, nowS: this.#now,
    };
    const i = this.#router.pick(candidates, route);
    if (i < 0) return this.#close(req, req.attempts === 0 ? 'rejected' : 'failed');
    const r = candidates[i];
    if (this.#usesPrefix) this.#prefixes.record(r.slot, route);
    if (req.sessionKey !== null) this.#sessions.record(req.sessionKey, r.slot);
    req.attempts++;
    (req.tried ??= []).push(r.slot);
    req.replica = r;
    req.prefillOwed = this.#router.uncachedTokens;
    req.sentS = this.#now;
    r.dispatch(req.promptLen + req.maxTokens, req.prefillOwed);
    this.#agenda.at(this.#now + this.#in.network.latencyS(req.place.region, r.region), Ev.Deliver, req.id);
  }

  #onDeliver(id: number): void {
    const req = this.#live.get(id);
    if (req === undefined) return;
    const r = req.replica!;
    if (!r.up) {
      // connection refused: the gateway hears it a round trip later, takes the replica out and retries
      this.#outOfRotation(r);
      this.#outlierFailure(r);
      r.settle(req.promptLen + req.maxTokens, req.prefillOwed);
      req.replica = null;
      this.#agenda.at(this.#now + this.#in.network.latencyS(r.region, req.place.region), Ev.Retry, req.id);
      return;
    }
    if (req.blockHashes === EMPTY) this.#hash(req);
    r.requests++;
    r.holding.add(req);
    r.inbox.push(req);
    if (!r.busy) this.#startStep(r);
    else {
      const end = r.cut(this.#now);
      if (end >= 0) this.#agenda.at(end, Ev.StepEnd, r.index, r.stamp);
    }
  }

  /** The request's block hashes: one chain serves the router's index and every engine's cache. */
  #hash(req: SimRequest): void {
    const a = req.arrival;
    req.blockHashes = blockHashes(a.segments, a.outputKey, a.outputLen, this.#hashBlockSize);
  }

  // ── replicas ─────────────────────────────────────────────────────────────────

  #startStep(r: SimReplica): void {
    // requests that arrived during the last step join now
    for (let i = 0; i < r.inbox.length; i++) {
      const req = r.inbox[i] as SimRequest;
      const added = r.model.add(req);
      if (added.ok) req.seq = added.seq;
      else {
        r.holding.delete(req);
        r.settle(req.promptLen + req.maxTokens, req.prefillOwed);
        // a 400 from the replica (prompt beyond max_model_len, or beyond all of KV)
        this.#close(req, 'rejected');
      }
    }
    r.inbox.length = 0;
    if (!r.model.hasWork) return;
    const end = r.plan(this.#now, this.#in.coalesce);
    this.#agenda.at(end, Ev.StepEnd, r.index, r.stamp);
  }

  #onStepEnd(r: SimReplica): void {
    const res = r.finish();
    if (r.scrapeDue) {
      r.scrapeDue = false;
      r.scrape(this.#now);
    }
    const back = this.#in.network;
    for (let i = 0; i < res.first.length; i++) {
      const req = res.first[i].req as SimRequest;
      req.firstTokenS = this.#now + back.latencyS(r.region, req.place.region);
      req.cachedTokens = res.first[i].cachedTokens;
      r.prefilled(req.prefillOwed);
      req.prefillOwed = 0;
      this.#outlierSuccess(r, req.firstTokenS - req.sentS);
      this.#admission?.firstToken(req, req.firstTokenS);
    }
    for (let i = 0; i < res.finished.length; i++) {
      const s = res.finished[i];
      const req = s.req as SimRequest;
      req.finishS = this.#now + back.latencyS(r.region, req.place.region);
      req.generated = s.generated;
      req.preemptions = s.preemptions;
      r.holding.delete(req);
      r.settle(req.promptLen + req.maxTokens, 0);
      this.#close(req, 'ok');
    }
    this.#startStep(r);
  }

  // ── faults ───────────────────────────────────────────────────────────────────

  #fault(f: Fault, start: boolean): void {
    if (start && f.forS !== null) this.#agenda.at(this.#now + f.forS, Ev.FaultEnd, this.#in.faults.indexOf(f));
    const targets = this.#targets(f);
    switch (f.kind) {
      case 'crash':
        for (const r of targets) {
          if (start) {
            if (r.up) this.#crash(r);
          } else if (!r.up) r.restart(this.#now);
        }
        break;
      case 'slow':
        for (const r of targets) {
          // the step in progress ends at its old pace; the rest of a run is replanned at the new one
          const end = r.cut(this.#now);
          if (end >= 0) this.#agenda.at(end, Ev.StepEnd, r.index, r.stamp);
          r.slowFactor = start ? f.factor : 1;
        }
        break;
      case 'stale-telemetry':
        for (const r of targets) r.telemetryFrozen = start;
        break;
    }
  }

  #targets(f: Fault): SimReplica[] {
    return this.#replicas.filter((r) => (f.replica !== null ? r.spec.id === f.replica : true) && (f.region !== null ? r.region === f.region : true));
  }

  #crash(r: SimReplica): void {
    const held = r.crash(this.#now);
    // every open connection breaks: the gateway takes the replica out until a probe finds it back
    if (held.length > 0) this.#outOfRotation(r);
    for (const x of held) {
      this.#outlierFailure(r);
      const req = x as SimRequest;
      req.seq = null;
      req.replica = null;
      if (req.firstTokenS === req.firstTokenS) {
        // tokens already reached the client: the stream breaks, nothing to retry
        this.#close(req, 'failed');
      } else {
        // no byte reached the client yet: the gateway retries elsewhere
        this.#agenda.at(this.#now + this.#in.network.latencyS(r.region, req.place.region), Ev.Retry, req.id);
      }
    }
  }

  /** The gateway saw the replica fail: out of rotation until a probe passes, and its cache presumed lost. */
  #outOfRotation(r: SimReplica): void {
    if (!r.healthy) return;
    r.healthy = false;
    this.#prefixes.forget(r.slot);
    this.#admission?.rotation(r.spec.model, this.#now);
  }

  // ── outlier detection ────────────────────────────────────────────────────────

  #outlierSuccess(r: SimReplica, latencyS: number): void {
    const pool = this.#pools.get(`${r.spec.model}\u0000${r.region}`);
    pool?.detector.success(this.#host[r.index], latencyS * 1000, this.#now * 1000);
  }

  #outlierFailure(r: SimReplica): void {
    const pool = this.#pools.get(`${r.spec.model}\u0000${r.region}`);
    if (pool === undefined) return;
    const e = pool.detector.failure(this.#host[r.index], this.#now * 1000);
    if (e !== null) this.#applyOutlier(pool.hosts, e);
  }

  #sweepOutliers(): void {
    for (const pool of this.#pools.values()) for (const e of pool.detector.sweep(this.#now * 1000)) this.#applyOutlier(pool.hosts, e);
  }

  #applyOutlier(hosts: SimReplica[], e: OutlierEvent): void {
    const r = hosts[e.host];
    if (e.kind === 'ejected') {
      r.ejectedUntilS = e.untilMs / 1000;
      r.ejections++;
    } else r.ejectedUntilS = 0;
    this.#admission?.rotation(r.spec.model, this.#now);
  }

  #readmit(r: SimReplica): void {
    const pool = this.#pools.get(`${r.spec.model}\u0000${r.region}`);
    pool?.detector.readmit(this.#host[r.index]);
    r.ejectedUntilS = 0;
  }

  // ── records ──────────────────────────────────────────────────────────────────

  #close(req: SimRequest, outcome: Outcome): void {
    if (req.outcome !== null) return;
    req.outcome = outcome;
    this.#live.delete(req.id);
    this.#open--;
    const r = req.replica;
    this.#records.push({
      id: req.id, tenant: req.arrival.tenant, model: req.model, arrivalS: req.arrival.atS,
      replica: r ? r.spec.id : null, region: r ? r.region : null, outcome,
      promptLen: req.promptLen, outputLen: outcome === 'ok' ? req.generated : 0,
      cachedTokens: req.cachedTokens,
      // a shed request's finish is when its client got the 529: on arrival, or after waiting
      firstTokenS: outcome === 'ok' ? req.firstTokenS : NaN, finishS: outcome === 'ok' ? req.finishS : outcome === 'shed' ? this.#now : NaN,
      preemptions: req.preemptions, retries: Math.max(0, req.attempts - 1),
    });
    req.blockHashes = EMPTY;
    // its slot goes to the next in line
    this.#admission?.finished(req, this.#now);
  }

  #sample(): void {
    let queued = 0;
    let running = 0;
    let kv = 0;
    let up = 0;
    const per: number[] = [];
    for (const r of this.#replicas) {
      const s = r.model.stats();
      const q = r.up ? s.waiting + r.inbox.length : 0;
      const run = r.up ? s.running : 0;
      queued += q;
      running += run;
      per.push(run);
      if (r.up) {
        kv += s.kvUsage;
        up++;
      }
    }
    const sample: Sample = { atS: this.#now, queued, running, kvUsage: up > 0 ? kv / up : 0, perReplicaRunning: per };
    this.#samples.push(this.#admission === null ? sample : { ...sample, held: this.#admission.queued });
    if (this.#busy()) this.#agenda.at(this.#now + this.#in.sampleS, Ev.Sample);
  }

  #result(): RunRecords {
    const end = this.#now;
    const replicas: ReplicaRecord[] = this.#replicas.map((r) => {
      const c = r.counters();
      return {
        id: r.spec.id, region: r.region, model: r.spec.model, profile: r.spec.profile.name, gpus: r.spec.profile.tp,
        costPerGpuHour: r.spec.costPerGpuHour, upS: r.upTime(end), busyS: r.busyS, requests: r.requests,
        promptTokens: c.promptTokens, generationTokens: c.generationTokens,
        prefixQueries: c.prefixQueries, prefixHits: c.prefixHits, preemptions: c.preemptions,
      };
    });
    this.#records.sort((a, b) => a.id - b.id);
    return {
      policy: this.#in.policyName,
      ...(this.#admission !== null ? { admission: this.#admission.summary() } : {}),
      durationS: this.#in.durationS, wallS: 0,
      requests: this.#records, replicas, samples: this.#samples, sampleS: this.#in.sampleS,
    };
  }
}
