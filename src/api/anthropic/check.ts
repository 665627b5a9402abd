// The Messages API's error wording: pydantic style, `path: Input should be …`, as the real API words
// it, so users find the field and clients that match on the text (Claude Code) recognise it.
import { clip, fail, type Bad } from '../body.js';
import type { Issue, Step } from '../schema/compile.js';

export const REQUIRED = 'Field required';
const STR = 'Input should be a valid string';
const INT = 'Input should be a valid integer';
const BOOL = 'Input should be a valid boolean';
const LIST = 'Input should be a valid list';
const DICT = 'Input should be a valid dictionary';
const NUM = 'Input should be a valid number';

const TYPE_WORDS: Record<string, string> = { string: STR, integer: INT, number: NUM, boolean: BOOL, array: LIST, object: DICT };

/** `Input should be 'a', 'b' or 'c'` */
function oneOf(values: readonly unknown[]): string {
  const q = values.map((v) => `'${String(v)}'`);
  return 'Input should be ' + (q.length === 1 ? q[0] : q.slice(0, -1).join(', ') + ' or ' + q[q.length - 1]);
}

export type { Bad };

export function bad(path: string, message: string): Bad {
  return path === '' ? fail(message) : fail(`${path}: ${message}`, path);
}

/**
 * The Messages API has no `system` role in `messages`. Claude Code sends one mid-conversation and
 * falls back to a `<system-reminder>` in the user turn only when the refusal reads like this.
 */
function systemRole(i: number): Bad {
  return bad(`messages.${i}`, 'Unexpected role "system". The Messages API accepts a top-level `system` parameter, not "system" as an input message role.');
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A schema issue in the real API's words. */
export function anthropicIssue(issue: Issue): Bad {
  const steps: Step[] = issue.path;
  const path = steps.map((s) => s.key).join('.');
  switch (issue.kind) {
    case 'required':
      return bad(path, REQUIRED);
    case 'type': {
      const t = issue.types;
      if (t.length === 1) return bad(path, TYPE_WORDS[t[0]] ?? `Input should be a valid ${t[0]}`);
      if (t.includes('string') && t.includes('array')) return bad(path, `${STR} or a list of ${issue.items === 'string' ? 'strings' : 'content blocks'}`);
      return bad(path, t.map((x) => TYPE_WORDS[x] ?? x).join(' or '));
    }
    case 'enum': {
      const last = steps[steps.length - 1];
      if (issue.data === 'system' && last?.key === 'role' && steps.length === 3 && steps[0].key === 'messages') return systemRole(steps[1].key as number);
      return bad(path, oneOf(issue.values));
    }
    case 'tag':
      if (issue.data === undefined) return bad(path, `Unable to extract tag using discriminator '${issue.tag}'`);
      return bad(`${path}.${issue.tag}`, `Input tag '${String(issue.data)}' found using '${issue.tag}' does not match any of the expected tags: ${issue.values.map((v) => `'${v}'`).join(', ')}`);
    case 'range':
      return bad(path, `Input should be ${issue.bound === 'min' ? 'greater' : 'less'} than or equal to ${issue.limit}`);
    case 'items':
      if (path === 'messages' && issue.bound === 'min') return bad(path, 'at least one message is required');
      return bad(path, `List should have ${issue.bound === 'min' ? 'at least' : 'at most'} ${plural(issue.limit, 'item')} after validation, not ${issue.data.length}`);
    case 'length':
      return bad(path, `String should have ${issue.bound === 'min' ? 'at least' : 'at most'} ${plural(issue.limit, 'character')}`);
    case 'key': {
      // pydantic's path to a dict key: `metadata.<key>.[key]`
      return bad(`${path}.${clip(issue.key)}.[key]`, `String should have ${issue.bound === 'min' ? 'at least' : 'at most'} ${plural(issue.limit, 'character')}`);
    }
    case 'pattern':
      return bad(path, `String should match pattern '${issue.pattern}'`);
    default:
      return bad(path, issue.message);
  }
}
