import { AdmissionDriver, type Grant } from '../admission/index.js';
import { dispatched, OutlierPools, prefilled, PrefixIndex, released, SessionTable, type OutlierPolicy } from '../fleet/index.js';
import { Decider, readsPrefix, Router, type CachedBlocks, type ProfileSpec, type RouteTicket } from '../routing/index.js';
import { decideRetry, mayHedge, RetryBudget, type Backoff, type RetryRule, type UpstreamFailure } from '../upstream/index.js';
import type { TimerHandle } from '../time/index.js';
import type { SeqView } from '../engine/index.js';
import { TenantClasses, type SimAdmissionInput } from './admission.js';
import { AgendaClock } from './clock.js';
import { Agenda } from './events.js';
import { SimReplica, type SimReplicaSpec, type SimRequestLike } from './replica.js';
import { blockHashes, seededRandom, type Arrival, type Workload } from './workload/index.js';
import type { Outcome, ReplicaRecord, RequestRecord, RunRecords, Sample } from './report/index.js';
import type { Fault } from './faults.js';
import { callCost, SimRollout, type SimRolloutInput } from './rollout.js';
import { SimAutoscale, slotLayout, type SimAutoscaleInput, type SimAutoscalePool } from './autoscale.js';
import type { CallOutcome } from '../control/index.js';

// The discrete-event loop. Arrivals reach the gateway in their tenant's region; with admission on,
// its model's admission queue sends, holds or sheds them; the gateway's routing picks a replica;
// the request crosses the network, queues in the replica's engine, and its tokens cross back.
// Faults crash, slow or blind replicas on a schedule; the gateway only learns of a crash the way
// the live one does, from a broken connection or its next health probe. What the gateway decides
// runs through the gateway's own drivers on this loop's clock (time/ ports over the agenda): the
// admission driver, pick-and-learn, in-flight accounting, outlier pools, and the retry rule with
// its budget, backoff and hedging; and, when a run autoscales, the autoscaler's driver and policies,
// with replicas that start (charged from the ask, taking nothing until their start-up is over and
// the next health probe finds them), serve, drain and go.

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
  /** the routing draws (the picker's) */
  readonly random: () => number;
  /** the retry backoff's jitter draws: a stream of their own, so routing's stay where they were; default: `random` */
  readonly retryRandom?: () => number;
  readonly sampleS: number;
  readonly scrapeIntervalS: number;
  readonly probeIntervalS: number;
  /** the gateway's outlier detection (fleet.outlier), per pool of a model in a region; null = off */
  readonly outlier: OutlierPolicy | null;
  /** attempts per request, the first included (the gateway's upstream.maxAttempts) */
  readonly maxAttempts: number;
  /** the gateway's upstream.retryBudget; absent: no budget (every retry allowed) */
  readonly retryBudget?: { readonly percent: number; readonly minConcurrency: number } | null;
  /** the gateway's upstream.backoff; absent: retry at once */
  readonly backoff?: Backoff | null;
  /** the gateway's upstream.hedge; absent or disabled: no hedging */
  readonly hedge?: { readonly enabled: boolean; readonly delayMs: number } | null;
  /** take decode runs instead of single steps (same results, much faster); off only to prove that */
  readonly coalesce: boolean;
  /** the gateway's admission queues, one per model; absent or null = none (straight to the router) */
  readonly admission?: SimAdmissionInput | null;
  /** a rollout the gateway's driver runs on this loop's clock; absent or null = none */
  readonly rollout?: SimRolloutInput | null;
  /** the autoscaler the gateway runs over some pools on this loop's clock; absent or null = a fixed fleet */
  readonly autoscale?: SimAutoscaleInput | null;
  /** the errors faults' draws; default a fixed seed */
  readonly faultRandom?: () => number;
  readonly onProgress?: (fraction: number) => void;
}

const enum Ev { Arrival, Deliver, StepEnd, Heard, Retry, FaultStart, FaultEnd, Sample, Scrape, Probe, Timer, Boot, Retire }

/** One call of a request to one replica: what that replica's engine holds. A hedged request has two at once. */
class SimAttempt implements SimRequestLike {
  readonly req: SimRequest;
  readonly replica: SimReplica;
  /** the request's nth send (the Deliver event's stamp) */
  readonly n: number;
  /** the router's estimate of the prefill it owes its replica (0 once the first token came) */
  prefillOwed: number;
  readonly sentS: number;
  /** it holds a share of the retry budget until its first token (a retry or a hedge) */
  budgeted: boolean;
  /** the gateway cancelled it (it lost a hedge race) */
  cancelled = false;
  seq: SeqView<SimRequestLike> | null = null;

  constructor(req: SimRequest, replica: SimReplica, n: number, prefillOwed: number, sentS: number, budgeted: boolean) {
    this.req = req;
    this.replica = replica;
    this.n = n;
    this.prefillOwed = prefillOwed;
    this.sentS = sentS;
    this.budgeted = budgeted;
  }

  get id(): number {
    return this.req.id;
  }

  get promptLen(): number {
    return this.req.promptLen;
  }

  /** what the engine is asked for: the request's, stretched by a long-outputs fault on the replica */
  get maxTokens(): number {
    const f = this.replica.outputFactor;
    return f === 1 ? this.req.maxTokens : Math.max(1, Math.round(this.req.maxTokens * f));
  }

  get blockHashes(): Float64Array {
    return this.req.blockHashes;
  }
}

class SimRequest {
  readonly id: number;
  readonly promptLen: number;
  readonly maxTokens: number;
  blockHashes: Float64Array;
  readonly arrival: Arrival;
  readonly model: string;
  readonly place: TenantPlacement;
  readonly sessionKey: string | null;
  readonly sim: Simulation;
  /** where it was last served (the record's replica): the current call's, or the last one's */
  replica: SimReplica | null = null;
  /** its routing key, made at its first send and kept by its retries */
  ticket: SimRouteTicket | null = null;
  /** the call in progress, and a hedge racing it */
  attempt: SimAttempt | null = null;
  hedge: SimAttempt | null = null;
  hedgeTimer: TimerHandle | null = null;
  /** what its last failed call met, for the retry rule */
  failure: UpstreamFailure | null = null;
  /** sends in all, hedges included (what upstream.maxAttempts caps) */
  attempts = 0;
  hedges = 0;
  firstTokenS = NaN;
  finishS = NaN;
  cachedTokens = 0;
  preemptions = 0;
  generated = 0;
  outcome: Outcome | null = null;
  /** its hold on its admission queue, from dispatch to its end (retries keep it) */
  grant: Grant | null = null;
  /** counted among the retry budget's active requests */
  started = false;

  constructor(a: Arrival, model: string, place: TenantPlacement, sim: Simulation) {
    this.id = a.id;
    this.arrival = a;
    this.model = model;
    this.place = place;
    this.sim = sim;
    this.sessionKey = a.session === null ? null : `${a.tenant}/${a.session}`;
    this.promptLen = a.promptLen;
    this.maxTokens = a.outputLen;
    this.blockHashes = EMPTY;
  }
}

const EMPTY = new Float64Array(0);
const BROKEN: UpstreamFailure = { kind: 'broken', message: 'the replica crashed' };
const REFUSED: UpstreamFailure = { kind: 'connect', message: 'connection refused', refused: true };
const SERVER_ERROR: UpstreamFailure = { kind: 'status', status: 500, body: '{"object":"error","message":"Internal Server Error","type":"InternalServerError","code":500}' };

/** The simulator hands the engine's own block hashes along, for the precise prefix scorer. */
interface SimRouteTicket extends RouteTicket {
  hashes: Float64Array;
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
  #arrivalsDone = false;
  /** the next arrival, read ahead from the workload and scheduled */
  #pendingArrival: Arrival | null = null;
  #open = 0;
  #hashBlockSize: number;
  readonly #router: Router;
  readonly #decider: Decider;
  readonly #prefixes: PrefixIndex;
  readonly #sessions = new SessionTable(1 << 20);
  readonly #stride: number;
  /** the profile reads prefixes: hash prompts as they arrive and feed the index */
  readonly #usesPrefix: boolean;
  /** the time ports over the agenda: what the shared drivers read and arm */
  readonly #clock: AgendaClock<Ev>;
  /** outlier detection per pool (a model's replicas in one region), as the live gateway keeps it */
  readonly #pools: OutlierPools<SimReplica> | null;
  readonly #admission: AdmissionDriver<SimRequest> | null;
  readonly #classes: TenantClasses | null;
  readonly #retry: RetryRule;
  readonly #budget: RetryBudget;
  readonly #hedgeDelayMs: number | null;
  readonly #jitter: () => number;
  /** what the retry rule and hedging did over the run */
  readonly #counts = { retries: 0, hedges: 0, overflows: 0, wasted: 0 };
  readonly #rollout: SimRollout | null;
  readonly #faultRandom: () => number;
  /** faults in force (indices into input.faults), for the kinds whose effects combine */
  readonly #activeFaults = new Set<number>();
  readonly #autoscale: SimAutoscale | null;
  /** the call outcome handed to the autoscaler, refilled per call: the driver reads it at once and keeps none of it */
  readonly #outcome: { -readonly [K in keyof CallOutcome]: CallOutcome[K] } = { sentAtMs: 0, atMs: 0, failed: false, ttftMs: null, itlMs: null, outputTokens: 0 };

  constructor(input: SimulationInput) {
    this.#in = input;
    const scaling = input.autoscale ?? null;
    // an autoscaled pool is its `max` slots, made from its first replica
    const layout = scaling === null ? null : slotLayout(input.replicas, scaling);
    this.#replicas = (layout?.specs ?? input.replicas).map((spec, i) => new SimReplica(spec, i, layout !== null && layout.poolOf[i] !== null));
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
        return Math.floor(r.model.cachedPrefixBlocks((req as SimRouteTicket).hashes, req.prefixBlocks * stride) / stride);
      },
    };
    this.#clock = new AgendaClock(this.#agenda, Ev.Timer);
    const clock = this.#clock;
    this.#pools = input.outlier === null ? null : new OutlierPools<SimReplica>(input.outlier, {
      eject: (r, e) => {
        r.ejectedUntilS = e.untilMs / 1000;
        r.ejections++;
        this.#rotation(r);
      },
      readmit: (r) => {
        if (r.ejectedUntilS === 0) return;
        r.ejectedUntilS = 0;
        this.#rotation(r);
      },
    }, (r) => r.spec.model);
    this.#pools?.regroup(replicas);
    this.#router = new Router({
      profile: input.profile, regionOrder: input.regionOrder,
      state: { prefixIndex: this.#prefixes, cachedBlocks, sessions: this.#sessions },
    });
    this.#decider = new Decider({ router: this.#router, prefixes: this.#usesPrefix ? this.#prefixes : null, sessions: this.#sessions, clock, rng: input.random });
    const adm = input.admission ?? null;
    this.#classes = adm === null ? null : new TenantClasses(adm);
    this.#admission = adm === null ? null : new AdmissionDriver<SimRequest>({
      policy: adm.policy, replicasOf: (model) => this.#byModel.get(model) ?? [], clock, timers: clock, rng: adm.random,
      hooks: {
        start: (req, grant) => this.#begin(req, grant),
        shed: (req) => {
          this.#autoscale?.shed(req.model, req.place.region);
          this.#close(req, 'shed');
        },
      },
    });
    const b = input.backoff ?? null;
    this.#retry = { maxAttempts: input.maxAttempts, backoff: b ?? { baseMs: 0, maxMs: 0 } };
    // no budget stated: a budget nothing exhausts
    const budget = input.retryBudget ?? null;
    this.#budget = budget === null ? new RetryBudget(1, Number.MAX_SAFE_INTEGER) : new RetryBudget(budget.percent / 100, budget.minConcurrency);
    this.#hedgeDelayMs = input.hedge?.enabled ? input.hedge.delayMs : null;
    this.#jitter = input.retryRandom ?? seededRandom(0x7e7);
    this.#faultRandom = input.faultRandom ?? seededRandom(0xe770);
    this.#rollout = input.rollout == null ? null : new SimRollout(input.rollout, replicas, { clock, rotation: (r) => this.#rotation(r) });
    this.#autoscale = scaling === null ? null : new SimAutoscale(scaling, replicas, layout!, {
      clock,
      queued: (model) => this.#admission?.snapshot().find((q) => q.model === model)?.queued ?? 0,
      start: (r, pool) => this.#startSlot(r, pool),
      drain: (r) => this.#drainSlot(r),
    });
  }

  run(): RunRecords {
    const a = this.#agenda;
    const inp = this.#in;
    this.#nextArrival();
    for (let i = 0; i < inp.faults.length; i++) a.at(inp.faults[i].atS, Ev.FaultStart, i);
    a.at(0, Ev.Sample);
    a.at(0, Ev.Scrape);
    a.at(inp.probeIntervalS, Ev.Probe);
    this.#rollout?.arm();
    this.#autoscale?.arm();
    const hardStop = inp.durationS + inp.drainLimitS;
    let lastProgress = -1;
    for (;;) {
      const e = a.pop();
      if (e === undefined) break;
      if (e.t > hardStop) break;
      this.#now = e.t;
      this.#clock.nowS = e.t;
      switch (e.kind) {
        case Ev.Arrival: this.#onArrival(); break;
        case Ev.Deliver: this.#onDeliver(e.target, e.stamp); break;
        case Ev.StepEnd: {
          const r = this.#replicas[e.target];
          if (e.stamp === r.stamp) this.#onStepEnd(r);
          break;
        }
        case Ev.Heard: {
          const req = this.#live.get(e.target);
          if (req !== undefined) this.#heard(req);
          break;
        }
        case Ev.Retry: {
          const req = this.#live.get(e.target);
          if (req !== undefined) this.#send(req, true);
          break;
        }
        case Ev.Timer: this.#clock.fire(e.target); break;
        case Ev.Boot: {
          const r = this.#replicas[e.target];
          if (e.stamp === r.life && r.phase === 'starting') r.boot(this.#now);
          break;
        }
        case Ev.Retire: {
          const r = this.#replicas[e.target];
          if (e.stamp === r.life && r.phase === 'draining' && r.inflight === 0) this.#retire(r);
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
              // a replica whose start-up is over enters rotation here, as the gateway's join does
              if (r.phase === 'booted') r.admit(this.#now);
              r.healthy = true;
              // back from the dead: a fresh process, its ejection lifted (as the live watch does)
              this.#pools?.readmit(r, this.#now * 1000);
              this.#rotation(r);
            }
          }
          this.#pools?.sweep(this.#now * 1000);
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
    this.#autoscale?.stop();
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
    const req = new SimRequest(a, a.model ?? this.#in.defaultModel, this.#in.tenants(a.tenant), this);
    // the gateway hashes the prompt as it routes (when its profile reads prefixes); otherwise the
    // hashes are made when the request reaches its engine
    if (this.#usesPrefix) this.#hash(req);
    this.#open++;
    this.#live.set(req.id, req);
    this.#autoscale?.arrived(req.model, req.place.region, req.promptLen);
    if (this.#admission === null) return this.#begin(req, null);
    const c = this.#classes!.of(a.tenant);
    this.#admission.admit(req, { model: req.model, tenant: a.tenant, weight: c.weight, priority: c.priority, deadlineMs: c.deadlineMs });
  }

  /** Admission let it go (or there is none): its first send. */
  #begin(req: SimRequest, grant: Grant | null): void {
    req.grant = grant;
    req.started = true;
    this.#budget.started();
    this.#send(req, false);
  }

  /** Sends the request to the replica the router picks (a retry when `budgeted`, a hedge when it has a call running). */
  #send(req: SimRequest, budgeted: boolean): void {
    const hedging = req.attempt !== null;
    const candidates = this.#byModel.get(req.model);
    if (candidates === undefined || req.attempts >= this.#in.maxAttempts) {
      if (budgeted) this.#budget.release();
      if (hedging) return;
      return this.#close(req, candidates === undefined ? 'rejected' : 'failed');
    }
    const t = (req.ticket ??= this.#ticket(req));
    const i = this.#decider.pick(candidates, t);
    if (i < 0) {
      if (budgeted) this.#budget.release();
      if (hedging) return;
      return this.#close(req, req.attempts === 0 ? 'rejected' : 'failed');
    }
    const r = candidates[i];
    const a = new SimAttempt(req, r, ++req.attempts, t.prefillOwed, this.#now, budgeted);
    dispatched(r, req.promptLen + req.maxTokens, a.prefillOwed);
    if (hedging) {
      req.hedge = a;
      req.hedges++;
      this.#counts.hedges++;
    } else {
      req.attempt = a;
      req.replica = r;
      this.#armHedge(req);
    }
    this.#agenda.at(this.#now + this.#in.network.latencyS(req.place.region, r.region), Ev.Deliver, req.id, a.n);
  }

  #ticket(req: SimRequest): SimRouteTicket {
    return {
      homeRegion: req.place.region, allowedRegions: req.place.allowedRegions, exclude: null,
      prefix: req.blockHashes, prefixStride: this.#stride,
      prefixBlocks: this.#usesPrefix ? Math.floor(req.promptLen / (this.#stride * this.#hashBlockSize)) : 0,
      hashes: req.blockHashes, sessionKey: req.sessionKey, tokens: req.promptLen + req.maxTokens, promptTokens: req.promptLen,
      prefillOwed: 0, random: 0, sequence: 0, nowS: 0,
    };
  }

  // ── retries and hedging: the gateway's rule (upstream/retry-policy.ts) ────────

  /** Streamed, as the simulated clients are: no first token by the delay → a second replica too. */
  #armHedge(req: SimRequest): void {
    if (this.#hedgeDelayMs === null || !mayHedge(this.#retry, true, req.attempts, req.hedge !== null)) return;
    this.#clock.cancel(req.hedgeTimer);
    req.hedgeTimer = this.#clock.after(this.#hedgeDelayMs, Simulation.#hedgeNow, req);
  }

  static #hedgeNow(req: SimRequest): void {
    req.hedgeTimer = null;
    const sim = req.sim;
    if (req.outcome !== null || req.firstTokenS === req.firstTokenS || req.attempt === null || req.hedge !== null) return;
    // a hedge is extra load: it spends the retry budget as a retry does
    if (!sim.#budget.acquire()) {
      sim.#counts.overflows++;
      return;
    }
    sim.#send(req, true);
  }

  /** A call failed before its first token: the gateway hears of it a return trip later. */
  #callFailed(a: SimAttempt, f: UpstreamFailure): void {
    const req = a.req;
    const r = a.replica;
    if (a.budgeted) this.#budget.release();
    a.budgeted = false;
    this.#counts.wasted++;
    if (a === req.hedge) {
      // the hedge lost; the first call is still running
      req.hedge = null;
      return;
    }
    req.attempt = null;
    req.replica = null;
    if (req.hedge !== null) {
      // the hedge already running takes its place
      req.attempt = req.hedge;
      req.hedge = null;
      req.replica = req.attempt.replica;
      return;
    }
    req.failure = f;
    this.#agenda.at(this.#now + this.#in.network.latencyS(r.region, req.place.region), Ev.Heard, req.id);
  }

  /** The gateway heard its call fail with nothing sent to the client: retry after a backoff, or give up. */
  #heard(req: SimRequest): void {
    if (req.attempt !== null) return;
    const v = decideRetry(this.#retry, req.failure!, req.attempts, this.#budget, this.#jitter);
    if (v.kind === 'retry') {
      this.#counts.retries++;
      if (v.waitMs > 0) this.#agenda.at((this.#now * 1000 + v.waitMs) / 1000, Ev.Retry, req.id);
      else this.#send(req, true);
      return;
    }
    if (v.kind === 'overflow') this.#counts.overflows++;
    this.#close(req, 'failed');
  }

  /** The gateway cancels a call it no longer needs (a hedge race's loser): its counts go back, the engine drops it. */
  #cancel(a: SimAttempt): void {
    a.cancelled = true;
    this.#counts.wasted++;
    if (a.budgeted) this.#budget.release();
    a.budgeted = false;
    const r = a.replica;
    this.#release(r, a.req.promptLen + a.req.maxTokens, a.prefillOwed);
    a.prefillOwed = 0;
    if (!r.holding.has(a)) return; // still on the wire: dropped when it arrives
    r.aborts.push(a);
    if (!r.busy) this.#abortNow(r);
    else {
      // the step in progress ends as planned; the run after it is cut, so the abort lands between steps
      const end = r.cut(this.#now);
      if (end >= 0) this.#agenda.at(end, Ev.StepEnd, r.index, r.stamp);
    }
  }

  #abortNow(r: SimReplica): void {
    for (const x of r.aborts) {
      const a = x as SimAttempt;
      if (!r.holding.delete(a)) continue;
      if (a.seq !== null) r.model.abort(a.id);
      else {
        const k = r.inbox.indexOf(a);
        if (k >= 0) r.inbox.splice(k, 1);
      }
      a.seq = null;
    }
    r.aborts.length = 0;
  }

  #onDeliver(id: number, n: number): void {
    const req = this.#live.get(id);
    if (req === undefined) return;
    const a = req.attempt?.n === n ? req.attempt : req.hedge?.n === n ? req.hedge : null;
    if (a === null || a.cancelled) return;
    const r = a.replica;
    if (!r.up) {
      // connection refused: the replica is out of rotation at once, the gateway hears it a return trip later
      this.#outOfRotation(r);
      this.#pools?.failure(r, this.#now * 1000, a.sentS * 1000);
      this.#release(r, req.promptLen + req.maxTokens, a.prefillOwed);
      this.#observe(a, false);
      return this.#callFailed(a, REFUSED);
    }
    if (r.errorRate > 0 && this.#faultRandom() < r.errorRate) {
      // a bad build answers at once with a 500: the gateway hears it a return trip later
      r.requests++;
      this.#pools?.failure(r, this.#now * 1000, a.sentS * 1000);
      this.#release(r, req.promptLen + req.maxTokens, a.prefillOwed);
      a.prefillOwed = 0;
      this.#observe(a, false);
      return this.#callFailed(a, SERVER_ERROR);
    }
    if (req.blockHashes === EMPTY) this.#hash(req);
    r.requests++;
    r.holding.add(a);
    r.inbox.push(a);
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
      const a = r.inbox[i] as SimAttempt;
      const added = r.model.add(a);
      if (added.ok) a.seq = added.seq;
      else {
        r.holding.delete(a);
        this.#release(r, a.promptLen + a.req.maxTokens, a.prefillOwed);
        a.prefillOwed = 0;
        // a 400 from the replica (prompt beyond max_model_len, or beyond all of KV): not worth a retry
        const req = a.req;
        if (a === req.hedge || (req.hedge !== null && a === req.attempt)) {
          // as the gateway's hedge interceptor does: the call still running carries the request
          if (a.budgeted) this.#budget.release();
          a.budgeted = false;
          this.#counts.wasted++;
          if (a === req.attempt) {
            req.attempt = req.hedge;
            req.replica = req.hedge!.replica;
          }
          req.hedge = null;
        } else this.#close(req, 'rejected');
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
      const a = res.first[i].req as SimAttempt;
      if (a.cancelled) continue;
      const req = a.req;
      req.firstTokenS = this.#now + back.latencyS(r.region, req.place.region);
      req.cachedTokens = res.first[i].cachedTokens;
      prefilled(r, a.prefillOwed);
      a.prefillOwed = 0;
      if (a.budgeted) this.#budget.release();
      a.budgeted = false;
      // the first token wins the race: the other call is cancelled
      if (a === req.hedge) {
        this.#cancel(req.attempt!);
        req.attempt = a;
        req.replica = r;
        req.hedge = null;
      } else if (req.hedge !== null) {
        this.#cancel(req.hedge);
        req.hedge = null;
      }
      this.#clock.cancel(req.hedgeTimer);
      req.hedgeTimer = null;
      this.#pools?.success(r, (req.firstTokenS - a.sentS) * 1000, this.#now * 1000);
      if (req.grant !== null) this.#admission!.firstToken(req.grant, req.firstTokenS * 1000);
    }
    for (let i = 0; i < res.finished.length; i++) {
      const s = res.finished[i];
      const a = s.req as SimAttempt;
      r.holding.delete(a);
      if (a.cancelled) continue;
      const req = a.req;
      req.finishS = this.#now + back.latencyS(r.region, req.place.region);
      req.generated = s.generated;
      req.preemptions = s.preemptions;
      this.#release(r, req.promptLen + req.maxTokens, 0);
      this.#observe(a, true);
      this.#close(req, 'ok');
    }
    if (r.aborts.length > 0) this.#abortNow(r);
    this.#startStep(r);
  }

  // ── autoscaled slots ─────────────────────────────────────────────────────────

  /** The autoscaler asked for a slot: charged from now; it boots after the pool's start-up and enters rotation at the next probe. */
  #startSlot(r: SimReplica, pool: SimAutoscalePool): void {
    r.provision(this.#now);
    this.#agenda.at(this.#now + pool.startupMs / 1000, Ev.Boot, r.index, r.life);
  }

  /** A start is cancelled; a ready slot leaves rotation (as the registry's draining does) and goes once nothing is in flight on it. */
  #drainSlot(r: SimReplica): void {
    if (r.phase === 'starting' || r.phase === 'booted') return this.#retire(r);
    if (r.phase !== 'ready') return;
    r.startDrain(this.#now);
    this.#rotation(r);
    if (r.inflight === 0) this.#agenda.at(this.#now, Ev.Retire, r.index, r.life);
  }

  #retire(r: SimReplica): void {
    r.retire(this.#now);
    this.#prefixes.forget(r.slot);
  }

  /** A call on `r` ended as far as the gateway's counts go; the last one on a draining slot lets it go (at once, after the event in hand). */
  #release(r: SimReplica, tokens: number, prefill: number): void {
    released(r, tokens, prefill);
    if (r.inflight === 0 && r.phase === 'draining') this.#agenda.at(this.#now, Ev.Retire, r.index, r.life);
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
          } else if (!r.up && r.launched) r.restart(this.#now);
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
      case 'errors':
      case 'long-outputs':
      case 'ttft': {
        const i = this.#in.faults.indexOf(f);
        if (start) this.#activeFaults.add(i);
        else this.#activeFaults.delete(i);
        for (const r of targets) this.#versionFaults(r);
        break;
      }
    }
  }

  /** A replica's error rate and factors from the faults in force on it: the highest rate, the factors multiplied. */
  #versionFaults(r: SimReplica): void {
    let rate = 0;
    let output = 1;
    let prefill = 1;
    for (const i of this.#activeFaults) {
      const f = this.#in.faults[i];
      if (!this.#hits(f, r)) continue;
      if (f.kind === 'errors') rate = Math.max(rate, f.rate);
      else if (f.kind === 'long-outputs') output *= f.factor;
      else if (f.kind === 'ttft') prefill *= f.factor;
    }
    if (prefill !== r.prefillFactor) {
      // as a slow fault: the step in progress ends at its old pace
      const end = r.cut(this.#now);
      if (end >= 0) this.#agenda.at(end, Ev.StepEnd, r.index, r.stamp);
    }
    r.errorRate = rate;
    r.outputFactor = output;
    r.prefillFactor = prefill;
  }

  /** Whether the fault targets the replica (a fault built in code may leave `version` out). */
  #hits(f: Fault, r: SimReplica): boolean {
    return (f.replica === null || r.spec.id === f.replica) && (f.region === null || r.region === f.region) && ((f.version ?? null) === null || r.version === f.version);
  }

  #targets(f: Fault): SimReplica[] {
    return this.#replicas.filter((r) => this.#hits(f, r));
  }

  #crash(r: SimReplica): void {
    const held = r.crash(this.#now);
    // every open connection breaks: the gateway takes the replica out until a probe finds it back
    if (held.length > 0) this.#outOfRotation(r);
    for (const x of held) {
      const a = x as SimAttempt;
      a.seq = null;
      if (a.cancelled) continue;
      // each call it held is released once, here (one still on the wire is released when it arrives)
      this.#release(r, a.promptLen + a.req.maxTokens, a.prefillOwed);
      a.prefillOwed = 0;
      const req = a.req;
      this.#pools?.failure(r, this.#now * 1000, a.sentS * 1000);
      this.#observe(a, false);
      if (req.firstTokenS === req.firstTokenS) {
        // tokens already reached the client: the stream breaks, nothing to retry
        req.replica = null;
        this.#close(req, 'failed');
      } else {
        // no byte reached the client yet: the gateway may retry elsewhere
        this.#callFailed(a, BROKEN);
      }
    }
  }

  /** The gateway saw the replica fail: out of rotation until a probe passes, and its cache presumed lost. */
  #outOfRotation(r: SimReplica): void {
    if (!r.healthy) return;
    r.healthy = false;
    this.#prefixes.forget(r.slot);
    this.#rotation(r);
  }

  /** A replica went in or out of rotation: its model's admission queue follows. */
  #rotation(r: SimReplica): void {
    if (this.#admission === null) return;
    this.#admission.recount(r.spec.model);
    this.#admission.pump(r.spec.model);
  }

  // ── records ──────────────────────────────────────────────────────────────────

  /** A call ended (served, or failed by the replica): its sample goes to the rollout, if one runs. */
  #observe(a: SimAttempt, ok: boolean): void {
    const ro = this.#rollout;
    const as = this.#autoscale;
    if (ro === null && (as === null || !as.scales(a.replica))) return;
    const req = a.req;
    const out = ok ? req.generated : 0;
    const ttft = ok ? (req.firstTokenS - a.sentS) * 1000 : null;
    const itl = ok && out >= 2 ? ((req.finishS - req.firstTokenS) * 1000) / (out - 1) : null;
    if (as !== null && as.scales(a.replica)) {
      const o = this.#outcome;
      o.sentAtMs = a.sentS * 1000;
      o.atMs = this.#now * 1000;
      o.failed = !ok;
      o.ttftMs = ttft;
      o.itlMs = itl;
      o.outputTokens = out;
      as.ended(a.replica, o);
    }
    if (ro === null) return;
    const cached = ok ? req.cachedTokens : 0;
    ro.observe(a.replica, {
      atMs: this.#now * 1000, sentAtMs: a.sentS * 1000, region: a.replica.region, stream: true, failed: !ok,
      ttftMs: ttft, itlMs: itl,
      promptTokens: req.promptLen, cachedTokens: cached, outputTokens: out, truncated: false,
      costUsd: callCost(req.promptLen, cached, out),
    });
  }

  #close(req: SimRequest, outcome: Outcome): void {
    if (req.outcome !== null) return;
    req.outcome = outcome;
    this.#live.delete(req.id);
    this.#open--;
    this.#clock.cancel(req.hedgeTimer);
    req.hedgeTimer = null;
    for (const a of [req.attempt, req.hedge]) {
      if (a === null) continue;
      if (a.budgeted) this.#budget.release();
      a.budgeted = false;
    }
    if (outcome !== 'ok') {
      if (req.attempt !== null) this.#counts.wasted++;
      if (req.hedge !== null) this.#counts.wasted++;
    }
    req.attempt = null;
    req.hedge = null;
    if (req.started) this.#budget.ended();
    req.started = false;
    const r = req.replica;
    this.#records.push({
      id: req.id, tenant: req.arrival.tenant, model: req.model, arrivalS: req.arrival.atS,
      replica: r ? r.spec.id : null, region: r ? r.region : null, outcome,
      promptLen: req.promptLen, outputLen: outcome === 'ok' ? req.generated : 0,
      cachedTokens: req.cachedTokens,
      // a shed request's finish is when its client got the 529: on arrival, or after waiting
      firstTokenS: outcome === 'ok' ? req.firstTokenS : NaN, finishS: outcome === 'ok' ? req.finishS : outcome === 'shed' ? this.#now : NaN,
      preemptions: req.preemptions, retries: Math.max(0, req.attempts - 1 - req.hedges),
      ...(req.hedges > 0 ? { hedges: req.hedges } : {}),
    });
    req.blockHashes = EMPTY;
    req.ticket = null;
    // its share of the admission queue goes to the next in line
    const g = req.grant;
    req.grant = null;
    if (g !== null) this.#admission!.release(g);
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
    this.#autoscale?.sample(this.#now);
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
      ...(this.#classes !== null ? { admission: this.#classes.summary() } : {}),
      ...(this.#counts.retries + this.#counts.hedges + this.#counts.overflows + this.#counts.wasted > 0 ? { upstream: { ...this.#counts } } : {}),
      ...(this.#rollout !== null ? { rollout: this.#rollout.record() } : {}),
      ...(this.#autoscale !== null ? { autoscale: this.#autoscale.record((r) => r.upTime(end)) } : {}),
      durationS: this.#in.durationS, wallS: 0,
      requests: this.#records, replicas, samples: this.#samples, sampleS: this.#in.sampleS,
    };
  }
}
