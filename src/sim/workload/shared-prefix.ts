import { MinHeap } from './heap.js';
import { describeLength, sampler, type Sampler } from './lengths.js';
import { RandomStream } from './rng.js';
import { arrivalGap } from './synthetic.js';
import { describeTenants, tenantPicker, type TenantPicker } from './tenants.js';
import { WorkloadError, type Arrival, type LengthDist, type Segment, type TenantMix, type Workload } from './types.js';

// Chat sessions over shared system prompts: the workload a prefix cache is for. Sessions start as
// a renewal process; each picks a system prompt (Zipf or uniform popularity) and a number of turns.
// Turn k+1's prompt is turn k's prompt, then turn k's answer (segment key = its outputKey), then
// a new user message — so every earlier turn is a segment prefix of the later ones.
//
// Timing is open-loop: the simulator cannot tell the workload when an answer finished, so turn k+1
// arrives at turn k's arrival + outputLen·assumedTpotS (an estimate of the answer's duration,
// default 0) + a think time. With the default the next turn may arrive before the previous answer
// is done; set assumedTpotS (e.g. 0.02) to keep turns apart.

export interface SessionOptions {
  /** turns per session (default 1) */
  readonly turns: LengthDist;
  /** seconds from the (estimated) end of an answer to the next turn */
  readonly thinkTimeS: LengthDist;
  /** seconds per output token assumed for the previous answer when timing the next turn (default 0) */
  readonly assumedTpotS?: number;
}

export interface SharedPrefixOptions {
  /** new sessions per second */
  readonly ratePerS: number;
  /** session starts as gamma gaps with this coefficient of variation; 1 (default) is Poisson */
  readonly cv?: number;
  readonly durationS?: number;
  readonly seed: number;
  /** how many distinct system prompts (0: sessions start with the user's message) */
  readonly systemPrompts: number;
  readonly systemPromptLen: LengthDist;
  /** Zipf exponent of system prompt popularity (prompt i has weight 1/(i+1)^s); omitted or 0 = uniform */
  readonly zipf?: number;
  readonly sessions?: SessionOptions;
  /** tokens of each user message */
  readonly userLen: LengthDist;
  readonly output: LengthDist;
  /** a session ends when a follow-up turn's prompt would be longer (a context window); first turns
   *  are not cut: bound them with systemPromptLen's and userLen's max */
  readonly maxPromptLen?: number;
  readonly tenants?: TenantMix;
  readonly tenant?: string;
  readonly model?: string | null;
  readonly name?: string;
}

interface Turn {
  readonly atS: number;
  /** creation order: equal times leave the heap in it */
  readonly seq: number;
  readonly session: number;
  readonly turnsLeft: number;
  readonly tenant: string;
  readonly segments: readonly Segment[];
  readonly promptLen: number;
  readonly outputLen: number;
  readonly outputKey: number;
}

/** Sessions over shared system prompts. Keys: system prompt i is key i; all others count up from N. */
export function sharedPrefix(o: SharedPrefixOptions): Workload {
  return new SharedPrefix(o);
}

class SharedPrefix implements Workload {
  readonly name: string;
  readonly description: string;
  readonly #o: SharedPrefixOptions;
  readonly #gap: Sampler;
  readonly #user: Sampler;
  readonly #output: Sampler;
  readonly #turns: Sampler;
  readonly #think: Sampler;
  readonly #tpot: number;
  readonly #tenant: TenantPicker;
  readonly #systemLen: Int32Array;
  /** cumulative popularity of the system prompts */
  readonly #popularity: Float64Array;
  readonly #end: number;
  readonly #maxPrompt: number;
  readonly #starts: RandomStream;
  readonly #lengths: RandomStream;
  readonly #shape: RandomStream;
  readonly #who: RandomStream;
  readonly #heap = new MinHeap<Turn>(before);
  #nextStart: number;
  #sessions = 0;
  #seq = 0;
  #key: number;
  #id = 0;
  #done = false;

  constructor(o: SharedPrefixOptions) {
    if (!Number.isInteger(o.systemPrompts) || o.systemPrompts < 0) throw new WorkloadError(`shared-prefix: systemPrompts must be a whole number ≥ 0, got ${o.systemPrompts}`);
    const zipf = o.zipf ?? 0;
    if (!(zipf >= 0)) throw new WorkloadError(`shared-prefix: zipf must be ≥ 0, got ${zipf}`);
    this.#o = o;
    this.name = o.name ?? 'shared-prefix';
    this.#gap = arrivalGap(o.ratePerS, o.cv ?? 1, o.durationS);
    this.#user = sampler(o.userLen, { what: 'userLen', tokens: true, column: 'prompt' });
    this.#output = sampler(o.output, { what: 'output', tokens: true, column: 'output' });
    this.#turns = sampler(o.sessions?.turns ?? 1, { what: 'sessions.turns', tokens: true, column: 'prompt' });
    this.#think = sampler(o.sessions?.thinkTimeS ?? 0, { what: 'sessions.thinkTimeS', tokens: false, column: 'prompt' });
    this.#tpot = o.sessions?.assumedTpotS ?? 0;
    if (!(this.#tpot >= 0)) throw new WorkloadError(`shared-prefix: sessions.assumedTpotS must be ≥ 0, got ${this.#tpot}`);
    this.#tenant = tenantPicker(o.tenants, o.tenant);
    this.#end = o.durationS ?? Infinity;
    this.#maxPrompt = o.maxPromptLen ?? Infinity;
    const root = new RandomStream(o.seed);
    this.#starts = root.fork(1);
    this.#lengths = root.fork(2);
    this.#who = root.fork(3);
    this.#shape = root.fork(4);
    const sys = sampler(o.systemPromptLen, { what: 'systemPromptLen', tokens: true, column: 'prompt' });
    const sysRng = root.fork(5);
    this.#systemLen = Int32Array.from({ length: o.systemPrompts }, () => sys(sysRng));
    this.#popularity = new Float64Array(o.systemPrompts);
    let sum = 0;
    for (let i = 0; i < o.systemPrompts; i++) this.#popularity[i] = sum += Math.pow(i + 1, -zipf);
    this.#key = o.systemPrompts;
    this.#nextStart = this.#gap(this.#starts);
    this.description = describe(o, zipf, this.#tpot);
  }

  next(): Arrival | null {
    if (this.#done) return null;
    // start every session that begins no later than the earliest waiting turn
    while (this.#nextStart <= this.#end && this.#nextStart <= (this.#heap.peek()?.atS ?? Infinity)) {
      this.#startSession(this.#nextStart);
      this.#nextStart += this.#gap(this.#starts);
    }
    const t = this.#heap.pop();
    if (t === undefined || t.atS > this.#end) {
      this.#done = true;
      return null;
    }
    if (t.turnsLeft > 1) this.#followUp(t);
    return {
      id: this.#id++, atS: t.atS, tenant: t.tenant, model: this.#o.model ?? null, promptLen: t.promptLen, outputLen: t.outputLen,
      segments: t.segments, outputKey: t.outputKey, session: t.session,
    };
  }

  #startSession(atS: number): void {
    const session = this.#sessions++;
    const segments: Segment[] = [];
    let promptLen = 0;
    if (this.#systemLen.length > 0) {
      const sys = this.#pickSystem();
      segments.push({ key: sys, length: this.#systemLen[sys] });
      promptLen += this.#systemLen[sys];
    }
    const user = this.#user(this.#lengths);
    segments.push({ key: this.#key++, length: user });
    promptLen += user;
    const turns = this.#turns(this.#shape);
    this.#heap.push({
      atS, seq: this.#seq++, session, turnsLeft: turns, tenant: this.#tenant(this.#who), segments, promptLen,
      outputLen: this.#output(this.#lengths), outputKey: this.#key++,
    });
  }

  /** the next turn: this prompt + this answer + a new user message */
  #followUp(t: Turn): void {
    const user = this.#user(this.#lengths);
    const promptLen = t.promptLen + t.outputLen + user;
    const think = this.#think(this.#shape);
    if (promptLen > this.#maxPrompt) return;
    const segments = t.segments.slice();
    segments.push({ key: t.outputKey, length: t.outputLen }, { key: this.#key++, length: user });
    this.#heap.push({
      atS: t.atS + t.outputLen * this.#tpot + think, seq: this.#seq++, session: t.session, turnsLeft: t.turnsLeft - 1,
      tenant: t.tenant, segments, promptLen, outputLen: this.#output(this.#lengths), outputKey: this.#key++,
    });
  }

  #pickSystem(): number {
    const cum = this.#popularity;
    const x = this.#shape.float() * cum[cum.length - 1];
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (x < cum[mid]) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

function before(a: Turn, b: Turn): boolean {
  return a.atS < b.atS || (a.atS === b.atS && a.seq < b.seq);
}

function describe(o: SharedPrefixOptions, zipf: number, tpot: number): string {
  const s = o.sessions;
  const turns = s ? `, ${describeLength(s.turns)} turns, think ${describeLength(s.thinkTimeS)} s${tpot > 0 ? ` after ${tpot} s/token` : ''}` : '';
  const who = describeTenants(o.tenants, o.tenant);
  const cv = o.cv ?? 1;
  return `shared prefix: ${o.systemPrompts} system prompts of ${describeLength(o.systemPromptLen)} (${zipf > 0 ? `zipf ${zipf}` : 'uniform'}), `
    + `${o.ratePerS} sessions/s${cv !== 1 ? ` cv ${cv}` : ''}${turns}, user ${describeLength(o.userLen)}, output ${describeLength(o.output)}`
    + `${o.durationS !== undefined ? `, ${o.durationS} s` : ''}${who ? `, ${who}` : ''}`;
}
