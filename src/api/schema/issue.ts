// Where a schema error is and what it says, in neutral terms each wire words its own way
// (anthropic/check.ts, openai/check.ts). ajv's report gives the value's path and the keyword that
// failed; the path is walked again over the body and the JSON Schema, to find the value, the
// schema that applies there, and the tags of the unions on the way (pydantic names them).
import type { ErrorObject } from 'ajv';

export type Json = Record<string, unknown>;

/** One path step; `tag` marks the branch name pydantic puts after a discriminated union. */
export interface Step {
  key: string | number;
  tag?: true;
}

export type Issue =
  | { kind: 'required'; path: Step[] }
  | { kind: 'type'; path: Step[]; data: unknown; types: string[]; items: string | null }
  | { kind: 'enum'; path: Step[]; data: unknown; values: readonly unknown[] }
  | { kind: 'tag'; path: Step[]; data: unknown; tag: string; values: string[] }
  | { kind: 'range'; path: Step[]; data: number; bound: 'min' | 'max'; limit: number; integer: boolean }
  | { kind: 'items' | 'length'; path: Step[]; data: { length: number }; bound: 'min' | 'max'; limit: number }
  /** a property name of the object at `path` is too short or too long (a record's bounded keys) */
  | { kind: 'key'; path: Step[]; key: string; bound: 'min' | 'max'; limit: number }
  | { kind: 'pattern'; path: Step[]; pattern: string }
  | { kind: 'other'; path: Step[]; message: string };

/** ajv reports a failed union's branches before the union; the deepest report names the field. */
function pick(errors: ErrorObject[]): ErrorObject {
  if (errors.length === 0) throw new Error('a failed check without a report');
  let best = errors[0];
  for (const e of errors) if (e.instancePath.length > best.instancePath.length) best = e;
  return best;
}

/** Through `$ref` to its definition; `allOf` (zod's refinement of a shared schema) folded into one node. */
export function resolve(node: Json, root: Json): Json {
  let n = node;
  while (typeof n.$ref === 'string') n = (root.definitions as Record<string, Json>)[n.$ref.slice(n.$ref.lastIndexOf('/') + 1)];
  const all = n.allOf as Json[] | undefined;
  if (!Array.isArray(all)) return n;
  const { allOf: _, ...rest } = n;
  return Object.assign({}, ...all.map((x) => resolve(x, root)), rest) as Json;
}

/** The JSON types a node admits; null when it says nothing (any value). */
function typesOf(node: Json, root: Json): string[] | null {
  const n = resolve(node, root);
  if (n.type !== undefined) return [n.type].flat() as string[];
  const branches = (n.anyOf ?? n.oneOf) as Json[] | undefined;
  if (!Array.isArray(branches)) return null;
  const out: string[] = [];
  for (const b of branches) {
    const t = typesOf(b, root);
    if (t === null) return null;
    out.push(...t);
  }
  return out;
}

export const tagOf = (branch: Json, key: string): unknown => (branch.properties as Record<string, Json> | undefined)?.[key]?.const;

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function accepts(node: Json, t: string, root: Json): boolean {
  const types = typesOf(node, root);
  return types === null || types.includes(t) || (t === 'integer' && types.includes('number'));
}

/**
 * Through references and unions to the schema that applies to `data`: the union branch its type
 * or tag selects (a tag is recorded as a step, as pydantic writes it), or the union itself when
 * no branch does, which is where the error then is.
 */
function enter(node: Json, data: unknown, root: Json, steps: Step[]): Json {
  for (;;) {
    node = resolve(node, root);
    const any = node.anyOf as Json[] | undefined;
    const one = node.oneOf as Json[] | undefined;
    const disc = node.discriminator as { propertyName: string } | undefined;
    if (any) {
      const t = jsonType(data);
      const b = any.map((x) => resolve(x, root)).find((x) => accepts(x, t, root));
      if (b === undefined) return node;
      node = b;
    } else if (one && disc) {
      const tag = (data as Json | null)?.[disc.propertyName];
      const b = one.map((x) => resolve(x, root)).find((x) => tagOf(x, disc.propertyName) === tag);
      if (b === undefined) return node;
      steps.push({ key: String(tag), tag: true });
      node = b;
    } else {
      return node;
    }
  }
}

/** The steps to the value an error is about, the schema that applies there, and the value. */
function locate(instancePath: string, root: Json, body: unknown): { path: Step[]; node: Json; data: unknown } {
  const path: Step[] = [];
  let node = root;
  let data = body;
  if (instancePath !== '') {
    for (const raw of instancePath.slice(1).split('/')) {
      const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = enter(node, data, root, path);
      if (Array.isArray(data)) {
        const i = Number(seg);
        path.push({ key: i });
        data = data[i];
        node = (node.items as Json | undefined) ?? {};
      } else {
        path.push({ key: seg });
        data = (data as Json)[seg];
        const props = node.properties as Record<string, Json> | undefined;
        const extra = node.additionalProperties;
        node = props?.[seg] ?? (typeof extra === 'object' && extra !== null ? (extra as Json) : {});
      }
    }
  }
  return { path, node: enter(node, data, root, path), data };
}

/** The first problem of a failed check. */
export function toIssue(errors: ErrorObject[], root: Json, body: unknown): Issue {
  const e = pick(errors);
  const { path, node, data } = locate(e.instancePath, root, body);
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return { kind: 'required', path: [...path, { key: String(p.missingProperty) }] };
    case 'type':
    case 'anyOf': {
      const branches = node.anyOf ? (node.anyOf as Json[]).map((b) => resolve(b, root)) : [node];
      const types = [...new Set(branches.flatMap((b) => typesOf(b, root) ?? []).filter((t) => t !== 'null'))];
      const arr = branches.find((b) => typesOf(b, root)?.includes('array'));
      const items = arr?.items ? resolve(arr.items as Json, root) : undefined;
      return { kind: 'type', path, data, types, items: items && typeof items.type === 'string' ? items.type : null };
    }
    case 'enum':
      return { kind: 'enum', path, data, values: (p.allowedValues as unknown[]).filter((v) => v !== null) };
    case 'const':
      return { kind: 'enum', path, data, values: [p.allowedValue] };
    case 'discriminator': {
      const tag = String(p.tag);
      const values = ((node.oneOf as Json[] | undefined) ?? []).map((b) => String(tagOf(resolve(b, root), tag)));
      return { kind: 'tag', path, data: (data as Json | null)?.[tag], tag, values };
    }
    case 'minimum':
    case 'maximum':
      return { kind: 'range', path, data: data as number, bound: e.keyword === 'minimum' ? 'min' : 'max', limit: p.limit as number, integer: typesOf(node, root)?.includes('integer') === true };
    case 'minItems':
    case 'maxItems':
    case 'minLength':
    case 'maxLength':
      // ajv checks a record's keys against `propertyNames` and reports the object, naming the key
      if (e.propertyName !== undefined) return { kind: 'key', path, key: e.propertyName, bound: e.keyword.startsWith('min') ? 'min' : 'max', limit: p.limit as number };
      return { kind: e.keyword.endsWith('Items') ? 'items' : 'length', path, data: data as { length: number }, bound: e.keyword.startsWith('min') ? 'min' : 'max', limit: p.limit as number };
    case 'pattern':
      return { kind: 'pattern', path, pattern: String(p.pattern) };
    default:
      return { kind: 'other', path, message: e.message ?? 'is not valid' };
  }
}
