import type { Clock, TimerHandle, Timers } from '../../time/index.js';
import type { Actuator, FleetHands, PoolName, PoolSource, ReplicaPhase, ReplicaReport, ReplicaStats, ScalePlan } from '../autoscaler/types.js';
import { freePorts, type ProcessSupervisor } from '../supervisor.js';
import { replicaReport } from './report.js';

// The embedded actuator (`switchyard up --autoscale`): a replica is a `switchyard engine` child
// process on this machine. It joins the gateway's fleet once its /health answers 200, and leaves
// only through the gateway's drain, so no request fails on a scale-down. Level-triggered: a start
// that fails is forgotten and the driver's next tick asks again. It does I/O (ports, processes,
// health probes); its waiting runs on the given timers.

export interface ProcessActuatorOptions {
  readonly supervisor: ProcessSupervisor;
  readonly hands: FleetHands;
  readonly clock: Clock;
  readonly timers: Timers;
  /** argv after the node binary for a `switchyard engine` of the pool on the port */
  engineArgs(pool: PoolName, port: number): string[];
  /** null: the gateway has nothing on it (yet) */
  replicaStats(id: string): ReplicaStats | null;
  onError?(err: unknown, pool: PoolName): void;
  /** how long a replica may take to answer /health before it is stopped; default 10 min */
  startTimeoutMs?: (pool: PoolName) => number;
  /** the address the engines listen on; default 127.0.0.1 */
  readonly host?: string;
  /** between health probes; default 200 ms */
  readonly probeEveryMs?: number;
  /** SIGTERM to SIGKILL when a replica is stopped; default 5 s */
  readonly graceMs?: number;
}

interface Replica {
  readonly id: string;
  readonly pool: PoolName;
  url: string | null;
  phase: ReplicaPhase;
  sinceMs: number;
  /** its process was handed to the supervisor */
  spawned: boolean;
  /** cancelled or gone: late callbacks of its probes and its start do nothing */
  gone: boolean;
  probe: TimerHandle | null;
  deadline: TimerHandle | null;
}

const PROBE_TIMEOUT_MS = 1_000;
const DEFAULT_START_TIMEOUT_MS = 10 * 60_000;

export class ProcessActuator implements Actuator, PoolSource {
  readonly #o: ProcessActuatorOptions;
  readonly #replicas = new Map<string, Replica>();
  /** per pool, the next `as-N`: ids are never reused over the actuator's life */
  readonly #next = new Map<PoolName, number>();
  readonly #host: string;
  readonly #probeEveryMs: number;
  readonly #graceMs: number;
  #closed = false;

  constructor(o: ProcessActuatorOptions) {
    this.#o = o;
    this.#host = o.host ?? '127.0.0.1';
    this.#probeEveryMs = o.probeEveryMs ?? 200;
    this.#graceMs = o.graceMs ?? 5_000;
  }

  /** A replica started before the loop, already in the fleet and ready; its process is the supervisor's `id`. */
  adopt(pool: PoolName, id: string, _port: number, url: string): void {
    this.#replicas.set(id, { id, pool, url, phase: 'ready', sinceMs: this.#o.clock.nowMs(), spawned: true, gone: false, probe: null, deadline: null });
  }

  apply(pool: PoolName, plan: ScalePlan): void {
    for (let i = 0; i < plan.start; i++) this.#start(pool);
    for (const id of plan.drain) {
      const r = this.#replicas.get(id);
      if (r !== undefined && r.pool === pool) this.#drain(r);
    }
  }

  replicas(pool: PoolName): ReplicaReport[] {
    const out: ReplicaReport[] = [];
    for (const r of this.#replicas.values()) {
      if (r.pool !== pool) continue;
      out.push(replicaReport(r.id, r.phase, r.sinceMs, this.#o.replicaStats(r.id)));
    }
    return out;
  }

  /** The gateway's admission queue is read elsewhere; this actuator holds none. */
  queued(_pool?: PoolName): number {
    return 0;
  }

  /** Cancels every probe and deadline and starts nothing more (at shutdown; the supervisor stops the processes). */
  close(): void {
    this.#closed = true;
    for (const r of this.#replicas.values()) this.#settle(r);
  }

  #start(pool: PoolName): void {
    const id = this.#newId(pool);
    const r: Replica = { id, pool, url: null, phase: 'starting', sinceMs: this.#o.clock.nowMs(), spawned: false, gone: false, probe: null, deadline: null };
    this.#replicas.set(id, r);
    const bound = this.#o.startTimeoutMs?.(pool) ?? DEFAULT_START_TIMEOUT_MS;
    r.deadline = this.#o.timers.after(bound, this.#timedOut, r);
    void freePorts(1, this.#host).then(([port]) => {
      if (r.gone || this.#closed) return;
      r.url = `http://${this.#host.includes(':') ? `[${this.#host}]` : this.#host}:${port}`;
      this.#o.supervisor.start({
        id, port, args: this.#o.engineArgs(pool, port), restart: false,
        onExit: (code, signal) => this.#exited(r, code, signal),
      });
      r.spawned = true;
      r.probe = this.#o.timers.after(this.#probeEveryMs, this.#probe, r);
    }).catch((err: unknown) => this.#fail(r, new Error(`could not start replica ${id}: ${(err as Error)?.message ?? String(err)}`)));
  }

  #newId(pool: PoolName): string {
    for (;;) {
      const n = this.#next.get(pool) ?? 0;
      this.#next.set(pool, n + 1);
      const id = `${pool}/as-${n}`;
      if (!this.#replicas.has(id)) return id;
    }
  }

  readonly #probe = (r: Replica): void => {
    r.probe = null;
    if (r.gone || this.#closed || r.phase !== 'starting' || r.url === null) return;
    void healthy(r.url).then((ok) => {
      if (r.gone || this.#closed || r.phase !== 'starting') return;
      if (!ok) {
        r.probe = this.#o.timers.after(this.#probeEveryMs, this.#probe, r);
        return;
      }
      this.#settle(r);
      try {
        this.#o.hands.join(r.pool, { id: r.id, url: r.url! });
      } catch (err) {
        return this.#fail(r, err);
      }
      r.phase = 'ready';
      r.sinceMs = this.#o.clock.nowMs();
    });
  };

  readonly #timedOut = (r: Replica): void => {
    r.deadline = null;
    if (r.gone || r.phase !== 'starting') return;
    const waited = ((this.#o.clock.nowMs() - r.sinceMs) / 1000).toFixed(1);
    this.#fail(r, new Error(`replica ${r.id} did not answer /health with 200 within ${waited} s of being started; stopped it (a slower start-up needs a longer start timeout)`));
  };

  #exited(r: Replica, code: number | null, signal: NodeJS.Signals | null): void {
    if (r.gone) return;
    const how = signal !== null ? `on ${signal}` : `with code ${code}`;
    if (r.phase === 'starting') {
      this.#settle(r);
      this.#forget(r);
      this.#o.onError?.(new Error(`replica ${r.id} exited ${how} while starting; the next tick asks again`), r.pool);
      return;
    }
    // a ready one died under the gateway: take it out of the fleet (what was in flight on it has failed already)
    if (r.phase === 'ready') {
      this.#o.onError?.(new Error(`replica ${r.id} exited ${how} while serving; removing it from the fleet`), r.pool);
      r.phase = 'draining';
      r.sinceMs = this.#o.clock.nowMs();
      void this.#o.hands.drain(r.id).catch((err: unknown) => this.#o.onError?.(err, r.pool)).finally(() => this.#forget(r));
    }
  }

  #drain(r: Replica): void {
    if (r.phase === 'draining' || r.gone) return;
    if (r.phase === 'starting') {
      // not in the fleet yet: nothing to drain, nothing to wait for
      this.#settle(r);
      this.#forget(r);
      if (r.spawned) void this.#o.supervisor.stop(r.id, this.#graceMs);
      return;
    }
    r.phase = 'draining';
    r.sinceMs = this.#o.clock.nowMs();
    // signalled only once the gateway says nothing is in flight on it
    void this.#o.hands.drain(r.id)
      .catch((err: unknown) => this.#o.onError?.(new Error(`draining replica ${r.id} failed (${(err as Error)?.message ?? String(err)}); stopping it anyway`), r.pool))
      .then(() => this.#o.supervisor.stop(r.id, this.#graceMs))
      .catch((err: unknown) => this.#o.onError?.(err, r.pool))
      .finally(() => this.#forget(r));
  }

  /** Stops a starting replica that will not make it, forgets it and reports why. */
  #fail(r: Replica, err: unknown): void {
    this.#settle(r);
    this.#forget(r);
    if (r.spawned) void this.#o.supervisor.stop(r.id, this.#graceMs);
    this.#o.onError?.(err, r.pool);
  }

  #settle(r: Replica): void {
    this.#o.timers.cancel(r.probe);
    this.#o.timers.cancel(r.deadline);
    r.probe = null;
    r.deadline = null;
  }

  #forget(r: Replica): void {
    r.gone = true;
    if (this.#replicas.get(r.id) === r) this.#replicas.delete(r.id);
  }
}

/** GET /health answered 200 within the probe timeout (a socket's deadline: on the wall, as every I/O deadline). */
async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}
