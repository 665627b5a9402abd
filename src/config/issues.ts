import type { z } from 'zod';

// Turns zod's issues into lines a person can act on. An unknown key is the common mistake (`limit:`
// for `limits:` silently kept the defaults before the schema was strict), so it names the key's full
// path and the nearest key the schema does accept there.

type ZodIssue = z.core.$ZodIssue;
type ZodSchema = z.core.$ZodType;

/** One line per problem, each naming where it is. */
export function describeIssues(issues: readonly ZodIssue[], root: ZodSchema): string[] {
  const lines: string[] = [];
  for (const i of issues) {
    if (i.code === 'unrecognized_keys') {
      const known = keysAt(root, i.path);
      for (const k of i.keys) lines.push(unknownKey(i.path, k, known));
    } else {
      lines.push(`${dotted(i.path) || '(top level)'}: ${i.message}`);
    }
  }
  return lines;
}

function unknownKey(path: readonly PropertyKey[], key: string, known: readonly string[]): string {
  const where = path.length === 0 ? `\`${key}\` at the top level` : `\`${dotted([...path, key])}\``;
  const near = nearest(key, known);
  if (near !== null) return `unknown key ${where} — did you mean \`${path.length === 0 ? near : dotted([...path, near])}\`?`;
  return known.length ? `unknown key ${where}; the keys allowed there are ${known.join(', ')}` : `unknown key ${where}`;
}

const dotted = (path: readonly PropertyKey[]): string => path.map(String).join('.');

/** The keys an object schema accepts at `path` (records and arrays are walked through). */
export function keysAt(root: ZodSchema, path: readonly PropertyKey[]): string[] {
  let s: ZodSchema | undefined = unwrap(root);
  for (const seg of path) {
    if (s === undefined) return [];
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'object') s = (def.shape as Record<string, ZodSchema>)[String(seg)];
    else if (def.type === 'array') s = def.element as ZodSchema;
    else if (def.type === 'record') s = def.valueType as ZodSchema;
    else return [];
    if (s !== undefined) s = unwrap(s);
  }
  if (s === undefined || s._zod.def.type !== 'object') return [];
  return Object.keys((s._zod.def as unknown as { shape: Record<string, unknown> }).shape);
}

/** Through defaults, optionals, nullables and pipes to the schema that holds the shape. */
function unwrap(s: ZodSchema): ZodSchema {
  for (;;) {
    const def = s._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === 'default' || def.type === 'prefault' || def.type === 'optional' || def.type === 'nullable' || def.type === 'readonly') s = def.innerType as ZodSchema;
    else if (def.type === 'pipe') s = def.in as ZodSchema;
    else return s;
  }
}

/**
 * The candidate closest to `word`: Damerau–Levenshtein distance ≤ 2 (≤ 1 for words of up to 3
 * letters, where 2 would match almost anything), case ignored; else one the word is a prefix of.
 */
export function nearest(word: string, candidates: readonly string[]): string | null {
  const w = word.toLowerCase();
  const limit = w.length <= 3 ? 1 : 2;
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(w, c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  if (best !== null && bestD <= limit) return best;
  if (w.length >= 3) {
    const prefixed = candidates.filter((c) => c.toLowerCase().startsWith(w) || w.startsWith(c.toLowerCase()));
    if (prefixed.length === 1) return prefixed[0];
  }
  return null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
function distance(a: string, b: string): number {
  if (a === b) return 0;
  const n = b.length;
  let prev2 = new Array<number>(n + 1).fill(0);
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  let cur = new Array<number>(n + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, prev2[j - 2] + 1);
      cur[j] = d;
    }
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  return prev[n];
}
