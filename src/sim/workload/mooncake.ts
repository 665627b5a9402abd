import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { inTimeOrder, permute } from './order.js';
import { Replay, raiseZeros, type TraceOptions, type TraceTable } from './replay.js';
import { WorkloadError, type Segment, type TraceWorkload } from './types.js';

// The Mooncake FAST'25 traces (JSONL: timestamp in ms, input_length, output_length, hash_ids).
// hash_ids name the prompt's 512-token blocks, equal ids = equal prefix blocks, so each id becomes
// one segment (key = the id) of 512 tokens, the last one the remainder so lengths sum to
// input_length; tokens beyond 512·len(hash_ids) become a tail of their own. Parsed once into typed
// columns (the ids in one flat Uint32Array); segments are built per arrival.

export interface MooncakeOptions extends TraceOptions {
  /** tokens per hash id (512 in the published traces) */
  readonly blockTokens?: number;
}

/** Replay a Mooncake trace file. Throws WorkloadError if it cannot be read or parsed. */
export function mooncakeTrace(file: string, opts: MooncakeOptions = {}): TraceWorkload {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WorkloadError(`cannot read Mooncake trace ${file}: ${(err as Error).message}`);
  }
  return new Replay(parseMooncake(text, file, opts.blockTokens ?? 512), opts);
}

// unique keys sit above every 32-bit hash id: tail 2³² + 2·row, output 2³² + 2·row + 1
const UNIQUE = 0x1_0000_0000;

export function parseMooncake(text: string, file: string, blockTokens: number): TraceTable {
  if (!Number.isInteger(blockTokens) || blockTokens < 1) throw new WorkloadError(`blockTokens must be a whole number ≥ 1, got ${blockTokens}`);
  const m = /^(\w+?)_trace\.jsonl$/.exec(basename(file));
  const label = `Mooncake ${m ? m[1] : basename(file)} trace`;
  let lines = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  let timeS = new Float64Array(lines);
  let promptLen = new Int32Array(lines);
  let outputLen = new Int32Array(lines);
  let start = new Uint32Array(lines + 1);
  let ids = new Uint32Array(Math.max(1024, text.length >> 3));
  let n = 0;
  let used = 0;
  let t0 = 0;
  let line = 0;
  for (let a = 0; a < text.length;) {
    let b = text.indexOf('\n', a);
    if (b < 0) b = text.length;
    line++;
    const raw = text.slice(a, b).trim();
    a = b + 1;
    if (raw === '') continue;
    const fail = (msg: string): never => {
      throw new WorkloadError(`${file}:${line}: ${msg}`);
    };
    let row: { timestamp?: unknown; input_length?: unknown; output_length?: unknown; hash_ids?: unknown };
    try {
      row = JSON.parse(raw);
    } catch (err) {
      return fail(`not JSON: ${(err as Error).message}`);
    }
    const { timestamp, input_length: input, output_length: output, hash_ids: hashes } = row;
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) fail('timestamp (ms) must be a number');
    if (!isCount(input) || !isCount(output)) fail('input_length and output_length must be whole numbers ≥ 0');
    if (!Array.isArray(hashes)) fail('hash_ids must be an array');
    const hs = hashes as unknown[];
    if (used + hs.length > ids.length) {
      const grown = new Uint32Array(Math.max(ids.length * 2, used + hs.length));
      grown.set(ids.subarray(0, used));
      ids = grown;
    }
    for (const h of hs) {
      if (!isCount(h) || (h as number) >= UNIQUE) fail(`hash_ids must be whole numbers in [0, 2^32), got ${String(h)}`);
      ids[used++] = h as number;
    }
    if (n === 0) t0 = timestamp as number;
    timeS[n] = ((timestamp as number) - t0) / 1000;
    promptLen[n] = input as number;
    outputLen[n] = output as number;
    start[++n] = used;
  }
  timeS = timeS.slice(0, n);
  promptLen = promptLen.slice(0, n);
  outputLen = outputLen.slice(0, n);
  ids = ids.slice(0, used);
  start = start.slice(0, n + 1);
  // rows out of time order are replayed sorted; `from` maps a sorted row to its line's hash ids
  const order = inTimeOrder(timeS);
  if (order !== null) {
    timeS = permute(timeS, order);
    promptLen = permute(promptLen, order);
    outputLen = permute(outputLen, order);
    const first = timeS[0];
    for (let i = 0; i < n; i++) timeS[i] -= first;
  }
  const zeroPromptRows = raiseZeros(promptLen);
  const zeroOutputRows = raiseZeros(outputLen);
  const segments = (row: number): Segment[] => {
    const out: Segment[] = [];
    let left = promptLen[row];
    const r = order === null ? row : order[row];
    for (let i = start[r]; i < start[r + 1] && left > 0; i++) {
      const len = Math.min(blockTokens, left);
      out.push({ key: ids[i], length: len });
      left -= len;
    }
    if (left > 0) out.push({ key: UNIQUE + 2 * row, length: left });
    return out;
  };
  return {
    label, rows: n, timeS, promptLen, outputLen, zeroPromptRows, zeroOutputRows,
    bytes: timeS.byteLength + promptLen.byteLength + outputLen.byteLength + start.byteLength + ids.byteLength + (order?.byteLength ?? 0),
    segments, outputKey: (row: number) => UNIQUE + 2 * row + 1,
  };
}

function isCount(x: unknown): boolean {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}
