import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadlineExceeded, ManualTime, deadline, wallTimers, withDeadline } from '../../src/time/index.js';

// A deadline on I/O is judged after the answers already in have been read. Node runs due timers
// before it reads sockets, so when this process stalls longer than a deadline, a plain timer would
// fail a call whose answer has been waiting in the socket the whole time.

let echo: ChildProcess;
let port: number;

beforeAll(async () => {
  // another process, as a store is: it answers while this one stalls
  const server = "require('node:net').createServer((s) => s.on('data', (d) => s.write(d)).on('error', () => {})).listen(0, '127.0.0.1', function () { console.log(this.address().port); });";
  echo = spawn(process.execPath, ['-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  port = await new Promise<number>((r) => echo.stdout!.once('data', (d: Buffer) => r(Number(d.toString()))));
});

afterAll(() => {
  echo.kill();
});

async function open(): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await new Promise((r) => s.once('connect', r));
  return s;
}

/** One round trip: resolves with the echo. */
const ask = (s: Socket, text: string) => new Promise<string>((r) => {
  s.once('data', (d) => r(d.toString()));
  s.write(text);
});

/** Blocks this process's event loop, as a burst or a GC pause does. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
}

describe('a deadline on I/O, on the wall', () => {
  it('does not fail a call answered in time when the process stalled past the deadline', async () => {
    const s = await open();
    try {
      const call = withDeadline(wallTimers, ask(s, 'ping'), 50, 'no echo');
      stall(150); // the echo arrives within a millisecond, and waits in the socket
      await expect(call).resolves.toBe('ping');
    } finally {
      s.destroy();
    }
  });

  it('is what a plain timer gets wrong: raced the same way, the timer wins', async () => {
    const s = await open();
    try {
      const late = new Promise<string>((r) => { const t = setTimeout(r, 50, 'timed out'); t.unref(); });
      const call = Promise.race([ask(s, 'ping'), late]);
      stall(150);
      await expect(call).resolves.toBe('timed out');
    } finally {
      s.destroy();
    }
  });

  it('fails, with DeadlineExceeded and its message, a call that is not answered', async () => {
    const t0 = performance.now();
    const never = new Promise<string>(() => {});
    const err = await withDeadline(wallTimers, never, 60, 'the store did not answer').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeadlineExceeded);
    expect((err as Error).message).toBe('the store did not answer');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(55);
  });

  it('fails an unanswered call in a process doing nothing else (the loop asleep in its poll)', () => {
    // the built module, in a process with one idle interval: nothing but the deadline wakes it
    const time = pathToFileURL(join(import.meta.dirname, '..', '..', 'dist', 'time', 'index.js')).href;
    const script = `import { wallTimers, withDeadline } from '${time}';
      setInterval(() => {}, 1e9);
      withDeadline(wallTimers, new Promise(() => {}), 50, 'late').catch((e) => { console.log(e.name, e.message); process.exit(0); });`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 5_000, encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('DeadlineExceeded late');
  });

  it('passes on the call\'s own failure, not a deadline\'s', async () => {
    const err = await withDeadline(wallTimers, Promise.reject(new RangeError('refused')), 1_000, 'late').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeError);
  });

  it('never calls back once cancelled, even when cancelled by the answer read after it came due', async () => {
    const s = await open();
    try {
      let fired = 0;
      const h = deadline(wallTimers, 50, () => fired++, undefined);
      const answered = ask(s, 'ping').then(() => wallTimers.cancel(h));
      stall(150); // due, and the answer is in: the timer fires first, the answer is read, then it is judged
      await answered;
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 20));
      expect(fired).toBe(0);
    } finally {
      s.destroy();
    }
  });
});

describe('a deadline on a virtual clock', () => {
  it('fires exactly when the clock reaches it, as timers.after does', async () => {
    const t = new ManualTime();
    const never = new Promise<string>(() => {});
    const call = withDeadline(t, never, 100, 'late').catch((e: unknown) => (e as Error).message);
    t.advance(99);
    let settled = false;
    void call.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    t.advance(1);
    await expect(call).resolves.toBe('late');
  });
});
