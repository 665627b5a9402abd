// The metrics the deploy/ rules and dashboards read, looked up on a live gateway's /metrics: a
// gateway in front of two simulated vLLM engines, with SLOs configured, after a streamed and a
// plain request. A name that is not there would leave a panel empty or an alert forever silent.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../src/config/index.js';
import { startPlatform, type Platform } from '../../src/gateway/index.js';
import { createLogger } from '../../src/observe/index.js';
import { startEngineServer, type EngineServer } from '../../src/simengine/index.js';
import { demoStore } from '../gateway/support.js';
import { metricNames } from './promql.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const KEY = 'sk-sy-deploy-live-metrics-key-0000000000000000';

// Families that exist only with a feature this gateway does not run, and why.
const NEEDS_FEATURE: Record<string, string> = {
  switchyard_autoscaler_replicas: 'the autoscaler',
  switchyard_autoscaler_desired_replicas: 'the autoscaler',
};

interface Rule { record?: string; expr: string }
const rules = (parse(readFileSync(join(ROOT, 'deploy/prometheus/switchyard-rules.yml'), 'utf8')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const recorded = new Set(rules.flatMap((r) => (r.record ? [r.record] : [])));
const dashboardExprs = readdirSync(join(ROOT, 'deploy/grafana')).filter((f) => f.endsWith('.json'))
  .flatMap((f) => [...readFileSync(join(ROOT, 'deploy/grafana', f), 'utf8').matchAll(/"expr": ("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1]) as string));
const used = [...new Set([...rules.map((r) => r.expr), ...dashboardExprs].flatMap(metricNames))]
  .filter((n) => !recorded.has(n) && n !== 'ALERTS').sort();

const allExprs = [...rules.map((r) => r.expr), ...dashboardExprs];

/** Label names per sample name in a Prometheus text exposition. */
function labelsOf(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([^{ #]+)\{([^}]*)\}/.exec(line);
    if (!m) continue;
    const set = out.get(m[1]) ?? new Set<string>();
    for (const l of m[2].matchAll(/(\w+)="/g)) set.add(l[1]);
    out.set(m[1], set);
  }
  return out;
}

/** The sample names in a Prometheus text exposition, with those of declared families that have
 * no sample yet (a labelled counter nothing has counted). */
function exposed(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\w+)$/.exec(line);
    if (type) {
      names.add(type[1]);
      if (type[2] === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(type[1] + s);
    } else if (line !== '' && !line.startsWith('#')) {
      names.add(/^[^{ ]+/.exec(line)![0]);
    }
  }
  return names;
}

describe('the metrics deploy/ reads, on a live gateway', () => {
  let engines: EngineServer[] = [];
  let p: Platform;
  beforeAll(async () => {
    engines = await Promise.all([startEngineServer({ model: 'm', timeScale: 50 }), startEngineServer({ model: 'm', timeScale: 50 })]);
    const config = loadConfig(undefined, { port: 0 });
    config.fleet.scrapeIntervalMs = 100;
    config.slos = [
      { kind: 'availability', name: 'chat-availability', model: '*', tier: '*', objective: 0.999, windowDays: 30 },
    ];
    p = await startPlatform({
      config, storeUrl: await demoStore(KEY), adminToken: null, log: createLogger('silent'),
      replicas: engines.map((e, i) => ({ id: `e${i}`, model: 'llama-3.1-8b', servedModel: 'm', region: i === 0 ? 'us-east' : 'eu-west', url: e.url })),
    });
  });
  afterAll(async () => {
    await p?.close();
    await Promise.all(engines.map((e) => e.close()));
  });

  it('are all exposed, each under the name the rules and dashboards use', async () => {
    for (const stream of [true, false]) {
      const r = await fetch(p.url + '/v1/chat/completions', {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', stream, max_tokens: 4, messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(r.status).toBe(200);
      await r.text();
    }
    // The replicas' families arrive with the fleet's next scrape.
    let text = '';
    for (let i = 0; i < 50; i++) {
      text = await (await fetch(p.url + '/metrics')).text();
      if (exposed(text).has('vllm:kv_cache_usage_perc')) break;
      await sleep(100);
    }
    const names = exposed(text);
    expect(used.length).toBeGreaterThan(20);
    const missing = used.filter((n) => !names.has(n) && !(n in NEEDS_FEATURE));
    expect(missing, 'metrics the deploy/ files read that /metrics does not expose').toEqual([]);

    // Every label a selector matches on is one the series carries (for series with samples here).
    const labels = labelsOf(text);
    const wrong: string[] = [];
    let checked = 0;
    for (const expr of allExprs) {
      for (const m of expr.matchAll(/([a-zA-Z_:][\w:]*)\{([^}]*)\}/g)) {
        const have = labels.get(m[1]);
        if (!have) continue;
        for (const l of m[2].matchAll(/(\w+)\s*(?:=~|!~|!=|=)/g)) {
          checked++;
          if (!have.has(l[1])) wrong.push(`${m[1]} has no label ${l[1]}`);
        }
      }
    }
    expect(checked).toBeGreaterThan(30);
    expect([...new Set(wrong)]).toEqual([]);
  });
});
