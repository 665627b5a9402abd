// A request schema written in zod becomes a validator compiled by ajv at module load: zod is the
// readable source (and gives translation its types), ajv's generated code checks a body several
// times faster than zod's parse and allocates nothing on success (bench/validation). The first
// problem found comes back as an Issue: the field's path and what is wrong, for each wire to word.
import { Ajv, type ValidateFunction } from 'ajv';
import { z } from 'zod';
import { resolve, tagOf, toIssue, type Issue, type Json } from './issue.js';

export type { Issue, Step } from './issue.js';

export interface Validator {
  /** null when the body matches; else the first problem. */
  check(body: unknown): Issue | null;
}

export function compile(schema: z.ZodType): Validator {
  // `ref`: a sub-schema used twice becomes one definition, so no generated function grows past
  // what V8 optimises (inlined, the Messages schema was 290 KB of code and ran 7× slower)
  const js = z.toJSONSchema(schema, { target: 'draft-7', io: 'input', unrepresentable: 'any', reused: 'ref' }) as Json;
  rewrite(js, js);
  const ajv = new Ajv({ discriminator: true, allErrors: false, strict: false, unicodeRegExp: false });
  const fn: ValidateFunction = ajv.compile(js);
  return {
    check(body) {
      if (fn(body)) return null;
      try {
        return toIssue(fn.errors ?? [], js, body);
      } catch {
        // naming the field is a courtesy; the body is invalid either way and must not become a 500
        return { kind: 'other', path: [], message: 'the request body does not match the API' };
      }
    },
  };
}

const ONLY_FOR: Record<string, readonly string[]> = {
  string: ['minLength', 'maxLength', 'pattern', 'format'],
  array: ['items', 'minItems', 'maxItems'],
  object: ['properties', 'required', 'additionalProperties', 'propertyNames', 'discriminator', 'oneOf'],
  integer: ['minimum', 'maximum'],
  number: ['minimum', 'maximum'],
  boolean: [],
  null: [],
};

/**
 * zod's discriminated unions become `oneOf`: ajv picks the branch by its tag once told the
 * property. `anyOf` of distinct types (`string | array`, `X | null`) becomes one node with a type
 * list, since each keyword applies to one type only: ajv then tries no branch that fails, which
 * halved the check of a long tool conversation.
 */
function rewrite(node: unknown, root: Json): void {
  if (Array.isArray(node)) return node.forEach((n) => rewrite(n, root));
  if (node === null || typeof node !== 'object') return;
  const n = node as Json;
  for (const v of Object.values(n)) rewrite(v, root);
  const one = n.oneOf as Json[] | undefined;
  if (Array.isArray(one) && one.length > 0) {
    const branches = one.map((b) => resolve(b, root));
    for (const key of ['type', 'role']) {
      if (branches.every((b) => tagOf(b, key) !== undefined && (b.required as string[] | undefined)?.includes(key))) {
        n.discriminator = { propertyName: key };
        // ajv's discriminator applies to objects only and lets anything else through: say so
        if (n.type === undefined) n.type = 'object';
        break;
      }
    }
  }
  const any = n.anyOf as Json[] | undefined;
  if (!Array.isArray(any)) return;
  const types: string[] = [];
  const merged: Json = {};
  let values: unknown[] | null = null;
  for (const ref of any) {
    const b = resolve(ref, root);
    const t = b.type;
    if (typeof t !== 'string' || types.includes(t) || (t === 'integer' && types.includes('number')) || (t === 'number' && types.includes('integer'))) return;
    for (const [k, v] of Object.entries(b)) {
      if (k === 'type') continue;
      if (k === 'enum' || k === 'const') {
        const vs = k === 'enum' ? (v as unknown[]) : [v];
        values = values === null ? [...vs] : values.concat(vs);
        continue;
      }
      // a oneOf is type-specific only when ajv picks its branch by tag (which applies to objects only)
      if (!ONLY_FOR[t]?.includes(k) || k in merged || (k === 'oneOf' && b.discriminator === undefined)) return;
      merged[k] = v;
    }
    types.push(t);
  }
  if (values !== null) {
    // every branch must then be an enum (a `null` branch adds null)
    const all = any.map((b) => resolve(b, root));
    if (!all.every((b) => b.enum !== undefined || b.const !== undefined || b.type === 'null')) return;
    if (all.some((b) => b.type === 'null')) values.push(null);
    merged.enum = values;
  }
  delete n.anyOf;
  Object.assign(n, merged, { type: types.length === 1 ? types[0] : types });
}

