import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// Time, waiting and randomness reach the code through the ports in src/time/, so the gateway, the
// simulator and a spec can each hand in their own clock. This spec reads every src/**/*.ts and
// lists, as file:line, each direct use of the globals the ports stand for.
//
// Exempt, and why:
// - src/time/   the wall implementation of the ports: the one place that must touch the globals.
// - src/cli/    the process entry points (`switchyard …` commands; bin/switchyard.js only loads
//               them): a command talks to a person about now — "today" for `usage`, a progress bar,
//               waiting for a demo replica to come up — and hands the wall ports to what it starts.
//
// What counts as a direct use (found on the syntax tree, so comments and strings never count):
// - `Date.now`, `performance.now` (whatever it was imported from), `process.hrtime`, `Math.random`,
//   read or called;
// - `new Date()` / `new Date` with no argument, and `Date()` called as a function: both read the
//   clock. `new Date(ms)`, `Date.parse(text)` and `Date.UTC(…)` convert a given time: allowed;
// - `setTimeout`, `setInterval`, `clearTimeout`, `clearInterval` as values, also through
//   `globalThis.`, `global.` or `window.`, and any import of `timers` / `node:timers[/promises]`.
// Not counted: `setImmediate` and `process.nextTick` (they order work within a turn of the event
// loop and read no clock), and the I/O deadlines a socket call carries (`AbortSignal.timeout`,
// undici's `headersTimeout`): a virtual clock cannot drive a real socket, so they stay on the wall.

const ROOT = join(import.meta.dirname, '..', '..');
const SRC = join(ROOT, 'src');
const EXEMPT = ['src/time/', 'src/cli/'];

const TIMER_GLOBALS = new Set(['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval']);
const GLOBAL_OBJECTS = new Set(['globalThis', 'global', 'window']);
const CLOCK_READS: ReadonlyArray<readonly [string, string]> = [['Date', 'now'], ['performance', 'now'], ['process', 'hrtime'], ['Math', 'random']];
const TIMER_MODULES = new Set(['timers', 'node:timers', 'timers/promises', 'node:timers/promises']);

export interface DirectUse {
  readonly line: number;
  readonly what: string;
}

/** Every direct clock, timer or random use in one file's text, in source order. */
export function directTimeUses(fileName: string, text: string): DirectUse[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const out: DirectUse[] = [];
  const note = (n: ts.Node, what: string): void => {
    out.push({ line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1, what });
  };
  const visit = (n: ts.Node): void => {
    if (ts.isPropertyAccessExpression(n)) {
      const recv = n.expression;
      const name = n.name.text;
      // `performance` may be reached as `perf_hooks.performance` or `globalThis.performance`
      const recvName = ts.isIdentifier(recv) ? recv.text : ts.isPropertyAccessExpression(recv) ? recv.name.text : '';
      if (CLOCK_READS.some(([o, p]) => o === recvName && p === name)) note(n, `${recvName}.${name}`);
      else if (ts.isIdentifier(recv) && GLOBAL_OBJECTS.has(recv.text) && TIMER_GLOBALS.has(name)) note(n, `${recv.text}.${name}`);
    } else if (ts.isIdentifier(n) && TIMER_GLOBALS.has(n.text) && isValueReference(n)) {
      note(n, n.text);
    } else if (ts.isNewExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Date' && (n.arguments === undefined || n.arguments.length === 0)) {
      note(n, 'new Date()');
    } else if (ts.isCallExpression(n) && ts.isIdentifier(n.expression) && n.expression.text === 'Date') {
      note(n, 'Date()');
    } else if ((ts.isImportDeclaration(n) || ts.isExportDeclaration(n)) && n.moduleSpecifier !== undefined && ts.isStringLiteral(n.moduleSpecifier) && TIMER_MODULES.has(n.moduleSpecifier.text)) {
      note(n, `import '${n.moduleSpecifier.text}'`);
    } else if (ts.isCallExpression(n) && n.arguments.length > 0 && ts.isStringLiteral(n.arguments[0]) && TIMER_MODULES.has(n.arguments[0].text)
      && (n.expression.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(n.expression) && n.expression.text === 'require'))) {
      note(n, `import('${n.arguments[0].text}')`);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

/** `setTimeout` used as a value, not as the name of a member, key or declaration that happens to share it. */
function isValueReference(id: ts.Identifier): boolean {
  const p = id.parent;
  if (ts.isPropertyAccessExpression(p) && p.name === id) return false; // x.setTimeout: handled by its receiver
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isPropertySignature(p) || ts.isMethodDeclaration(p)
    || ts.isMethodSignature(p) || ts.isGetAccessor(p) || ts.isSetAccessor(p)) && p.name === id) return false;
  if (ts.isImportSpecifier(p) || ts.isExportSpecifier(p)) return false; // the module is what counts
  if ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isBindingElement(p)) && p.name === id) return false;
  if (ts.isQualifiedName(p)) return false; // a type position such as NodeJS.Timeout
  return true;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out.sort();
}

describe('reading time outside the ports', () => {
  it('is found in every form the rule names, and only there', () => {
    const sample = [
      'import { setTimeout as wait } from "node:timers/promises";', // 1
      'const a = Date.now();', // 2
      'const b = performance.now() + perf_hooks.performance.now();', // 3
      'const c = Math.random();', // 4
      'const d = new Date(); const e = new Date;', // 5
      'const f = Date();', // 6
      'setTimeout(run, 10); globalThis.setInterval(run, 10);', // 7
      'const g = { now: Date.now };', // 8
      'clearTimeout(h);', // 9
      '// Date.now() in a comment, and "setTimeout" in a string, are not uses', // 10
      'const s = "Math.random()"; const t = new Date(0); const u = Date.parse("2026-01-01"); const v = Date.UTC(2026, 0);', // 11
      'timers.after(10, run, x); obj.setTimeout(1); const o = { setTimeout: 1 }; let x: NodeJS.Timeout;', // 12
      'setImmediate(run); process.nextTick(run); const w = process.hrtime.bigint();', // 13
    ].join('\n');
    expect(directTimeUses('sample.ts', sample).map((u) => `${u.line} ${u.what}`)).toEqual([
      "1 import 'node:timers/promises'",
      '2 Date.now',
      '3 performance.now', '3 performance.now',
      '4 Math.random',
      '5 new Date()', '5 new Date()',
      '6 Date()',
      '7 setTimeout', '7 globalThis.setInterval',
      '8 Date.now',
      '9 clearTimeout',
      '13 process.hrtime',
    ]);
  });

  it('does not happen in src/ outside time/ and the process entry points in cli/', () => {
    const found: string[] = [];
    for (const file of sourceFiles(SRC)) {
      const rel = relative(ROOT, file).split(sep).join('/');
      if (EXEMPT.some((e) => rel.startsWith(e))) continue;
      for (const u of directTimeUses(rel, readFileSync(file, 'utf8'))) found.push(`${rel}:${u.line} ${u.what}`);
    }
    // each line: take the Clock/Timers/Rng ports (default `wall`) instead of the global
    expect(found).toEqual([]);
  });
});
