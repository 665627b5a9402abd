import type { UpstreamChunk, UpstreamCompletion } from '../../api/index.js';
import type { WarmupConfig } from '../../config/index.js';
import type { FleetRegistry, ModelVersions, Replica } from '../../fleet/index.js';
import type { CallSink, UpstreamFailure } from '../../upstream/index.js';
import type { Backend } from '../backends.js';

// A fresh replica of a version that asks for a warm-up is sent a few small requests through the
// gateway's own client for it once a health probe has passed, and only then marked warm (ready for
// a rollout's traffic): its first real requests do not pay for its cold start. A warm-up that fails
// is tried again at the next poll.

export class Warmups {
  /** replicas being warmed now */
  readonly #running = new Set<Replica>();

  constructor(
    private readonly fleet: FleetRegistry,
    private readonly versions: ModelVersions,
    private readonly backends: ReadonlyMap<Replica, Backend>,
    private readonly onError: (r: Replica, message: string) => void,
    private readonly onWarm: (r: Replica) => void,
  ) {}

  /** Starts a warm-up for each replica that needs one and has passed a probe; resolves when those started now end. */
  poll(): Promise<void> {
    const started: Promise<void>[] = [];
    for (const r of this.fleet.all) {
      if (r.warm || this.#running.has(r) || r.probedAtMs <= 0 || !r.healthy) continue;
      const w = this.versions.get(r.model, r.version)?.warmup;
      const backend = this.backends.get(r);
      if (w === undefined || backend === undefined) {
        // nothing to run (its version asks for none, or no client reaches it): nothing to wait for
        if (w === undefined) this.fleet.markWarm(r);
        continue;
      }
      started.push(this.#warm(r, backend, w));
    }
    return Promise.all(started).then(() => undefined);
  }

  async #warm(r: Replica, backend: Backend, w: WarmupConfig): Promise<void> {
    this.#running.add(r);
    try {
      for (let i = 0; i < w.requests; i++) {
        const failure = await send(backend, r, w);
        if (failure !== null) return this.onError(r, `warm-up request ${i + 1} of ${w.requests} failed: ${describe(failure)}`);
      }
      this.fleet.markWarm(r);
      this.onWarm(r);
    } finally {
      this.#running.delete(r);
    }
  }
}

function send(backend: Backend, r: Replica, w: WarmupConfig): Promise<UpstreamFailure | null> {
  return new Promise((resolve) => {
    const sink = new WarmSink(resolve);
    try {
      backend.chat({ model: r.servedModel, messages: [{ role: 'user', content: w.prompt }], max_tokens: w.maxTokens, stream: false }, false, sink);
    } catch (err) {
      sink.onFailure({ kind: 'connect', message: err instanceof Error ? err.message : String(err), refused: false });
    }
  });
}

/** Hears one warm-up call: any whole answer will do. */
class WarmSink implements CallSink {
  #over = false;
  constructor(private readonly done: (f: UpstreamFailure | null) => void) {}
  onEvent(): void {}
  onChunk(_c: UpstreamChunk): void {}
  onDone(): void { this.#end(null); }
  onBody(): void { this.#end(null); }
  onCompletion(_c: UpstreamCompletion): void { this.#end(null); }
  onFailure(f: UpstreamFailure): void { this.#end(f); }
  #end(f: UpstreamFailure | null): void {
    if (this.#over) return;
    this.#over = true;
    this.done(f);
  }
}

function describe(f: UpstreamFailure): string {
  switch (f.kind) {
    case 'status': return `status ${f.status}`;
    case 'timeout': return `${f.phase} timeout`;
    default: return f.message;
  }
}
