import type { UpstreamChatBody } from '../api/index.js';

// The prompt's prefix blocks as the router indexes them: the text the chat template would lay out
// (tools, then each message's role and content, in order) cut into blocks of `blockChars`
// characters, each block's hash chained over everything before it. The gateway has no tokenizer,
// so blocks are of characters, not tokens (as llm-d's approximate prefix scorer does); equal
// prompt prefixes give equal chains, which is all the index needs.
//
// The text is written once into a reused buffer as UTF-16 and hashed 32 bits at a time: reading a
// string with charCodeAt costs about 4× more per character.

export interface PromptPrefix {
  readonly hashes: Float64Array;
  /** whole blocks hashed (≤ maxBlocks) */
  readonly blocks: number;
  /** characters of prompt text (all of it, though only maxBlocks blocks are hashed) */
  readonly chars: number;
}

const SEP = '\u001e';
let scratch = Buffer.allocUnsafe(64 * 1024);

/** The text of a content part that the replica's prompt depends on; '' for a part of no known type. */
function partText(part: unknown): string {
  if (typeof part !== 'object' || part === null) return '';
  const p = part as Record<string, unknown>;
  const inner = p[typeof p.type === 'string' ? p.type : ''];
  if (typeof inner === 'string') return inner; // text, refusal
  if (typeof inner !== 'object' || inner === null) return '';
  const o = inner as Record<string, unknown>;
  // image_url / video_url / audio_url {url}, input_audio {data}, file {file_data | file_id}
  const v = o.url ?? o.data ?? o.file_data ?? o.file_id;
  return typeof v === 'string' ? v : '';
}

/** Hands `put` the prompt's text in the order the chat template lays it out: tools, then each message. */
function eachText(body: UpstreamChatBody, put: (s: string) => void): void {
  // Total over any body the door lets through: OpenAI bodies pass to the replica as sent, so a
  // part may be of any type the schema admits (input_audio, file, refusal, …) and tools may be null.
  const tools = body.tools as unknown;
  if (Array.isArray(tools) && tools.length > 0) put(JSON.stringify(tools));
  for (const m of body.messages) {
    put(m.role);
    put(SEP);
    const c = m.content as unknown;
    if (typeof c === 'string') put(c);
    else if (Array.isArray(c)) for (const part of c) put(partText(part));
    if (m.role === 'assistant' && m.tool_calls) put(JSON.stringify(m.tool_calls));
    put(SEP);
  }
}

/** Characters of prompt text, as `promptPrefix` counts them (for a size estimate where no prefix is hashed). */
export function promptChars(body: UpstreamChatBody): number {
  let chars = 0;
  eachText(body, (s) => { chars += s.length; });
  return chars;
}

export function promptPrefix(body: UpstreamChatBody, blockChars: number, maxBlocks: number): PromptPrefix {
  const limit = blockChars * maxBlocks * 2;
  if (scratch.length < limit + 8) scratch = Buffer.allocUnsafe(limit + 8);
  let bytes = 0;
  let chars = 0;
  const put = (s: string): void => {
    chars += s.length;
    if (bytes < limit) bytes += scratch.write(s, bytes, limit - bytes, 'utf16le');
  };
  eachText(body, put);
  const blocks = Math.floor(bytes / (blockChars * 2));
  const hashes = new Float64Array(blocks);
  // 32-bit words: a block is blockChars × 2 bytes; blockChars is made even so blocks stay word-aligned
  const words = new Int32Array(scratch.buffer, scratch.byteOffset, (blocks * blockChars * 2) >>> 2);
  const perBlock = (blockChars * 2) >>> 2;
  // Four independent multiplicative lanes per block (one lane is bound by the latency of its own
  // multiply chain), seeded from the chain so far and folded into it at the block's end: a block's
  // key covers everything before it. Mixed with the block's position, as 21 low bits.
  let chain = 0x811c9dc5;
  for (let k = 0, w = 0; k < blocks; k++) {
    let a0 = chain ^ 0x2545f491;
    let a1 = chain ^ 0x7f4a7c15;
    let a2 = chain ^ 0x1b873593;
    let a3 = chain ^ 0x68e31da4;
    const end = w + perBlock;
    for (; w + 3 < end; w += 4) {
      a0 = Math.imul(a0 ^ words[w], 0x01000193) ^ (a0 >>> 15);
      a1 = Math.imul(a1 ^ words[w + 1], 0x5bd1e995) ^ (a1 >>> 13);
      a2 = Math.imul(a2 ^ words[w + 2], 0x85ebca6b) ^ (a2 >>> 16);
      a3 = Math.imul(a3 ^ words[w + 3], 0xc2b2ae35) ^ (a3 >>> 11);
    }
    for (; w < end; w++) a0 = Math.imul(a0 ^ words[w], 0x01000193) ^ (a0 >>> 15);
    let h = a0 ^ Math.imul(a1, 0x9e3779b1) ^ Math.imul(a2, 0x27d4eb2f) ^ Math.imul(a3, 0x165667b1);
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    chain = h ^ (h >>> 13);
    hashes[k] = (chain >>> 0) * 2097152 + (k & 0x1fffff);
  }
  return { hashes, blocks, chars };
}
