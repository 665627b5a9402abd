import { request } from 'undici';
import { wallClock, wallTimers, type Clock, type TimerHandle, type Timers } from '../time/index.js';
import type { FleetRegistry, Replica } from './registry.js';

export interface HealthProberOptions {
  intervalMs: number;
  timeoutMs: number;
  /**
   * consecutive probes without an answer (timed out, connection dropped) before a replica leaves
   * rotation; default 1. A refused connection or an error status takes it out at once: those are
   * answers, where silence from a busy engine may only be a slow event loop.
   */
  unhealthyThreshold?: number;
  onChange?: (r: Replica, healthy: boolean) => void;
  /** stamps each verdict (`nowMs`, the registry's wall-clock time); default the wall clock */
  clock?: Clock;
  /** the probe interval runs on these (default: Node's, unref'd) */
  timers?: Timers;
}

/** Probes every replica's `GET /health` (vLLM: 200 when serving) on an interval. */
export class HealthProber {
  #timer: TimerHandle | null = null;
  #running = false;
  readonly #clock: Clock;
  readonly #timers: Timers;

  constructor(private readonly fleet: FleetRegistry, private readonly opts: HealthProberOptions) {
    this.#clock = opts.clock ?? wallClock;
    this.#timers = opts.timers ?? wallTimers;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = this.#timers.every(this.opts.intervalMs, HealthProber.#round, this);
  }

  stop(): void {
    this.#timers.cancel(this.#timer);
    this.#timer = null;
  }

  static #round(p: HealthProber): void {
    void p.probeAll();
  }

  /** One round of probes; resolves when every replica has a verdict. */
  async probeAll(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    try {
      await Promise.all(this.fleet.all.map((r) => this.#probe(r)));
    } finally {
      this.#running = false;
    }
  }

  /** Probes one replica now (a newcomer waiting for its first verdict); resolves with it. */
  probe(r: Replica): Promise<void> {
    return this.#probe(r);
  }

  async #probe(r: Replica): Promise<void> {
    let ok = false;
    // an answer that says no (an error status, a refused connection), rather than no answer
    let refused = false;
    try {
      const res = await request(probeUrl(r), {
        method: 'GET',
        headersTimeout: this.opts.timeoutMs,
        bodyTimeout: this.opts.timeoutMs,
        signal: AbortSignal.timeout(this.opts.timeoutMs),
      });
      await res.body.dump();
      // the Messages API has no health endpoint: any answer short of a 5xx says the server is up
      ok = r.protocol === 'anthropic' ? res.statusCode < 500 : res.statusCode === 200;
      refused = !ok;
    } catch (err) {
      refused = refusedConnection((err as { code?: string } | null)?.code);
    }
    const was = r.healthy;
    const now = this.#clock.nowMs();
    if (ok) this.fleet.markHealthy(r, now);
    else this.fleet.markFailed(r, now, refused ? 1 : this.opts.unhealthyThreshold ?? 1);
    if (was !== r.healthy) this.opts.onChange?.(r, r.healthy);
  }
}

/** vLLM's `GET /health`; for an Anthropic-protocol upstream, `GET …/v1/models` (a 401 still proves it serves). */
function probeUrl(r: Replica): URL {
  if (r.protocol !== 'anthropic') return new URL('/health', r.url);
  const u = new URL(r.url);
  const base = u.pathname.replace(/\/+$/, '');
  u.pathname = `${base.endsWith('/v1') ? base : `${base}/v1`}/models`;
  return u;
}

/** The error codes of a connection nothing took: no listener, no route, no such host. */
const REFUSING = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** Whether a transport error's code says nothing took the connection (rather than one that was dropped or slow). */
export function refusedConnection(code: string | undefined): boolean {
  return code !== undefined && REFUSING.has(code);
}
