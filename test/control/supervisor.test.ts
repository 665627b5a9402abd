import { describe, expect, it } from 'vitest';
import { ProcessSupervisor, freePorts } from '../../src/control/index.js';

const SLEEPER = ['-e', 'setInterval(() => {}, 1000); process.on("SIGTERM", () => process.exit(0));'];

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

  it('hands out distinct free ports', async () => {
    const ports = await freePorts(5);
    expect(new Set(ports).size).toBe(5);
    expect(ports.every((p) => p > 0)).toBe(true);
  });
});
