import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createProgress, loadScenario, renderHtml, renderText, reportJson, runScenario } from '../sim/index.js';

export interface SimOptions {
  scenario: string;
  out: string;
  seed?: number;
  progress: boolean;
}

/** `switchyard sim SCENARIO.yaml`: run it, print the report, write it as JSON and HTML. */
export function sim(opts: SimOptions): void {
  const loaded = loadScenario(opts.scenario);
  const bar = opts.progress ? createProgress(process.stderr, loaded.scenario.name) : null;
  const result = runScenario(loaded, {
    seed: opts.seed,
    onProgress: bar ? (f, policy) => bar.update(f, policy, Date.now()) : undefined,
  });
  bar?.done();
  const dir = resolve(opts.out);
  mkdirSync(dir, { recursive: true });
  const base = join(dir, loaded.scenario.name + (opts.seed !== undefined ? `.seed${opts.seed}` : ''));
  writeFileSync(`${base}.json`, reportJson(result.report));
  writeFileSync(`${base}.html`, renderHtml(result.report));
  process.stdout.write(renderText(result.report));
  const wall = result.runs.map((r) => `${r.policy} ${r.wallS.toFixed(2)} s (${Math.round(r.durationS / Math.max(r.wallS, 1e-9)).toLocaleString('en-US')}× real time)`).join(', ');
  process.stdout.write(`\nsimulated in ${wall}\nreport: ${base}.json\n        ${base}.html\n`);
}
