import { describe, expect, it } from 'vitest';
import { createProgress, progressLine } from '../../../src/sim/report/index.js';

function sink(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } };
}

describe('the progress bar', () => {
  it('redraws one line on a terminal, at most ten times a second by the time handed in', () => {
    const { writes, stream } = sink(true);
    const bar = createProgress(stream, 'sim');
    bar.update(0.5, 'lo', 0);
    bar.update(0.6, 'lo', 50); // 50 ms later: skipped
    bar.update(0.7, 'rr', 150);
    bar.done();
    expect(writes).toHaveLength(3);
    expect(writes[0]).toMatch(/^\rsim \[#{15}\.{15}\]  50% lo$/);
    expect(writes[1]).toMatch(/70% rr$/);
    expect(writes[2]).toBe('\r\x1b[2K');
  });

  it('writes nothing when the stream is not a terminal (a pipe or a CI log)', () => {
    const { writes, stream } = sink(false);
    const bar = createProgress(stream, 'sim');
    bar.update(0.5, '', 0);
    bar.done();
    expect(writes).toHaveLength(0);
  });

  it('clamps the fraction to 0–100 %', () => {
    expect(progressLine('x', 1.5, '', 4)).toBe('x [####] 100% ');
    expect(progressLine('x', -1, '', 4)).toBe('x [....]   0% ');
  });
});
