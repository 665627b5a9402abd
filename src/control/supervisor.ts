import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { wallTimers, type TimerHandle, type Timers } from '../time/index.js';

// The embedded scaling actuator: runs simulated replicas as child processes on this machine and
// restarts one that dies. (At scale the actuator is the Kubernetes API; see docs/DESIGN.md.)

export interface ProcessSpec {
  id: string;
  /** argv after the node binary */
  args: string[];
  port: number;
  /** restart this one when it dies; default the supervisor's `restart` */
  restart?: boolean;
  /** told when this one dies (after the supervisor's onExit); not when it is stopped */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
}

export interface SupervisorOptions {
  restart: boolean;
  onExit?: (id: string, code: number | null, signal: NodeJS.Signals | null) => void;
  onStderr?: (id: string, line: string) => void;
  /** the restart backoff and the stop grace run on these (default: Node's) */
  timers?: Timers;
}

interface Child {
  spec: ProcessSpec;
  proc: ChildProcess | null;
  backoffMs: number;
  timer: TimerHandle | null;
  /** being stopped on purpose: its exit is neither reported nor restarted */
  stopped: boolean;
}

export class ProcessSupervisor {
  readonly #children = new Map<string, Child>();
  #stopping = false;
  readonly #timers: Timers;

  constructor(private readonly opts: SupervisorOptions) {
    this.#timers = opts.timers ?? wallTimers;
  }

  /**
   * Throws (and starts nothing) after stop(), or for an id it already runs: either child would
   * outlive every stop() — an orphan engine holding a GPU and a port.
   */
  start(spec: ProcessSpec): void {
    if (this.#stopping) throw new Error(`cannot start ${spec.id}: the supervisor has been stopped`);
    if (this.#children.has(spec.id)) throw new Error(`cannot start ${spec.id}: a child of that id is running; stop it first`);
    const child: Child = { spec, proc: null, backoffMs: 500, timer: null, stopped: false };
    this.#children.set(spec.id, child);
    this.#spawn(child);
  }

  /** pid of a running child (for tests and operators) */
  pid(id: string): number | undefined {
    return this.#children.get(id)?.proc?.pid;
  }

  #spawn(child: Child): void {
    // Its own process group, so a terminal's Ctrl-C (sent to the whole foreground group) reaches
    // only the parent, which drains before it stops the replicas. The IPC channel is the child's
    // lifeline: it exits when this process goes, even by SIGKILL.
    const proc = spawn(process.execPath, child.spec.args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], detached: true });
    child.proc = proc;
    proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
      for (const line of d.split('\n')) if (line.trim()) this.opts.onStderr?.(child.spec.id, line);
    });
    proc.once('exit', (code, signal) => {
      child.proc = null;
      if (this.#stopping || child.stopped) return;
      this.opts.onExit?.(child.spec.id, code, signal);
      child.spec.onExit?.(code, signal);
      if (!(child.spec.restart ?? this.opts.restart)) {
        // nothing will bring it back: forget it, so its id may be started afresh
        if (this.#children.get(child.spec.id) === child) this.#children.delete(child.spec.id);
        return;
      }
      child.timer = this.#timers.after(child.backoffMs, this.#respawn, child);
      child.backoffMs = Math.min(child.backoffMs * 2, 30_000);
    });
  }

  readonly #respawn = (child: Child): void => {
    child.timer = null;
    if (!this.#stopping && !child.stopped) this.#spawn(child);
  };

  /** SIGTERM every child, SIGKILL what is left after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGTERM one child, SIGKILL it after `graceMs`; not restarted, and forgotten (an unknown id resolves at once). */
  stop(id: string, graceMs?: number): Promise<void>;
  async stop(a?: number | string, b?: number): Promise<void> {
    if (typeof a === 'string') {
      const c = this.#children.get(a);
      if (c === undefined) return;
      this.#children.delete(a);
      c.stopped = true;
      return this.#terminate(c, b ?? 5_000);
    }
    this.#stopping = true;
    await Promise.all([...this.#children.values()].map((c) => this.#terminate(c, a ?? 5_000)));
  }

  /** Resolves once the child's process has exited (at once when it is not running). */
  #terminate(c: Child, graceMs: number): Promise<void> {
    this.#timers.cancel(c.timer);
    c.timer = null;
    const p = c.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const kill = this.#timers.after(graceMs, killHard, p);
      p.once('exit', () => { this.#timers.cancel(kill); resolve(); });
      p.kill('SIGTERM');
    });
  }
}

function killHard(p: ChildProcess): void {
  p.kill('SIGKILL');
}

/** Ports nobody is listening on right now, from the OS. */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
