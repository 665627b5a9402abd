import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { azureTrace, WorkloadError } from '../../../src/sim/workload/index.js';
import { drain, gaps, traceFile } from './helpers.js';

const CODE = traceFile('AzureLLMInferenceTrace_code.csv');
const CONV = traceFile('AzureLLMInferenceTrace_conv.csv');

const dir = mkdtempSync(join(tmpdir(), 'sy-azure-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function csv(name: string, body: string): string {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
}

describe('Azure 2023 trace replay', () => {
  it('parses the first rows of the code trace exactly (7 fractional digits, seconds since row 1)', () => {
    // 2023-11-16 18:17:03.9799600,4808,10 / 18:17:04.0319600,3180,8 / 18:17:04.0781490,110,27
    const [a, b, c] = drain(azureTrace(CODE), 3);
    expect([a.atS, a.promptLen, a.outputLen]).toEqual([0, 4808, 10]);
    expect([b.atS, b.promptLen, b.outputLen]).toEqual([0.052, 3180, 8]);
    expect([c.atS, c.promptLen, c.outputLen]).toEqual([0.098189, 110, 27]);
  });

  it('parses the first rows of the conv trace exactly', () => {
    // 18:15:46.6805900,374,44 / 18:15:50.9951690,396,109 / 18:15:51.2224670,879,55
    const [a, b, c] = drain(azureTrace(CONV), 3);
    expect([a.atS, a.promptLen, a.outputLen]).toEqual([0, 374, 44]);
    expect([b.atS, b.promptLen, b.outputLen]).toEqual([4.314579, 396, 109]);
    expect([c.atS, c.promptLen, c.outputLen]).toEqual([4.541877, 879, 55]);
  });

  it.each([
    ['code', CODE, 8_819, 3435.948056], // 18:17:03.9799600 → 19:14:19.9280160, 57.3 min
    ['conv', CONV, 19_366, 3501.721937], // 18:15:46.6805900 → 19:14:08.4025270, 58.4 min
  ])('replays all rows of %s in time order over the whole span', (_, file, rows, span) => {
    const w = azureTrace(file);
    const as = drain(w);
    expect(as).toHaveLength(rows);
    expect([w.rows, w.requests]).toEqual([rows, rows]);
    expect(w.spanS).toBeCloseTo(span, 6);
    expect(as.at(-1)!.atS).toBeCloseTo(span, 6);
    expect(gaps(as).every((g) => g >= 0)).toBe(true);
    expect(as.every((a, i) => a.id === i)).toBe(true);
  });

  it('gives every request its own prompt (the trace has no prefix information)', () => {
    const as = drain(azureTrace(CONV));
    expect(as.every((a) => a.segments.length === 1 && a.segments[0].length === a.promptLen)).toBe(true);
    expect(new Set(as.flatMap((a) => [a.segments[0].key, a.outputKey])).size).toBe(2 * as.length);
  });

  it('holds 16 bytes per request (three typed columns)', () => {
    expect(azureTrace(CONV).bytesPerRequest).toBe(16);
  });

  it('timeScale 0.5 and rateScale 2 both halve every time; together they compose as a product', () => {
    const plain = drain(azureTrace(CONV));
    const dense = drain(azureTrace(CONV, { timeScale: 0.5 }));
    const fast = drain(azureTrace(CONV, { rateScale: 2 }));
    const both = drain(azureTrace(CONV, { timeScale: 2, rateScale: 2 }));
    expect(dense.map((a) => a.atS)).toEqual(plain.map((a) => a.atS * 0.5));
    expect(fast.map((a) => a.atS)).toEqual(plain.map((a) => a.atS / 2));
    expect(both.map((a) => a.atS)).toEqual(plain.map((a) => a.atS));
    expect(azureTrace(CONV, { rateScale: 2 }).description).toBe('Azure 2023 conv trace ×2 rate, 19,366 requests over 29.2 min');
  });

  it('durationS is virtual time (after scaling); startS is trace time (before it)', () => {
    const plain = drain(azureTrace(CONV));
    const w = azureTrace(CONV, { rateScale: 2, durationS: 600 });
    const as = drain(w);
    // 600 virtual seconds at twice the rate = the rows of the first 1200 trace seconds
    expect(as).toHaveLength(plain.filter((a) => a.atS <= 1200).length);
    expect(w.requests).toBe(as.length);
    expect(as.at(-1)!.atS).toBeLessThanOrEqual(600);
    const late = drain(azureTrace(CONV, { startS: 1800, durationS: 60 }));
    const expected = plain.filter((a) => a.atS >= 1800 && a.atS <= 1860);
    expect(late.map((a) => [a.atS, a.promptLen])).toEqual(expected.map((a) => [a.atS - 1800, a.promptLen]));
    expect(late[0].id).toBe(0);
  });

  it('turns 0 generated (or context) tokens into 1 and counts the rows', () => {
    const f = csv('zeros.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\r\n2023-11-16 18:00:00.0000000,100,0\r\n2023-11-16 18:00:01.5000000,0,7\r\n2023-11-16 18:00:02.0000000,5,0\r\n');
    const w = azureTrace(f);
    expect(drain(w).map((a) => [a.atS, a.promptLen, a.outputLen])).toEqual([[0, 100, 1], [1.5, 1, 7], [2, 5, 1]]);
    expect([w.zeroOutputRows, w.zeroPromptRows]).toEqual([2, 1]);
    expect(w.description).toMatch(/2 rows with 0 output tokens → 1/);
    expect(azureTrace(CONV).zeroOutputRows).toBe(0); // the published traces have none
  });

  it('reads columns by name and sorts rows that are out of time order', () => {
    const f = csv('shuffled.csv', 'GeneratedTokens,TIMESTAMP,ContextTokens\n3,2023-11-16 18:00:05.25,30\n1,2023-11-16 18:00:00,10\n2,2023-11-16 18:00:02.125,20\n');
    expect(drain(azureTrace(f)).map((a) => [a.atS, a.promptLen, a.outputLen])).toEqual([[0, 10, 1], [2.125, 20, 2], [5.25, 30, 3]]);
  });

  it('crosses midnight and month ends', () => {
    const f = csv('midnight.csv', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-30 23:59:59.9000000,1,1\n2023-12-01 00:00:00.1000000,1,1\n');
    expect(drain(azureTrace(f))[1].atS).toBeCloseTo(0.2, 9);
  });

  it.each([
    ['a missing column', 'TIMESTAMP,ContextTokens\n2023-11-16 18:00:00,1\n', /:1: expected the columns TIMESTAMP, ContextTokens, GeneratedTokens/],
    ['a bad timestamp', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00,1,1\nyesterday,1,1\n', /:3: TIMESTAMP is not/],
    ['a negative count', 'TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:00:00,-4,1\n', /:2: ContextTokens and GeneratedTokens must be whole numbers/],
  ])('names the file and line of %s', (name, body, msg) => {
    const f = csv(`bad-${name.replace(/ /g, '-')}.csv`, body);
    expect(() => azureTrace(f)).toThrow(WorkloadError);
    expect(() => azureTrace(f)).toThrow(msg);
  });

  it('says which file it could not read', () => {
    expect(() => azureTrace(join(dir, 'nope.csv'))).toThrow(/cannot read Azure trace .*nope\.csv/);
  });
});
