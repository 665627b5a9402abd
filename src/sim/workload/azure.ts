import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Replay, raiseZeros, type TraceOptions, type TraceTable } from './replay.js';
import { inTimeOrder, permute } from './order.js';
import { WorkloadError, type Segment, type TraceWorkload } from './types.js';

// The Azure LLM inference trace 2023 (AzureLLMInferenceTrace_{code,conv}.csv): TIMESTAMP,
// ContextTokens, GeneratedTokens. Parsed by hand from the bytes: the timestamps carry 7 fractional
// digits (100 ns), which Date would cut to milliseconds, so they are read as whole seconds plus
// nanoseconds and subtracted from the first row in integers. 16 bytes per row. The trace has no
// prompt text: each request is one segment of its own.

/** Replay an Azure 2023 trace file. Throws WorkloadError if it cannot be read or parsed. */
export function azureTrace(file: string, opts: TraceOptions = {}): TraceWorkload {
  let buf: Uint8Array;
  try {
    buf = readFileSync(file);
  } catch (err) {
    throw new WorkloadError(`cannot read Azure trace ${file}: ${(err as Error).message}`);
  }
  return new Replay(parseAzure(buf, file), opts);
}

const NL = 10;
const CR = 13;
const COMMA = 44;

export function parseAzure(buf: Uint8Array, file: string): TraceTable {
  const m = /AzureLLMInferenceTrace_(\w+)\.csv$/.exec(basename(file));
  const label = m ? `Azure 2023 ${m[1]} trace` : `Azure trace ${basename(file)}`;
  const fail = (line: number, msg: string): never => {
    throw new WorkloadError(`${file}:${line}: ${msg}`);
  };
  let lines = 1;
  for (let i = 0; i < buf.length; i++) if (buf[i] === NL) lines++;
  // header: the column order is read, not assumed
  let p = lineEnd(buf, 0);
  const header = Buffer.from(buf.subarray(0, p)).toString('utf8').replace(/\r$/, '').split(',').map((s) => s.trim());
  const cTime = header.indexOf('TIMESTAMP');
  const cCtx = header.indexOf('ContextTokens');
  const cGen = header.indexOf('GeneratedTokens');
  if (cTime < 0 || cCtx < 0 || cGen < 0) fail(1, `expected the columns TIMESTAMP, ContextTokens, GeneratedTokens; found ${header.join(', ')}`);
  let timeS = new Float64Array(lines);
  let promptLen = new Int32Array(lines);
  let outputLen = new Int32Array(lines);
  let n = 0;
  let sec0 = 0;
  let ns0 = 0;
  let line = 1;
  const field = { sec: 0, ns: 0 };
  while (p < buf.length) {
    const start = p + 1;
    p = lineEnd(buf, start);
    line++;
    let end = p;
    if (end > start && buf[end - 1] === CR) end--;
    if (end === start) continue; // blank line
    let col = 0;
    let a = start;
    let ctx = -1;
    let gen = -1;
    let haveTime = false;
    for (let i = start; i <= end; i++) {
      if (i < end && buf[i] !== COMMA) continue;
      if (col === cTime) haveTime = parseStamp(buf, a, i, field);
      else if (col === cCtx) ctx = parseUint(buf, a, i);
      else if (col === cGen) gen = parseUint(buf, a, i);
      col++;
      a = i + 1;
    }
    if (!haveTime) fail(line, `TIMESTAMP is not "YYYY-MM-DD HH:MM:SS.fffffff"`);
    if (ctx < 0 || gen < 0) fail(line, 'ContextTokens and GeneratedTokens must be whole numbers ≥ 0');
    if (n === 0) {
      sec0 = field.sec;
      ns0 = field.ns;
    }
    // integer nanoseconds since the first row (exact below 2^53 ns ≈ 104 days), one rounding
    timeS[n] = ((field.sec - sec0) * 1e9 + (field.ns - ns0)) / 1e9;
    promptLen[n] = ctx;
    outputLen[n] = gen;
    n++;
  }
  timeS = timeS.slice(0, n);
  promptLen = promptLen.slice(0, n);
  outputLen = outputLen.slice(0, n);
  const order = inTimeOrder(timeS);
  if (order !== null) {
    timeS = permute(timeS, order);
    promptLen = permute(promptLen, order);
    outputLen = permute(outputLen, order);
    // a row earlier than the first is possible in an unsorted file: rebase to the earliest
    const t0 = timeS[0];
    for (let i = 0; i < n; i++) timeS[i] -= t0;
  }
  const zeroPromptRows = raiseZeros(promptLen);
  const zeroOutputRows = raiseZeros(outputLen);
  return {
    label, rows: n, timeS, promptLen, outputLen, zeroPromptRows, zeroOutputRows,
    bytes: timeS.byteLength + promptLen.byteLength + outputLen.byteLength,
    // keys: prompt 2·row, output 2·row + 1
    segments: (row: number): Segment[] => [{ key: 2 * row, length: promptLen[row] }],
    outputKey: (row: number) => 2 * row + 1,
  };
}

function lineEnd(buf: Uint8Array, from: number): number {
  const i = buf.indexOf(NL, from);
  return i < 0 ? buf.length : i;
}

/** digits in [a, b) → integer, or -1 if empty or not all digits (spaces around are allowed) */
function parseUint(buf: Uint8Array, a: number, b: number): number {
  while (a < b && buf[a] === 32) a++;
  while (b > a && buf[b - 1] === 32) b--;
  if (a === b) return -1;
  let v = 0;
  for (let i = a; i < b; i++) {
    const d = buf[i] - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** "YYYY-MM-DD HH:MM:SS[.f…]" (or with a T) → whole seconds since the epoch and nanoseconds */
function parseStamp(buf: Uint8Array, a: number, b: number, out: { sec: number; ns: number }): boolean {
  while (a < b && buf[a] === 32) a++;
  if (b - a < 19) return false;
  const num = (i: number, len: number): number => parseUint(buf, a + i, a + i + len);
  const y = num(0, 4);
  const mo = num(5, 2);
  const d = num(8, 2);
  const h = num(11, 2);
  const mi = num(14, 2);
  const s = num(17, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return false;
  if (buf[a + 4] !== 45 || buf[a + 7] !== 45 || buf[a + 13] !== 58 || buf[a + 16] !== 58) return false;
  let ns = 0;
  let i = a + 19;
  if (i < b) {
    if (buf[i] !== 46) return false;
    let scale = 1e8;
    for (i++; i < b && buf[i] !== 32; i++) {
      const dg = buf[i] - 48;
      if (dg < 0 || dg > 9) return false;
      ns += dg * scale; // digits past the 9th are below a nanosecond and dropped
      scale /= 10;
    }
    ns = Math.floor(ns);
  }
  out.sec = Date.UTC(y, mo - 1, d) / 1000 + h * 3600 + mi * 60 + s;
  out.ns = ns;
  return true;
}
