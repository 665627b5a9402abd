import { describe, expect, it } from 'vitest';
import { ProcessSupervisor, freePorts } from '../../src/control/index.js';

const SLEEPER = ['-e', 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));'];
/** ignores SIGTERM: only SIGKILL ends it */
const STUBBORN = ['-e', 'setInterval(() => {}, 1000); process.on("SIGTERM", () => {});'];

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

describe('the local process supervisor', () => {
  it('restarts a child that dies, and stops every child on stop()', async () => {
    const exits: string[] = [];
    const sup = new ProcessSupervisor({ restart: true, onExit: (id) => exits.push(id) });
    sup.start({ id: 'r1', args: SLEEPER, port: 0 });
    await new Promise((r) => setTimeout(r, 200));
    const first = sup.pid('r1')!;
    process.kill(first, 'SIGKILL');
    const deadline = Date.now() + 5_000;
    while ((sup.pid('r1') === undefined || sup.pid('r1') === first) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const second = sup.pid('r1');
    expect(exits).toEqual(['r1']);
    expect(second).toBeDefined();
    expect(second).not.toBe(first);
    await sup.stop();
    expect(() => process.kill(second!, 0)).toThrow();
  });

  it('stops one child on stop(id): the others keep running, it is not restarted, and it is forgotten', async () => {
    const exits: string[] = [];
    const sup = new ProcessSupervisor({ restart: true, onExit: (id) => exits.push(id) });
    sup.start({ id: 'a', args: SLEEPER, port: 0 });
    sup.start({ id: 'b', args: SLEEPER, port: 0 });
    await until(() => sup.pid('a') !== undefined && sup.pid('b') !== undefined);
    const a = sup.pid('a')!;
    const b = sup.pid('b')!;
    await sup.stop('a', 5_000);
    // resolved once it exited
    expect(alive(a)).toBe(false);
    expect(sup.pid('a')).toBeUndefined();
    await new Promise((r) => setTimeout(r, 700)); // past the first restart backoff
    expect(sup.pid('a')).toBeUndefined();
    expect(exits).toEqual([]);
    expect(sup.pid('b')).toBe(b);
    expect(alive(b)).toBe(true);
    // the id is free again
    sup.start({ id: 'a', args: SLEEPER, port: 0 });
    await until(() => sup.pid('a') !== undefined);
    expect(sup.pid('a')).not.toBe(a);
    await sup.stop();
    expect(alive(b)).toBe(false);
  });

  it('kills a child that ignores SIGTERM once the grace is over', async () => {
    const sup = new ProcessSupervisor({ restart: true });
    sup.start({ id: 's', args: STUBBORN, port: 0 });
    await until(() => sup.pid('s') !== undefined);
    await new Promise((r) => setTimeout(r, 300)); // its SIGTERM handler is installed
    const pid = sup.pid('s')!;
    const t0 = Date.now();
    await sup.stop('s', 400);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(alive(pid)).toBe(false);
  });

  it('resolves stop(id) at once for an id it does not know', async () => {
    const sup = new ProcessSupervisor({ restart: true });
    await expect(sup.stop('nobody', 10)).resolves.toBeUndefined();
  });

  it('does not restart a child started with restart off, and tells its own onExit', async () => {
    const exited: Array<number | null> = [];
    const sup = new ProcessSupervisor({ restart: true });
    sup.start({ id: 'once', args: ['-e', 'process.exit(3)'], port: 0, restart: false, onExit: (code) => exited.push(code) });
    await until(() => exited.length > 0);
    expect(exited).toEqual([3]);
    await new Promise((r) => setTimeout(r, 700));
    expect(sup.pid('once')).toBeUndefined();
    await sup.stop();
  });

  it('hands out distinct free ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    expect(ports.every((p) => p > 0)).toBe(true);
  });

  it('refuses a second child of an id it runs, and any child after stop(): neither would ever be stopped', async () => {
    const sup = new ProcessSupervisor({ restart: false });
    sup.start({ id: 'r1', args: SLEEPER, port: 0 });
    await until(() => sup.pid('r1') !== undefined);
    const first = sup.pid('r1')!;
    expect(() => sup.start({ id: 'r1', args: SLEEPER, port: 0 })).toThrow(/r1.*running/);
    expect(sup.pid('r1')).toBe(first);
    await sup.stop();
    expect(alive(first)).toBe(false);
    expect(() => sup.start({ id: 'r2', args: SLEEPER, port: 0 })).toThrow(/stopped/);
    expect(sup.pid('r2')).toBeUndefined();
  });

  it('lets an id be started again once its child is stopped', async () => {
    const sup = new ProcessSupervisor({ restart: false });
    sup.start({ id: 'r1', args: SLEEPER, port: 0 });
    await until(() => sup.pid('r1') !== undefined);
    const first = sup.pid('r1')!;
    await sup.stop('r1', 2_000);
    sup.start({ id: 'r1', args: SLEEPER, port: 0 });
    await until(() => sup.pid('r1') !== undefined);
    expect(sup.pid('r1')).not.toBe(first);
    await sup.stop();
  });
});
