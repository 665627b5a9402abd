import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadPlan, planJson, renderPlanHtml, renderPlanText, runPlan, type PlanOutcome } from '../control/planner/index.js';
import { createProgress } from '../sim/index.js';

export interface PlanOptions {
  plan: string;
  out: string;
  /** false: solve only, no simulator runs */
  check: boolean;
  json: boolean;
  progress: boolean;
}

/**
 * `switchyard plan PLAN.yaml`: plan it, print the report (text, or JSON with --json), write it as
 * NAME.json and NAME.html. The solver's and the simulator's wall times go to stderr: they differ
 * run to run, and the report stays the same bytes for the same plan.
 */
export async function plan(opts: PlanOptions): Promise<void> {
  const loaded = loadPlan(opts.plan);
  const bar = opts.progress ? createProgress(process.stderr, loaded.plan.name) : null;
  const started = performance.now();
  const report = await runPlan(loaded, { check: opts.check, onProgress: bar ? (what, f) => bar.update(f, what, Date.now()) : undefined });
  bar?.done();
  const wallS = (performance.now() - started) / 1000;
  const dir = resolve(opts.out);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, loaded.plan.name);
  const json = planJson(report);
  writeFileSync(`${base}.json`, json);
  writeFileSync(`${base}.html`, renderPlanHtml(report));
  process.stdout.write(opts.json ? json : renderPlanText(report));

  const outcomes: PlanOutcome[] = [report.plan, ...report.singleType, report.peak, ...report.whatIfs.map((w) => w.outcome)];
  const solveS = outcomes.reduce((t, o) => t + o.solution.solveMs, 0) / 1000;
  const checks = [...outcomes.map((o) => o.check), ...report.whatIfs.map((w) => w.survivors)].filter((c) => c !== null);
  const checkS = checks.reduce((t, c) => t + c.wallMs, 0) / 1000;
  const simS = checks.reduce((t, c) => t + c.simulatedS, 0);
  process.stderr.write(`solved ${outcomes.length} plans in ${solveS.toFixed(2)} s (the plan ${(report.plan.solution.solveMs / 1000).toFixed(2)} s)`
    + (opts.check ? `; checked in ${checkS.toFixed(1)} s (${checks.reduce((t, c) => t + c.runs.length, 0)} simulator runs, ${Math.round(simS).toLocaleString('en-US')} virtual seconds)` : '; not checked (--no-check)')
    + `; ${wallS.toFixed(1)} s in all\n`);
  // with --json, stdout is the JSON alone
  (opts.json ? process.stderr : process.stdout).write(`${opts.json ? '' : '\n'}report: ${base}.json\n        ${base}.html\n`);
}
