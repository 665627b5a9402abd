// Block hashes for the prefix cache, chained like vLLM's: a block's hash covers its parent's hash
// and its own token ids, so equal hashes mean equal prefixes. Two 32-bit lanes (murmur3 mixing)
// make a 53-bit integer that is exact in a double and cheap as a Map key. vLLM uses sha256; a
// simulator only needs collisions to be negligible, which 2^53 gives.

const TWO32 = 0x1_0000_0000;

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The hash of the block tokens[start, end) whose parent block hashed to `parent` (0 for the first). */
export function hashBlock(parent: number, tokens: ArrayLike<number>, start: number, end: number): number {
  let a = (parent >>> 0) ^ 0x9e3779b9;
  let b = Math.floor(parent / TWO32) ^ 0x7f4a7c15;
  for (let i = start; i < end; i++) {
    const t = tokens[i] | 0;
    let k = Math.imul(t, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    a ^= k;
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b = Math.imul(b ^ t ^ (a >>> 7), 0x2c1b3c6d) + (i - start);
    b = (b << 11) | (b >>> 21);
  }
  a = fmix(a ^ (end - start));
  b = fmix(b ^ a);
  return (a >>> 0) * 0x20_0000 + (b >>> 11);
}

/**
 * Hashes of every full block of `tokens` (length ⌊n / blockSize⌋). The gateway's prefix index can
 * call this on the same token ids to predict a replica's cache hits.
 */
export function hashBlocks(tokens: ArrayLike<number>, blockSize: number, length = tokens.length, out?: Float64Array): Float64Array {
  const n = Math.floor(length / blockSize);
  const hashes = out ?? new Float64Array(n);
  let parent = 0;
  for (let i = 0; i < n; i++) {
    parent = hashBlock(parent, tokens, i * blockSize, (i + 1) * blockSize);
    hashes[i] = parent;
  }
  return hashes;
}

/** FNV-1a over a string's UTF-16 code units in [start, end); used for token ids and seeds. */
export function hashString(s: string, start = 0, end = s.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** FNV-1a over token ids, for seeding deterministic answers from a prompt. */
export function hashTokens(tokens: ArrayLike<number>): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < tokens.length; i++) {
    h ^= tokens[i];
    h = Math.imul(h, 0x01000193);
  }
  return fmix(h) >>> 0;
}
