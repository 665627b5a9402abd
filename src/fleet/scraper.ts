import { request } from 'undici';
import { wallClock, wallTimers, type Clock, type TimerHandle, type Timers } from '../time/index.js';

// Each replica's GET /metrics (Prometheus text, vLLM V1's `vllm:` names) mapped onto neutral
// fields. A busy vLLM prints ~30 KB, mostly histogram buckets we do not read, so the parser walks
// the text once, line by line, and compares only lines that start with one of the few names it needs;
// it never splits the text or runs a regex over it.

export interface Telemetry {
  readonly waiting: number;
  readonly running: number;
  /** 0-1 */
  readonly kvUsage: number;
  /** counters, as read */
  readonly prefixQueries: number;
  readonly prefixHits: number;
  /** when the scrape was answered (wall clock handed by the caller) */
  readonly atMs: number;
  /** the whole /metrics text, when asked for (`keepTextBytes`) and no longer than that */
  readonly text?: string;
}

// What each line is, by index. Several engines (data parallel) print one sample each:
// running, waiting and the counters are summed, KV usage is averaged.
const RUNNING = 0;
const WAITING = 1;
const KV = 2;
const KV_OLD = 3;
const QUERIES = 4;
const HITS = 5;
const QUERIES_OLD = 6;
const HITS_OLD = 7;
const NAMES = [
  'vllm:num_requests_running',
  'vllm:num_requests_waiting',
  'vllm:kv_cache_usage_perc',
  'vllm:gpu_cache_usage_perc', // vLLM < 0.10; deprecated 0.9 (both are printed there; the new one wins)
  'vllm:prefix_cache_queries_total',
  'vllm:prefix_cache_hits_total',
  'vllm:gpu_prefix_cache_queries_total', // deprecated 0.9
  'vllm:gpu_prefix_cache_hits_total',
] as const;

const CH_NL = 10;
const CH_CR = 13;
const CH_SPACE = 32;
const CH_TAB = 9;
const CH_QUOTE = 34;
const CH_BACKSLASH = 92;
const CH_LBRACE = 123;
const CH_RBRACE = 125;
const CH_HASH = 35;

/** Which of NAMES the line at i starts with (followed by `{` or a space), or -1. */
function nameAt(text: string, i: number): number {
  // every name is `vllm:` + something; the 6th character tells them apart cheaply
  if (!text.startsWith('vllm:', i)) return -1;
  let first = 0;
  let last = -1;
  switch (text.charCodeAt(i + 5)) {
    case 110: first = RUNNING; last = WAITING; break; // n
    case 107: first = KV; last = KV; break; // k
    case 103: first = KV_OLD; last = HITS_OLD; break; // g
    case 112: first = QUERIES; last = HITS; break; // p
    default: return -1;
  }
  for (let k = first; k <= last; k++) {
    const name = NAMES[k];
    if (!text.startsWith(name, i)) continue;
    const c = text.charCodeAt(i + name.length);
    // `vllm:num_requests_waiting_by_reason` starts like `vllm:num_requests_waiting`
    if (c === CH_LBRACE || c === CH_SPACE || c === CH_TAB) return k;
  }
  return -1;
}

/** The sample value of a line whose name ends at i, or NaN; labels may hold `}`, spaces and `\"`. */
function valueAt(text: string, i: number, end: number): number {
  if (text.charCodeAt(i) === CH_LBRACE) {
    let quoted = false;
    for (i++; i < end; i++) {
      const c = text.charCodeAt(i);
      if (quoted) {
        if (c === CH_BACKSLASH) i++;
        else if (c === CH_QUOTE) quoted = false;
      } else if (c === CH_QUOTE) quoted = true;
      else if (c === CH_RBRACE) break;
    }
    i++;
  }
  while (i < end && (text.charCodeAt(i) === CH_SPACE || text.charCodeAt(i) === CH_TAB)) i++;
  let j = i;
  while (j < end && text.charCodeAt(j) !== CH_SPACE && text.charCodeAt(j) !== CH_TAB) j++; // a timestamp may follow
  if (j === i) return NaN;
  // Number() reads `1.0`, `1e-05`, `NaN`; Prometheus spells infinity `+Inf` / `-Inf`
  const v = Number(text.slice(i, j));
  if (v === v) return v;
  const s = text.slice(i, j);
  return s === '+Inf' || s === 'Inf' ? Infinity : s === '-Inf' ? -Infinity : NaN;
}

/** Pure: Prometheus text → Telemetry (minus atMs); null when none of the gauges is present. */
export function parseVllmMetrics(text: string): Omit<Telemetry, 'atMs'> | null {
  // sums and sample counts per name; NaN samples (an engine not reporting yet) count as absent
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
  let n0 = 0, n1 = 0, n2 = 0, n3 = 0, n4 = 0, n5 = 0, n6 = 0, n7 = 0;
  const len = text.length;
  let i = 0;
  while (i < len) {
    let end = text.indexOf('\n', i);
    if (end === -1) end = len;
    const next = end + 1;
    if (end > i && text.charCodeAt(end - 1) === CH_CR) end--;
    const c = text.charCodeAt(i);
    if (c !== CH_HASH && c !== CH_NL) {
      const k = nameAt(text, i);
      if (k >= 0) {
        const v = valueAt(text, i + NAMES[k].length, end);
        if (v === v) {
          switch (k) {
            case RUNNING: s0 += v; n0++; break;
            case WAITING: s1 += v; n1++; break;
            case KV: s2 += v; n2++; break;
            case KV_OLD: s3 += v; n3++; break;
            case QUERIES: s4 += v; n4++; break;
            case HITS: s5 += v; n5++; break;
            case QUERIES_OLD: s6 += v; n6++; break;
            case HITS_OLD: s7 += v; n7++; break;
          }
        }
      }
    }
    i = next;
  }
  if (n0 + n1 + n2 + n3 === 0) return null;
  return {
    running: s0,
    waiting: s1,
    kvUsage: n2 > 0 ? s2 / n2 : n3 > 0 ? s3 / n3 : 0,
    prefixQueries: n4 > 0 ? s4 : s6,
    prefixHits: n5 > 0 ? s5 : s7,
  };
}

/** url: the replica's base, may end in /v1 (then /metrics is at the root: strip a trailing /v1) */
export interface ScrapeTarget {
  readonly id: string;
  readonly url: string;
}

export interface MetricsScraperOptions {
  intervalMs: number;
  timeoutMs: number;
  onSample(target: ScrapeTarget, t: Telemetry): void;
  onError?(target: ScrapeTarget, err: Error): void;
  /** stamps each sample (`atMs` = `nowMs`); default the wall clock */
  clock?: Clock;
  /** the scrape interval runs on these (default: Node's, unref'd) */
  timers?: Timers;
  /** refuse a /metrics body larger than this; default 8 MiB */
  maxBytes?: number;
  /** hand each sample's whole text over (`Telemetry.text`) when it is at most this long, in bytes; default 0: never */
  keepTextBytes?: number;
}

/** `http://h:8000/v1/` → `http://h:8000/metrics`; a path prefix before /v1 is kept. */
export function metricsUrl(base: string): string {
  let u = base;
  while (u.endsWith('/')) u = u.slice(0, -1);
  if (u.endsWith('/v1')) u = u.slice(0, -3);
  return u + '/metrics';
}

/** Scrapes every target's `GET /metrics` on an interval; a round never overlaps the previous one. */
export class MetricsScraper {
  #timer: TimerHandle | null = null;
  #round: Promise<void> | null = null;
  readonly #clock: Clock;
  readonly #timers: Timers;

  constructor(private readonly targets: () => readonly ScrapeTarget[], private readonly opts: MetricsScraperOptions) {
    this.#clock = opts.clock ?? wallClock;
    this.#timers = opts.timers ?? wallTimers;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = this.#timers.every(this.opts.intervalMs, MetricsScraper.#tick, this);
  }

  stop(): void {
    this.#timers.cancel(this.#timer);
    this.#timer = null;
  }

  static #tick(s: MetricsScraper): void {
    void s.scrapeAll();
  }

  /** one round over all targets; resolves when each has a sample or an error (a round in progress is joined) */
  scrapeAll(): Promise<void> {
    if (this.#round) return this.#round;
    const round = this.#run().finally(() => {
      this.#round = null;
    });
    this.#round = round;
    return round;
  }

  async #run(): Promise<void> {
    let list: readonly ScrapeTarget[];
    try {
      list = this.targets();
    } catch {
      return;
    }
    await Promise.all(list.map((t) => this.#scrape(t)));
  }

  async #scrape(target: ScrapeTarget): Promise<void> {
    let t: Telemetry;
    try {
      t = await this.#fetch(target);
    } catch (err) {
      this.#report(target, err);
      return;
    }
    try {
      this.opts.onSample(target, t);
    } catch (err) {
      this.#report(target, err);
    }
  }

  async #fetch(target: ScrapeTarget): Promise<Telemetry> {
    const { timeoutMs } = this.opts;
    const res = await request(metricsUrl(target.url), {
      method: 'GET',
      headers: { accept: 'text/plain' },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.statusCode !== 200) {
      await res.body.dump();
      throw new Error(`GET /metrics of replica ${target.id} answered ${res.statusCode}, expected 200`);
    }
    const max = this.opts.maxBytes ?? 8 * 1024 * 1024;
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > max) {
        res.body.destroy();
        throw new Error(`GET /metrics of replica ${target.id} sent more than ${max} bytes; is the URL a vLLM server?`);
      }
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks, size).toString('utf8');
    const parsed = parseVllmMetrics(text);
    if (!parsed) throw new Error(`GET /metrics of replica ${target.id} has none of vllm:num_requests_running, vllm:num_requests_waiting, vllm:kv_cache_usage_perc; is it a vLLM server?`);
    const keep = this.opts.keepTextBytes ?? 0;
    return size <= keep ? { ...parsed, atMs: this.#clock.nowMs(), text } : { ...parsed, atMs: this.#clock.nowMs() };
  }

  #report(target: ScrapeTarget, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    try {
      this.opts.onError?.(target, e);
    } catch {
      // a throwing error hook must not become an unhandled rejection in the timer's round
    }
  }
}
