// The Prometheus rules and Grafana dashboards under deploy/: promtool checks and runs the rules'
// unit tests, every dashboard query must parse, and every metric they read must be one the
// gateway promises in its contract (the names below).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { metricNames, substituteVariables, variablesIn } from './promql.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROMETHEUS = join(ROOT, 'deploy/prometheus');
const GRAFANA = join(ROOT, 'deploy/grafana');
const RULES = join(PROMETHEUS, 'switchyard-rules.yml');

// The metric names the gateway exposes on /metrics (the contract between the teams).
const COUNTERS_AND_GAUGES = [
  'switchyard_requests_total', 'switchyard_upstream_failures_total', 'switchyard_upstream_retries_total',
  'switchyard_admission_shed_total', 'switchyard_admission_queued_requests', 'switchyard_replica_healthy',
  'switchyard_replica_inflight_requests', 'switchyard_ratelimit_store_fallbacks_total', 'switchyard_internal_errors_total',
  'switchyard_gpu_cost_usd_total', 'switchyard_cost_usd_per_million_tokens',
  'switchyard_slo_events_total', 'switchyard_slo_objective_ratio', 'switchyard_slo_error_budget_remaining_ratio',
  'switchyard_slo_burn_rate', 'switchyard_slo_alert_firing',
  // vLLM families the gateway re-exports per replica, as vLLM names them
  'vllm:num_requests_running', 'vllm:num_requests_waiting', 'vllm:kv_cache_usage_perc',
];
const HISTOGRAMS = [
  'switchyard_request_duration_seconds', 'switchyard_time_to_first_token_seconds',
  'gen_ai_server_time_to_first_token_seconds', 'gen_ai_server_time_per_output_token_seconds',
  'gen_ai_server_request_duration_seconds', 'gen_ai_client_token_usage', 'gen_ai_client_operation_duration_seconds',
];
const FAMILY_PREFIXES = ['switchyard_autoscaler_', 'switchyard_ledger_'];
const PROMETHEUS_BUILTINS = ['ALERTS'];

const CONTRACT = new Set([
  ...COUNTERS_AND_GAUGES,
  ...HISTOGRAMS.flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
  ...PROMETHEUS_BUILTINS,
]);

interface Rule { record?: string; alert?: string; expr: string; for?: string; labels?: Record<string, string>; annotations?: Record<string, string> }
interface RuleFile { groups: { name: string; rules: Rule[] }[] }
interface AlertTest { alertname: string; exp_alerts?: unknown[] }
interface TestFile { tests: { name: string; alert_rule_test?: AlertTest[] }[] }
interface Target { expr?: string; datasource?: { type?: string; uid?: string } }
interface Panel { id: number; type: string; title: string; datasource?: { type?: string; uid?: string }; targets?: Target[]; panels?: Panel[]; gridPos: { x: number; y: number; w: number; h: number } }
interface Variable { name: string; type: string; query?: unknown; datasource?: { uid?: string } }
interface Dashboard { uid: string; title: string; schemaVersion: number; templating: { list: Variable[] }; panels: Panel[] }

function findPromtool(): string | null {
  if (process.env.PROMTOOL) return existsSync(process.env.PROMTOOL) ? process.env.PROMTOOL : null;
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return ['/usr/bin/promtool', ...dirs.map((d) => join(d, 'promtool'))].find((c) => existsSync(c)) ?? null;
}

const PROMTOOL = findPromtool();

/** Runs promtool; a missing binary is a failure with the fix in its message. */
function promtool(...args: string[]): { ok: boolean; output: string } {
  if (PROMTOOL === null) throw new Error('promtool not found: install it (Debian: apt-get install prometheus) or set PROMTOOL to its path');
  const r = spawnSync(PROMTOOL, args, { cwd: PROMETHEUS, encoding: 'utf8' });
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** promtool run without blocking, so that the unit-test files run side by side. */
function promtoolAsync(...args: string[]): Promise<{ ok: boolean; output: string }> {
  if (PROMTOOL === null) return Promise.reject(new Error('promtool not found: install it (Debian: apt-get install prometheus) or set PROMTOOL to its path'));
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, args, { cwd: PROMETHEUS });
    let output = '';
    child.stdout.on('data', (b: Buffer) => { output += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { output += b.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ ok: code === 0, output }));
  });
}

const rules = parse(readFileSync(RULES, 'utf8')) as RuleFile;
const allRules = rules.groups.flatMap((g) => g.rules);
const alerts = allRules.filter((r) => r.alert);
const recorded = new Set(allRules.flatMap((r) => (r.record ? [r.record] : [])));
const testFiles = readdirSync(join(PROMETHEUS, 'tests')).filter((f) => f.endsWith('.yml')).sort();
const alertTests = testFiles.flatMap((f) => (parse(readFileSync(join(PROMETHEUS, 'tests', f), 'utf8')) as TestFile).tests)
  .flatMap((t) => t.alert_rule_test ?? []);
const dashboardFiles = readdirSync(GRAFANA).filter((f) => f.endsWith('.json')).sort();
const dashboards = dashboardFiles.map((f) => ({ file: f, board: JSON.parse(readFileSync(join(GRAFANA, f), 'utf8')) as Dashboard }));

const flatten = (panels: Panel[]): Panel[] => panels.flatMap((p) => [p, ...flatten(p.panels ?? [])]);
const queryPanels = (d: Dashboard) => flatten(d.panels).filter((p) => p.type !== 'row');
const variableQuery = (v: Variable): string => (typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query ?? '');
const GRAFANA_BUILTINS = new Set(['__rate_interval', '__interval', '__interval_ms', '__range', '__range_s']);


describe('metric names in a PromQL expression', () => {
  it('are the selectors, not functions, label names, keywords, numbers or strings', () => {
    const expr = 'sum by (le, slo) (rate(a_bucket{x="y",z=~"$model"}[5m])) / on (slo) group_left () clamp_min(b, 1e-12)'
      + ' and vllm:kv_cache_usage_perc > 0.9 or vector(0) unless c offset 5m';
    expect(metricNames(expr)).toEqual(['a_bucket', 'b', 'vllm:kv_cache_usage_perc', 'c']);
  });
  it('substitutes Grafana variables with values that keep the expression valid', () => {
    const expr = 'rate(x{m=~"$model",t=~"${tenant}"}[$__rate_interval]) + increase(x[${__range}])';
    expect(variablesIn(expr).sort()).toEqual(['__range', '__rate_interval', 'model', 'tenant']);
    expect(substituteVariables(expr)).toBe('rate(x{m=~".*",t=~".*"}[5m]) + increase(x[1h])');
  });
});

// never skipped: without promtool these fail, saying how to install it
describe('the Prometheus rules', () => {
  it('pass promtool check rules', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.ok, r.output).toBe(true);
    expect(r.output).toContain(`SUCCESS: ${allRules.length} rules found`);
  });

  it('pass their promtool unit tests (outages, slow burns, healthy traffic, platform alerts)', async () => {
    expect(testFiles).toEqual(['platform.yml', 'slo-burn-days.yml', 'slo-burn-hours.yml', 'slo-burn.yml']);
    const runs = await Promise.all(testFiles.map((f) => promtoolAsync('test', 'rules', join('tests', f))));
    for (const r of runs) {
      expect(r.ok, r.output).toBe(true);
      expect(r.output).toContain('SUCCESS');
      expect(r.output).not.toContain('FAILED');
    }
  });
});

describe('the Prometheus rules', () => {
  it('record the SLO error ratio for every window, by SLO', () => {
    for (const w of ['5m', '30m', '1h', '6h', '1d', '3d']) {
      const rule = allRules.find((r) => r.record === `slo:sli_error:ratio_rate${w}`);
      expect(rule, `slo:sli_error:ratio_rate${w}`).toBeDefined();
      expect(rule!.expr).toContain(`switchyard_slo_events_total{result="bad"}[${w}]`);
      expect(rule!.expr).toMatch(/sum by \(slo\)/);
    }
  });

  it('alert on the multi-window burn rates with the severities and rule names the gateway uses', () => {
    const slo = alerts.filter((a) => a.alert!.startsWith('SwitchyardSLO')).map((a) => ({ severity: a.labels?.severity, rule: a.labels?.rule, expr: a.expr }));
    const expected = [
      { severity: 'page', rule: '1h-5m', long: '1h', short: '5m', factor: '14.4' },
      { severity: 'page', rule: '6h-30m', long: '6h', short: '30m', factor: '6' },
      { severity: 'ticket', rule: '3d-6h', long: '3d', short: '6h', factor: '1' },
    ];
    expect(slo.map(({ severity, rule }) => ({ severity, rule }))).toEqual(expected.map(({ severity, rule }) => ({ severity, rule })));
    for (const e of expected) {
      const a = slo.find((s) => s.rule === e.rule)!;
      expect(a.expr).toBe(`slo:burn_rate:rate${e.long} > ${e.factor} and on (slo) slo:burn_rate:rate${e.short} > ${e.factor}`);
    }
  });

  it('give every alert a severity, a summary, a description and a runbook section in deploy/README.md', () => {
    const readme = readFileSync(join(ROOT, 'deploy/README.md'), 'utf8');
    const anchors = new Set([...readme.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-')));
    for (const a of alerts) {
      const severities = a.alert!.startsWith('SwitchyardSLO') ? ['page', 'ticket'] : ['critical', 'warning'];
      expect(severities, a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description, a.alert).toBeTruthy();
      const anchor = /deploy\/README\.md#([\w-]+)/.exec(a.annotations?.runbook ?? '')?.[1];
      expect(anchor, `${a.alert} runbook`).toBe(a.alert!.toLowerCase());
      expect(anchors.has(anchor!), `README section for ${a.alert}`).toBe(true);
    }
  });

  it('have a unit test where each alert fires and one where it does not', () => {
    for (const a of alerts) {
      const cases = alertTests.filter((t) => t.alertname === a.alert);
      expect(cases.some((t) => (t.exp_alerts ?? []).length > 0), `${a.alert} firing`).toBe(true);
      expect(cases.some((t) => (t.exp_alerts ?? []).length === 0), `${a.alert} quiet`).toBe(true);
    }
  });

  it('name recorded series level:metric:operations and read only contract metrics or recorded series', () => {
    for (const name of recorded) expect(name, name).toMatch(/^[a-z_]+:[a-z_]+:[a-z0-9_]+$/);
    for (const r of allRules) {
      for (const name of metricNames(r.expr)) {
        const known = CONTRACT.has(name) || recorded.has(name) || FAMILY_PREFIXES.some((p) => name.startsWith(p));
        expect(known, `${r.record ?? r.alert} reads ${name}, which is not in the metrics contract`).toBe(true);
      }
    }
  });
});

describe('the Grafana dashboards', () => {
  it('are the overview, SLO, fleet and cost dashboards, each with its own uid', () => {
    expect(dashboardFiles).toEqual(['costs.json', 'fleet.json', 'overview.json', 'slos.json']);
    const uids = dashboards.map((d) => d.board.uid);
    expect(new Set(uids).size).toBe(uids.length);
    for (const { file, board } of dashboards) {
      expect(board.schemaVersion, file).toBeGreaterThanOrEqual(39);
      expect(board.title, file).toMatch(/^Switchyard \/ /);
    }
  });

  it('take their Prometheus from a ${datasource} variable, in every panel, target and query variable', () => {
    for (const { file, board } of dashboards) {
      const ds = board.templating.list.find((v) => v.name === 'datasource');
      expect(ds, file).toMatchObject({ type: 'datasource', query: 'prometheus' });
      for (const v of board.templating.list.filter((x) => x.type === 'query')) expect(v.datasource?.uid, `${file} $${v.name}`).toBe('${datasource}');
      for (const p of queryPanels(board)) {
        expect(p.datasource, `${file} panel ${p.id}`).toEqual({ type: 'prometheus', uid: '${datasource}' });
        for (const t of p.targets ?? []) if (t.datasource) expect(t.datasource.uid, `${file} panel ${p.id}`).toBe('${datasource}');
      }
    }
  });

  it('offer model, tenant and region filters, and use only variables they define', () => {
    const offered = new Set(dashboards.flatMap((d) => d.board.templating.list.map((v) => v.name)));
    for (const v of ['model', 'tenant', 'region', 'slo']) expect(offered.has(v), v).toBe(true);
    for (const { file, board } of dashboards) {
      const defined = new Set(board.templating.list.map((v) => v.name));
      for (const p of queryPanels(board)) {
        for (const t of p.targets ?? []) {
          for (const v of variablesIn(t.expr ?? '')) expect(defined.has(v) || GRAFANA_BUILTINS.has(v), `${file} panel ${p.id} uses $${v}`).toBe(true);
        }
      }
    }
  });

  it('have unique panel ids, and every panel a query and a place on the 24-column grid', () => {
    for (const { file, board } of dashboards) {
      const panels = flatten(board.panels);
      const ids = panels.map((p) => p.id);
      expect(new Set(ids).size, file).toBe(ids.length);
      for (const p of panels) {
        expect(p.gridPos.x + p.gridPos.w, `${file} panel ${p.id}`).toBeLessThanOrEqual(24);
        if (p.type === 'row') continue;
        expect(p.title, `${file} panel ${p.id}`).toBeTruthy();
        expect(p.targets?.length ?? 0, `${file} panel ${p.id}`).toBeGreaterThanOrEqual(1);
        for (const t of p.targets!) expect(t.expr?.trim(), `${file} panel ${p.id}`).toBeTruthy();
      }
    }
  });

  it('read only contract metrics or series the rules record', () => {
    for (const { file, board } of dashboards) {
      const exprs = [
        ...queryPanels(board).flatMap((p) => (p.targets ?? []).map((t) => ({ where: `panel ${p.id} "${p.title}"`, expr: t.expr ?? '' }))),
        ...board.templating.list.filter((v) => v.type === 'query').map((v) => ({ where: `$${v.name}`, expr: variableQuery(v).replace(/^label_values\(([^,)]+).*$/, '$1') })),
      ];
      for (const { where, expr } of exprs) {
        const names = metricNames(expr);
        expect(names.length, `${file} ${where} selects no metric`).toBeGreaterThan(0);
        for (const name of names) {
          const known = CONTRACT.has(name) || recorded.has(name) || FAMILY_PREFIXES.some((p) => name.startsWith(p));
          expect(known, `${file} ${where} reads ${name}, which is not in the metrics contract`).toBe(true);
        }
      }
    }
  });
});

describe('the Grafana dashboards under promtool', () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchyard-dashboards-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('hold only queries that parse as PromQL once the variables are filled in', () => {
    const groups = dashboards.map(({ board }) => ({
      name: board.uid,
      rules: queryPanels(board).flatMap((p) => (p.targets ?? []).map((t, i) => ({
        record: `dashboard:${board.uid.replace(/\W/g, '_')}:panel${p.id}_${i}`,
        expr: substituteVariables(t.expr ?? ''),
      }))),
    }));
    const file = join(dir, 'dashboards.rules.json');
    // JSON is YAML, so the exprs need no quoting care.
    writeFileSync(file, JSON.stringify({ groups }));
    const r = promtool('check', 'rules', file);
    expect(r.ok, r.output).toBe(true);
    const count = groups.reduce((n, g) => n + g.rules.length, 0);
    expect(count).toBeGreaterThan(40);
    expect(r.output).toContain(`SUCCESS: ${count} rules found`);
  });
});
