import type { Rng } from '../time/index.js';
// Tool-call arguments for a forced call: a JSON value generated from the tool's `parameters` JSON
// Schema, deterministic in the seed. Required properties get values of the right type; enums,
// consts and bounds are honoured so the arguments validate against the schema.


/** xorshift32 over a seed; returns uniform [0, 1). */
export function rng(seed: number): Rng {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x1_0000_0000;
  };
}

const WORDS = ['rail', 'yard', 'north', 'depot', 'signal', 'harbor', 'junction', 'platform'];

type Schema = Record<string, unknown>;
const isSchema = (v: unknown): v is Schema => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The arguments JSON text for a schema (an object schema yields an object; anything else `{}`). */
export function argumentsFor(parameters: unknown, seed: number): string {
  const r = rng(seed);
  const v = isSchema(parameters) ? valueFor(parameters, r, 0) : {};
  return JSON.stringify(isSchema(v) ? v : {});
}

function valueFor(s: Schema, r: Rng, depth: number): unknown {
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[Math.floor(r() * s.enum.length)];
  const alt = (s.anyOf ?? s.oneOf) as unknown;
  if (Array.isArray(alt)) {
    const pick = alt.find((a) => isSchema(a) && a.type !== 'null');
    if (isSchema(pick)) return valueFor(pick, r, depth);
  }
  if (Array.isArray(s.allOf) && isSchema(s.allOf[0])) return valueFor({ ...s, ...s.allOf[0], allOf: undefined }, r, depth);
  let type = s.type;
  if (Array.isArray(type)) type = type.find((t) => t !== 'null') ?? 'null';
  if (type === undefined) type = isSchema(s.properties) ? 'object' : s.items !== undefined ? 'array' : 'string';
  switch (type) {
    case 'string':
      return stringFor(s, r);
    case 'integer':
      return Math.round(numberIn(s, r, 1, 100));
    case 'number':
      return Math.round(numberIn(s, r, 0, 100) * 100) / 100;
    case 'boolean':
      return r() < 0.5;
    case 'null':
      return null;
    case 'array': {
      if (depth > 6) return [];
      const n = Math.max(1, typeof s.minItems === 'number' ? s.minItems : 1);
      const items = isSchema(s.items) ? s.items : { type: 'string' };
      return Array.from({ length: n }, () => valueFor(items, r, depth + 1));
    }
    case 'object': {
      const out: Record<string, unknown> = {};
      if (depth > 6) return out;
      const props = isSchema(s.properties) ? s.properties : {};
      const required = Array.isArray(s.required) ? s.required.filter((k): k is string => typeof k === 'string') : [];
      for (const k of required) out[k] = valueFor(isSchema(props[k]) ? props[k] : {}, r, depth + 1);
      return out;
    }
    default:
      return stringFor(s, r);
  }
}

function numberIn(s: Schema, r: Rng, lo: number, hi: number): number {
  const min = typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : lo;
  const max = typeof s.maximum === 'number' ? s.maximum : typeof s.exclusiveMaximum === 'number' ? s.exclusiveMaximum - 1 : Math.max(hi, min);
  return min + r() * Math.max(0, max - min);
}

function stringFor(s: Schema, r: Rng): string {
  switch (s.format) {
    case 'date-time': return '2025-01-01T12:00:00Z';
    case 'date': return '2025-01-01';
    case 'email': return 'ops@example.com';
    case 'uri': case 'url': return 'https://example.com/yard';
    case 'uuid': return '00000000-0000-4000-8000-000000000000';
  }
  let out = WORDS[Math.floor(r() * WORDS.length)];
  const min = typeof s.minLength === 'number' ? s.minLength : 0;
  while (out.length < min) out += ' ' + WORDS[Math.floor(r() * WORDS.length)];
  return typeof s.maxLength === 'number' && s.maxLength < out.length ? out.slice(0, s.maxLength) : out;
}
