import fc from 'fast-check';
import { nested, Raw } from '../cases.js';

// Building blocks: the odd text and numbers real traffic (and attackers) send.

/** Never empty, never ending in whitespace (the Messages API refuses both in some places). */
export const text: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('👩‍👩‍👧‍👦 family', 'e\u0301\u0301\u0301', 'עברית mixed RTL', '\u200b\u200d\u2060zero width', 'nul \u0000 inside', 'tab\tand\nnewlines', '\ufeffbom first', 'ＦＵＬＬ width', '𝕦𝕟𝕚𝕔𝕠𝕕𝕖 astral') },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 20_000 }).map((n) => 'long '.repeat(n / 5)) },
).map((s) => s + '.');

/** A string holding a lone surrogate (well-formed JSON with \ud800 escapes, not valid Unicode). */
export const loneSurrogate: fc.Arbitrary<string> = fc.constantFrom('\ud800', '\udfff', 'a\ud83dz', '\ude00 tail').map((s) => 'x ' + s);

export const identifier: fc.Arbitrary<string> = fc.stringMatching(/^[a-zA-Z][a-zA-Z0-9_-]{0,30}$/);

/** Values of every JSON type but the one a field wants (the caller filters the right one out). */
export const wrongTyped: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('', 'NaN', 'Infinity', '-0', '1e3', 'null', 'true', '12'),
  fc.constant([]), fc.constant({}), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
);

/** Numbers no sane range holds, including tokens JSON.stringify cannot write. */
export const hugeNumber: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 1e21),
  fc.constantFrom(new Raw('1e400'), new Raw('-1e400'), new Raw('123456789012345678901234567890')),
);

/** Thousands of levels of nesting: what a recursive serialiser overflows on. */
export const deep: fc.Arbitrary<Raw> = fc.tuple(fc.integer({ min: 2_000, max: 6_000 }), fc.constantFrom('object', 'array') as fc.Arbitrary<'object' | 'array'>)
  .map(([d, k]) => nested(d, k));

export const veryLong: fc.Arbitrary<string> = fc.integer({ min: 50_000, max: 400_000 }).map((n) => 'z'.repeat(n));

/** A short PNG, base64. */
export const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
export const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF').toString('base64');
export const WAV = Buffer.from('RIFF\u0024\u0000\u0000\u0000WAVEfmt ').toString('base64');

// Drawing inside fc.gen(): fast-check memoises each (builder, args) pair it is handed for the
// life of the generator, so builders must be stable (one per arbitrary) and args few: a fresh
// closure or array per draw grows that cache without bound and makes each draw slower.
export type G = fc.GeneratorValue;
const builders = new WeakMap<fc.Arbitrary<unknown>, () => fc.Arbitrary<unknown>>();

export function draw<T>(g: G, arb: fc.Arbitrary<T>): T {
  let b = builders.get(arb);
  if (b === undefined) {
    b = () => arb;
    builders.set(arb, b);
  }
  return g(b) as T;
}

export const upTo = (g: G, max: number, min = 0): number => g(fc.integer, { min, max });
export const pick = <T>(g: G, xs: readonly T[]): T => xs[upTo(g, xs.length - 1)];
const unit = fc.double({ min: 0, max: 1, noNaN: true });
export const chance = (g: G, p: number): boolean => draw(g, unit) < p;
export const fraction = (g: G): number => draw(g, unit);

type Kind = 'string' | 'number' | 'array' | 'object' | 'boolean';
const isKind = (v: unknown, k: Kind): boolean =>
  k === 'array' ? Array.isArray(v) : k === 'object' ? typeof v === 'object' && v !== null && !Array.isArray(v) : typeof v === k;
const NOT: Record<Kind, fc.Arbitrary<unknown>> = {
  string: wrongTyped.filter((v) => !isKind(v, 'string')), number: wrongTyped.filter((v) => !isKind(v, 'number')),
  array: wrongTyped.filter((v) => !isKind(v, 'array')), object: wrongTyped.filter((v) => !isKind(v, 'object')),
  boolean: wrongTyped.filter((v) => !isKind(v, 'boolean')),
};
/** A value of any JSON type but `kind`. */
export const notA = (kind: Kind) => (g: G): unknown => draw(g, NOT[kind]);
