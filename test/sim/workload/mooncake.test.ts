import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blockHashes, mooncakeTrace, WorkloadError, type Arrival } from '../../../src/sim/workload/index.js';
import { drain, gaps, traceFile } from './helpers.js';

const CONVERSATION = traceFile('mooncake/conversation_trace.jsonl');
const SYNTHETIC = traceFile('mooncake/synthetic_trace.jsonl');

const dir = mkdtempSync(join(tmpdir(), 'sy-mooncake-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row { timestamp: number; input_length: number; output_length: number; hash_ids: number[] }
const rowsOf = (f: string): Row[] => readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** how many leading hash ids two rows share */
function common(a: number[], b: number[]): number {
  let k = 0;
  while (k < a.length && k < b.length && a[k] === b[k]) k++;
  return k;
}

describe('Mooncake trace replay', () => {
  const conv = drain(mooncakeTrace(CONVERSATION));
  const rows = rowsOf(CONVERSATION);

  it.each([
    ['conversation', CONVERSATION, 12_031, 3536.999],
    ['synthetic', SYNTHETIC, 3_993, 1022.025],
  ])('replays all rows of %s, timestamps in ms → seconds', (_, file, n, lastS) => {
    const w = mooncakeTrace(file);
    const as = drain(w);
    expect(as).toHaveLength(n);
    expect(w.requests).toBe(n);
    expect(as[0].atS).toBe(0);
    expect(as.at(-1)!.atS).toBe(lastS);
    expect(gaps(as).every((g) => g >= 0)).toBe(true);
  });

  it('makes one 512-token segment per hash id, the last one the remainder', () => {
    // row 1: input 6758, output 500, hash_ids 0…13 → 13 × 512 + 102
    const a = conv[0];
    expect([a.promptLen, a.outputLen]).toEqual([6758, 500]);
    expect(a.segments.map((s) => s.key)).toEqual(rows[0].hash_ids);
    expect(a.segments.map((s) => s.length)).toEqual([...Array(13).fill(512), 102]);
  });

  it('has segment lengths that sum to input_length on every row', () => {
    const got = conv.map((a) => [a.segments.reduce((s, x) => s + x.length, 0), a.promptLen, a.outputLen]);
    expect(got).toEqual(rows.map((r) => [r.input_length, r.input_length, r.output_length]));
  });

  it('gives two requests with a common hash-id prefix exactly those blocks\' hashes in common', () => {
    // at engine block size 16 a 512-token hash block is 32 engine blocks
    const wrong: string[] = [];
    let pairs = 0;
    const hashes = conv.slice(0, 300).map((a: Arrival) => blockHashes(a.segments, null, 0, 16));
    for (let i = 0; i < 300; i++) {
      for (let j = i + 1; j < 300; j++) {
        const k = common(rows[i].hash_ids, rows[j].hash_ids);
        if (k === 0 || k >= rows[i].hash_ids.length - 1 || k >= rows[j].hash_ids.length - 1) continue; // want full shared blocks, then a difference
        pairs++;
        let same = 0;
        while (hashes[i][same] === hashes[j][same]) same++;
        if (same !== k * 32) wrong.push(`rows ${i}, ${j}: ${k} common ids but ${same} common blocks`);
      }
    }
    expect(wrong).toEqual([]);
    expect(pairs).toBeGreaterThan(100);
  });

  it('adds a tail of its own when input_length is beyond 512 · len(hash_ids), and cuts ids beyond it', () => {
    const f = join(dir, 'edge_trace.jsonl');
    writeFileSync(f, [
      '{"timestamp": 0, "input_length": 1100, "output_length": 3, "hash_ids": [7, 8]}',
      '{"timestamp": 250, "input_length": 600, "output_length": 0, "hash_ids": [7, 8, 9]}',
      '',
    ].join('\n'));
    const w = mooncakeTrace(f);
    const [a, b] = drain(w);
    expect(a.segments.map((s) => [s.key, s.length])).toEqual([[7, 512], [8, 512], [a.segments[2].key, 76]]);
    expect(a.segments[2].key).not.toBe(b.segments[1].key);
    expect(b.segments.map((s) => [s.key, s.length])).toEqual([[7, 512], [8, 88]]);
    expect([b.atS, b.outputLen, w.zeroOutputRows]).toEqual([0.25, 1, 1]);
    expect(w.description).toBe('Mooncake edge trace, 2 requests over 0.0 min (1 row with 0 output tokens → 1)');
  });

  it('holds its table compactly: about 116 bytes per conversation request', () => {
    // 20 B of columns per row + 4 B per hash id (288,500 ids / 12,031 rows ≈ 24)
    const b = mooncakeTrace(CONVERSATION).bytesPerRequest;
    expect(b).toBeGreaterThan(100);
    expect(b).toBeLessThan(120);
  });

  it('rescales time like the Azure replay', () => {
    const fast = drain(mooncakeTrace(CONVERSATION, { rateScale: 4, durationS: 60 }));
    expect(fast).toHaveLength(conv.filter((a) => a.atS <= 240).length);
    expect(fast.at(-1)!.atS).toBe(conv[fast.length - 1].atS / 4);
  });

  it('names the line of a malformed row', () => {
    const f = join(dir, 'bad_trace.jsonl');
    writeFileSync(f, '{"timestamp": 0, "input_length": 10, "output_length": 3, "hash_ids": [1]}\n{"timestamp": 5, "input_length": 10, "output_length": 3}\n');
    expect(() => mooncakeTrace(f)).toThrow(WorkloadError);
    expect(() => mooncakeTrace(f)).toThrow(/bad_trace\.jsonl:2: hash_ids must be an array/);
  });
});
