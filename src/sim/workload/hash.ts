import { hashBlock } from '../../engine/index.js';
import type { Segment } from './types.js';

// Block hashes from segments, without ever materialising tokens. A block is described by the runs
// of segment text it holds, each as (key, offset in the segment, length); chaining through the
// engine's hashBlock makes block i's hash cover every block before it. Two prompts therefore share
// a block's hash exactly when their segments agree up to that block's end.

const TWO32 = 0x1_0000_0000;

// one block holds at most blockSize runs; 4 int32 lanes per run. Grown on demand, reused.
let scratch = new Int32Array(4 * 64);

/**
 * Chained hashes of every full block of a prompt (and, when outputKey is given, of the prompt
 * followed by outputLen output tokens under that key), at the engine's block size. Writes into
 * `out` when it is long enough (the returned array is then a view of it). O(blocks + segments).
 */
export function blockHashes(segments: readonly Segment[], outputKey: number | null, outputLen: number, blockSize: number, out?: Float64Array): Float64Array {
  let total = 0;
  for (let i = 0; i < segments.length; i++) total += segments[i].length;
  if (outputKey !== null) total += outputLen;
  const n = Math.floor(total / blockSize);
  const hashes = out !== undefined && out.length >= n ? (out.length === n ? out : out.subarray(0, n)) : new Float64Array(n);
  if (scratch.length < 4 * blockSize) scratch = new Int32Array(4 * blockSize);
  const s = scratch;
  let seg = -1;
  let key = 0;
  let len = 0;
  let off = 0;
  let parent = 0;
  for (let b = 0; b < n; b++) {
    let fill = 0;
    let w = 0;
    while (fill < blockSize) {
      while (off >= len) {
        // next segment (empty ones skipped); the output is one more after the prompt's. n
        // guarantees one remains.
        seg++;
        if (seg < segments.length) {
          key = segments[seg].key;
          len = segments[seg].length;
        } else {
          key = outputKey!;
          len = outputLen;
        }
        off = 0;
      }
      const take = Math.min(blockSize - fill, len - off);
      s[w] = key >>> 0;
      s[w + 1] = Math.floor(key / TWO32) | 0;
      s[w + 2] = off;
      s[w + 3] = take;
      w += 4;
      fill += take;
      off += take;
    }
    parent = hashBlock(parent, s, 0, w);
    hashes[b] = parent;
  }
  return hashes;
}

const pair = new Int32Array(2);

/**
 * A key moved into another key space: `mix` gives each of its parts its own salt so two parts
 * that both number their segments from 0 never appear to share a prefix. 53-bit, like the keys.
 */
export function saltKey(key: number, salt: number): number {
  pair[0] = key >>> 0;
  pair[1] = Math.floor(key / TWO32) | 0;
  return hashBlock(salt + 1, pair, 0, 2);
}
