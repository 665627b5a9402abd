// Error wording of the OpenAI API (`Missing required parameter: 'x'.`, `Invalid type for 'x': …`),
// each error carrying `param` so the O-SDK exposes it as `err.param`.
import { clip, fail, type Bad, type PathFormat } from '../body.js';
import type { Issue } from '../schema/compile.js';

export { fail };
export type { Bad };

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string': return 'a string';
    case 'boolean': return 'a boolean';
    case 'number': return Number.isInteger(v) ? 'an integer' : 'a decimal';
    case 'object': return 'an object';
    default: return typeof v;
  }
}

export function missing(param: string): Bad {
  return fail(`Missing required parameter: '${param}'.`, param);
}

function wrongType(param: string, expected: string, got: unknown): Bad {
  return fail(`Invalid type for '${param}': expected ${expected}, but got ${typeName(got)} instead.`, param);
}

/** `Invalid value: 'x'. Supported values are: 'a', 'b', and 'c'.` */
function badValue(param: string, got: unknown, supported: readonly unknown[]): Bad {
  const q = supported.map((s) => `'${String(s)}'`);
  const list = q.length <= 2 ? q.join(' and ') : q.slice(0, -1).join(', ') + ', and ' + q[q.length - 1];
  return fail(`Invalid value: '${String(got)}'. Supported values are: ${list}.`, param);
}

/** `messages[2].content[0].type` */
export const bracketed: PathFormat = (path) => {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : s.length === 0 ? k : '.' + k;
  return s;
};

const A: Record<string, string> = { string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean', object: 'an object', array: 'an array' };

function expected(types: string[], items: string | null): string {
  if (types.length === 1) return A[types[0]] ?? types[0];
  if (types.length === 2 && types[0] === 'string' && types[1] === 'array') return `one of a string or array of ${items === 'string' ? 'strings' : 'objects'}`;
  // `one of a string or object`: the article only once
  return 'one of ' + types.map((t, i) => (i === 0 ? A[t] ?? t : t)).join(' or ');
}

/** A schema issue in the OpenAI API's words (paths without the union tags pydantic adds). */
export function openaiIssue(issue: Issue): Bad {
  const steps = issue.path.filter((s) => s.tag !== true).map((s) => s.key);
  const p = bracketed(steps);
  switch (issue.kind) {
    case 'required':
      return missing(p);
    case 'type':
      return wrongType(p, expected(issue.types, issue.items), issue.data);
    case 'enum':
      return badValue(p, issue.data, issue.values);
    case 'tag': {
      const tp = p.length === 0 ? issue.tag : `${p}.${issue.tag}`;
      if (issue.data === undefined || issue.data === null) return missing(tp);
      if (typeof issue.data !== 'string') return wrongType(tp, 'a string', issue.data);
      if (issue.tag === 'role' && issue.data === 'function') {
        return fail("Invalid value: 'function'. The deprecated 'function' role is not supported; send a function's result as a 'tool' message with the 'tool_call_id' of its call.", tp);
      }
      return badValue(tp, issue.data, issue.values);
    }
    case 'range': {
      const kind = issue.integer ? 'integer' : 'decimal';
      const [side, op] = issue.bound === 'min' ? ['below minimum', '>='] : ['above maximum', '<='];
      return fail(`Invalid '${p}': ${kind} ${side} value. Expected a value ${op} ${issue.limit}, but got ${issue.data} instead.`, p);
    }
    case 'items': {
      const n = issue.data.length;
      if (issue.bound === 'min' && n === 0) return fail(`Invalid '${p}': empty array. Expected an array with minimum length ${issue.limit}, but got an empty array instead.`, p);
      const [what, side] = issue.bound === 'min' ? ['too short', 'minimum'] : ['too long', 'maximum'];
      return fail(`Invalid '${p}': array ${what}. Expected an array with ${side} length ${issue.limit}, but got an array with length ${n} instead.`, p);
    }
    case 'length': {
      const [what, side] = issue.bound === 'min' ? ['too short', 'minimum'] : ['too long', 'maximum'];
      return fail(`Invalid '${p}': string ${what}. Expected a string with ${side} length ${issue.limit}, but got a string with length ${issue.data.length} instead.`, p);
    }
    case 'key': {
      const [what, side] = issue.bound === 'min' ? ['too short', 'minimum'] : ['too long', 'maximum'];
      const key = clip(issue.key);
      return fail(`Invalid '${p}': key '${key}' is ${what}. Expected keys with ${side} length ${issue.limit}, but got a key with length ${issue.key.length} instead.`, `${p}.${key}`);
    }
    case 'pattern':
      return fail(`Invalid '${p}': string does not match pattern. Expected a string that matches the pattern '${issue.pattern}'.`, p);
    default:
      return p === '' ? fail(`Invalid request: ${issue.message}.`) : fail(`Invalid '${p}': ${issue.message}.`, p);
  }
}
