import { hashString } from './hash.js';

// The simulated model's tokenizer: deterministic, about 4 characters per token on English, with a
// Llama-3-sized vocabulary. A piece is a special marker `<|…|>`, a letter run with its leading space
// cut into 4-letter pieces, up to 3 digits, one symbol, or a run of whitespace. Its id is a hash
// of its text, so equal text always gives equal ids (and the prefix cache works on chat prompts).

export const VOCAB_SIZE = 128_256;
const FIRST_SPECIAL = 128_000;

/** Llama 3's special tokens, at their real ids. */
export const SPECIAL_TOKENS: Readonly<Record<string, number>> = Object.freeze({
  '<|begin_of_text|>': 128_000,
  '<|end_of_text|>': 128_001,
  '<|start_header_id|>': 128_006,
  '<|end_header_id|>': 128_007,
  '<|eom_id|>': 128_008,
  '<|eot_id|>': 128_009,
  '<|python_tag|>': 128_010,
  '<|image|>': 128_256 - 1,
});
export const BOS_ID = 128_000;

const PIECE = /<\|[a-z_]{1,32}\|>| ?\p{L}+| ?\p{N}{1,3}| ?[^\s\p{L}\p{N}]|\s{1,4}/gu;
const LETTERS_PER_PIECE = 4;

/** Id of the text in [start, end): specials by table, everything else hashed into the ordinary range. */
export function pieceId(text: string, start = 0, end = text.length): number {
  if (text.charCodeAt(start) === 60 /* < */ && end - start > 4 && text.charCodeAt(start + 1) === 124 /* | */) {
    const special = SPECIAL_TOKENS[text.slice(start, end)];
    if (special !== undefined) return special;
    return FIRST_SPECIAL + 16 + (hashString(text, start, end) % 224);
  }
  return 256 + (hashString(text, start, end) % (FIRST_SPECIAL - 256));
}

/** Visit each token's [start, end) in text; returns the count. The callback may be null (counting). */
export function scanTokens(text: string, visit: ((start: number, end: number) => void) | null): number {
  PIECE.lastIndex = 0;
  let count = 0;
  let m: RegExpExecArray | null;
  while ((m = PIECE.exec(text)) !== null) {
    const start = m.index;
    const end = start + m[0].length;
    const c = text.charCodeAt(start);
    const lead = c === 32 ? 1 : 0;
    // only letter runs can be longer than 4 after their space (digits ≤ 3, whitespace ≤ 4, symbols 1)
    if (c === 60 || end - start - lead <= LETTERS_PER_PIECE) {
      count++;
      visit?.(start, end);
      continue;
    }
    // a long word: the first piece keeps the leading space and 4 letters, then 4 letters each
    let s = start;
    let e = start + lead + LETTERS_PER_PIECE;
    while (s < end) {
      count++;
      visit?.(s, Math.min(e, end));
      s = e;
      e += LETTERS_PER_PIECE;
    }
  }
  return count;
}

/** Token ids of text. */
export function tokenize(text: string): number[] {
  const ids: number[] = [];
  scanTokens(text, (s, e) => ids.push(pieceId(text, s, e)));
  return ids;
}

/** Token count of text, without building the ids. */
export function countTokens(text: string): number {
  return scanTokens(text, null);
}

/** Each token's text, in order (for splitting an answer into per-token deltas). */
export function tokenPieces(text: string): string[] {
  const pieces: string[] = [];
  scanTokens(text, (s, e) => pieces.push(text.slice(s, e)));
  return pieces;
}
