import { request } from 'undici';
import type { FleetRegistry, Replica } from './registry.js';

export interface HealthProberOptions {
  intervalMs: number;
  timeoutMs: number;
  onChange?: (r: Replica, healthy: boolean) => void;
}

/** Probes every replica's `GET /health` (vLLM: 200 when serving) on an interval. */
export class HealthProber {
  #timer: NodeJS.Timeout | null = null;
  #running = false;

  constructor(private readonly fleet: FleetRegistry, private readonly opts: HealthProberOptions) {}

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.probeAll(), this.opts.intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
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

  async #probe(r: Replica): Promise<void> {
    let ok = false;
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
    } catch {
      ok = false;
    }
    const was = r.healthy;
    if (ok) this.fleet.markHealthy(r, Date.now());
    else this.fleet.markFailed(r, Date.now());
    if (was !== ok) this.opts.onChange?.(r, ok);
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
