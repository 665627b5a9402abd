import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import type { UsageRecord } from '../../src/ledger/index.js';
import { scriptedPlatform } from '../gateway/support.js';

// The dashboard's read routes against a real gateway after real requests: every number is checked
// against the ledger's own records, and a tenant key is shown to see its own tenant and nothing else.

const KEY = 'sk-sy-dashboard-test-demo-key-000000000000000';
const ADMIN = 'dashboard-admin-token';
const MODEL = 'llama-3.1-8b';
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });
const chunk = (delta: object, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }], usage })}\n\n`;

let p: Platform;
const tenants: Record<'a' | 'b', { id: string; key: string; workspace: string }> = {} as never;
/** what each key sent: [ok non-streamed, ok streamed, failed (5xx), refused (4xx)] */
const SENT = { a: [3, 2, 1, 0], b: [1, 1, 0, 1], demo: [1, 0, 0, 0] } as const;

async function admin(path: string, o: { as?: string; method?: string; body?: unknown } = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(p.url + path, {
    method: o.method ?? 'GET',
    headers: { authorization: `Bearer ${o.as ?? ADMIN}`, 'content-type': 'application/json' },
    ...(o.body === undefined ? {} : { body: JSON.stringify(o.body) }),
  });
  return { status: res.status, json: await res.json(), headers: res.headers };
}

async function chat(key: string, kind: 'ok' | 'stream' | 'fail' | 'refused'): Promise<number> {
  const body = { model: kind === 'refused' ? 'no-such-model' : MODEL, max_tokens: 8, stream: kind === 'stream', messages: [{ role: 'user', content: kind === 'fail' ? 'fail' : 'hi' }] };
  const res = await fetch(`${p.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return res.status;
}

async function records(tenantId: string): Promise<UsageRecord[]> {
  await p.ledger.flush();
  return p.store.queryUsage({ tenantId, limit: 1000 });
}

const sum = (rs: readonly UsageRecord[], f: (r: UsageRecord) => number): number => rs.reduce((s, r) => s + f(r), 0);
const total = (series: any[], field: string): number => series.reduce((s, x) => s + x[field], 0);

beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY, adminToken: ADMIN,
    // a price high enough for a few requests to show as spend
    configure: (c) => { c.models.find((m) => m.id === MODEL)!.pricing = { input: 1_000, output: 2_000 }; },
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      let raw = '';
      q.on('data', (d) => (raw += d)).on('end', () => {
        const b = JSON.parse(raw);
        if (JSON.stringify(b.messages).includes('fail')) return void s.writeHead(500).end('{"error":"boom"}');
        if (!b.stream) return void s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
        s.writeHead(200, { 'content-type': 'text/event-stream' });
        s.end(chunk({ role: 'assistant', content: '' }) + chunk({ content: 'fine' }) + chunk({}, 'stop') + 'data: [DONE]\n\n');
      });
    },
  });
  for (const [name, tier] of [['a', 'free'], ['b', 'default']] as const) {
    const t = await admin('/admin/v1/tenants', { method: 'POST', body: { name: `dashboard ${name}`, tier } });
    expect(t.status).toBe(201);
    const k = await admin(`/admin/v1/tenants/${t.json.id}/keys`, { method: 'POST', body: { name: 'k' } });
    expect(k.status).toBe(201);
    tenants[name] = { id: t.json.id, key: k.json.secret, workspace: k.json.workspace_id };
  }
  for (const [who, key] of [['a', tenants.a.key], ['b', tenants.b.key], ['demo', KEY]] as const) {
    const [ok, stream, fail, refused] = SENT[who];
    for (let i = 0; i < ok; i++) expect(await chat(key, 'ok')).toBe(200);
    for (let i = 0; i < stream; i++) expect(await chat(key, 'stream')).toBe(200);
    for (let i = 0; i < fail; i++) expect(await chat(key, 'fail')).toBeGreaterThanOrEqual(500);
    for (let i = 0; i < refused; i++) expect(await chat(key, 'refused')).toBe(404);
  }
});

afterAll(async () => {
  await p?.close();
});

const count = (who: keyof typeof SENT): number => SENT[who].reduce<number>((a, b) => a + b, 0);
const ALL = count('a') + count('b') + count('demo');

describe('GET /admin/v1/overview', () => {
  it('gives the admin token the fleet, the traffic, the spend and the control loops in one answer', async () => {
    const { status, json } = await admin('/admin/v1/overview');
    expect(status).toBe(200);
    expect(json.fleet).toEqual({
      regions: [{ name: 'us-east', pools: [{ model: MODEL, replicas: 1, routable: 1, unhealthy: 0, ejected: 0, draining: 0, inflight: 0, kv_usage: null }] }],
    });
    expect(json.traffic).toMatchObject({ window_s: 300, requests: ALL, error_ratio: Math.round((1 / ALL) * 1e6) / 1e6 });
    expect(json.traffic.rps).toBeCloseTo(ALL / 300, 3);
    expect(json.traffic.p50_ms).toBeGreaterThan(0);
    expect(json.traffic.p95_ms).toBeGreaterThanOrEqual(json.traffic.p50_ms);
    expect(json.traffic.ttft_p50_ms).toBeGreaterThan(0);
    let spent = 0;
    for (const t of await p.store.listTenants()) spent += sum(await records(t.id), (r) => r.costUsd);
    expect(spent).toBeGreaterThan(0);
    expect(json.spend.month_to_date_usd).toBeCloseTo(spent, 9);
    expect(json.spend.tenants_over_budget).toBe(0);
    expect(json.slo).toEqual({ total: 0, burning: 0, alerts_firing: 0 });
    expect(json.rollouts).toEqual([]);
    expect(json.autoscaler).toEqual({ enabled: false, leading: false, pools: [] });
    expect(Date.parse(json.generated_at)).not.toBeNaN();
  });

  it('gives a tenant key its own traffic and spend, and no fleet, rollouts or autoscaler', async () => {
    const { status, json } = await admin('/admin/v1/overview', { as: tenants.b.key });
    expect(status).toBe(200);
    expect(json.fleet).toBeNull();
    expect(json.autoscaler).toBeNull();
    expect(json.rollouts).toEqual([]);
    expect(json.traffic.requests).toBe(count('b'));
    expect(json.traffic.error_ratio).toBe(0);
    expect(json.spend.month_to_date_usd).toBeCloseTo(sum(await records(tenants.b.id), (r) => r.costUsd), 9);
  });

  it('counts a tenant whose workspace reached its limit as over budget', async () => {
    const w = await admin(`/admin/v1/workspaces/${tenants.b.workspace}`, { method: 'PATCH', body: { spend_limit_usd: 0.001 } });
    expect(w.status).toBe(200);
    try {
      expect((await admin('/admin/v1/overview')).json.spend.tenants_over_budget).toBe(1);
      expect((await admin('/admin/v1/overview', { as: tenants.b.key })).json.spend.tenants_over_budget).toBe(1);
      expect((await admin('/admin/v1/overview', { as: tenants.a.key })).json.spend.tenants_over_budget).toBe(0);
    } finally {
      await admin(`/admin/v1/workspaces/${tenants.b.workspace}`, { method: 'PATCH', body: { spend_limit_usd: null } });
    }
  });
});

describe('GET /admin/v1/traffic', () => {
  it('answers the fleet’s last 15 minutes in 10 s buckets, oldest first', async () => {
    const { status, json } = await admin('/admin/v1/traffic');
    expect(status).toBe(200);
    expect(json.bucket_s).toBe(10);
    expect(json.series).toHaveLength(90);
    const at = json.series.map((s: any) => s.at);
    expect(at.every((t: number, i: number) => i === 0 || t - at[i - 1] === 10_000)).toBe(true);
    expect(Object.keys(json.series[0]).sort()).toEqual([
      'at', 'errors_4xx', 'errors_5xx', 'latency_p50_ms', 'latency_p95_ms', 'latency_p99_ms', 'output_tokens', 'requests', 'ttft_p50_ms', 'ttft_p95_ms',
    ]);
    expect(total(json.series, 'requests')).toBe(ALL);
    expect(total(json.series, 'errors_5xx')).toBe(1);
    expect(total(json.series, 'errors_4xx')).toBe(1);
    const all: UsageRecord[] = [];
    for (const t of await p.store.listTenants()) all.push(...(await records(t.id)));
    expect(total(json.series, 'output_tokens')).toBe(sum(all, (r) => r.outputTokens));
  });

  it('narrows to one model, one tenant, or a shorter window', async () => {
    const byModel = await admin(`/admin/v1/traffic?model=${MODEL}&window=5m`);
    expect(byModel.status).toBe(200);
    expect(byModel.json.series).toHaveLength(30);
    // the refused request named a model not served: it is the fleet's, not this model's
    expect(total(byModel.json.series, 'requests')).toBe(ALL - 1);
    const byTenant = await admin(`/admin/v1/traffic?tenant=${tenants.a.id}`);
    expect(total(byTenant.json.series, 'requests')).toBe(count('a'));
    expect(total(byTenant.json.series, 'errors_5xx')).toBe(1);
  });

  it('shows a tenant key its own traffic only, and refuses it another tenant’s', async () => {
    const own = await admin('/admin/v1/traffic', { as: tenants.b.key });
    expect(own.status).toBe(200);
    expect(total(own.json.series, 'requests')).toBe(count('b'));
    expect(total(own.json.series, 'errors_4xx')).toBe(1);
    const foreign = await admin(`/admin/v1/traffic?tenant=${tenants.a.id}`, { as: tenants.b.key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.message).toBe(`tenant ${tenants.a.id} not found`);
    expect((await admin(`/admin/v1/traffic?model=${MODEL}`, { as: tenants.b.key })).status).toBe(400);
    for (const other of [tenants.b.workspace, tenants.a.workspace, encodeURIComponent(tenants.a.id), 'ten_demo']) {
      expect((await admin(`/admin/v1/traffic?tenant=${other}`, { as: tenants.b.key })).status).toBe(404);
    }
  });

  it.each([
    ['window=15s', /window: expected a duration/],
    ['window=16m', /from 10s to 15m/],
    ['window=abc', /got 'abc'/],
    ['model=nope', /no traffic or replica for nope; the models are/],
    ['model=x&tenant=y', /give one of them/],
    // the refused request named it, but a client error gives no model a series (made-up names cannot crowd out served ones)
    ['model=no-such-model', /no traffic or replica for no-such-model/],
    [`model=${'m'.repeat(201)}`, /model: longer than 200 characters/],
    ['granularity=1m', /granularity: not a parameter of this route; it takes model, tenant, window/],
  ])('refuses ?%s with a message naming the fault', async (q, message) => {
    const r = await admin(`/admin/v1/traffic?${q}`);
    expect(r.status).toBe(q === 'model=nope' || q === 'model=no-such-model' ? 404 : 400);
    expect(r.json.type).toBe('error');
    expect(r.json.error.message).toMatch(message);
  });
});

describe('GET /admin/v1/spend', () => {
  it('pages through every tenant with its month to date, budget and burn', async () => {
    const all = await p.store.listTenants();
    const seen: any[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 10; pages++) {
      const r = await admin(`/admin/v1/spend?limit=1${after === null ? '' : `&after_id=${after}`}`);
      expect(r.status).toBe(200);
      expect(r.json.data).toHaveLength(1);
      seen.push(...r.json.data);
      expect(r.json.has_more).toBe(seen.length < all.length);
      if (!r.json.has_more) {
        expect(r.json.next_after_id).toBeNull();
        break;
      }
      after = r.json.next_after_id;
      expect(after).toBe(r.json.data[0].tenant_id);
    }
    expect(seen.map((s) => s.tenant_id)).toEqual(all.map((t) => t.id));
    const a = seen.find((s) => s.tenant_id === tenants.a.id);
    const spentA = sum(await records(tenants.a.id), (r) => r.costUsd);
    // the free tier's $10 a month, one workspace
    expect(a).toMatchObject({ name: 'dashboard a', tier: 'free', budget_usd: 10, workspaces: 1, over_budget: false });
    expect(a.month_to_date_usd).toBeCloseTo(spentA, 9);
    expect(a.burn_ratio).toBeCloseTo(spentA / 10, 6);
    expect(a.projected_month_usd).toBeGreaterThanOrEqual(a.month_to_date_usd);
    expect(seen.find((s) => s.tenant_id === tenants.b.id)).toMatchObject({ tier: 'default', budget_usd: null, burn_ratio: null });
  });

  it('says has_more exactly when a tenant is left: a page as long as the list has none after it', async () => {
    const n = (await p.store.listTenants()).length;
    const whole = await admin(`/admin/v1/spend?limit=${n}`);
    expect(whole.json).toMatchObject({ has_more: false, next_after_id: null });
    expect(whole.json.data).toHaveLength(n);
    const short = await admin(`/admin/v1/spend?limit=${n - 1}`);
    expect(short.json.has_more).toBe(true);
    const rest = await admin(`/admin/v1/spend?limit=${n}&after_id=${short.json.next_after_id}`);
    expect(rest.json).toMatchObject({ has_more: false, next_after_id: null });
    expect([...short.json.data, ...rest.json.data].map((s: any) => s.tenant_id)).toEqual(whole.json.data.map((s: any) => s.tenant_id));
  });

  it('never shows a tenant key another tenant, whatever cursor it passes', async () => {
    for (const after of [tenants.a.id, 'ten_', tenants.b.workspace, encodeURIComponent(tenants.a.id)]) {
      const r = await admin(`/admin/v1/spend?after_id=${after}`, { as: tenants.b.key });
      expect(r.status).toBe(200);
      expect(r.json.data.every((s: any) => s.tenant_id === tenants.b.id)).toBe(true);
    }
  });

  it('shows a tenant key its own tenant alone', async () => {
    const r = await admin('/admin/v1/spend?limit=50', { as: tenants.a.key });
    expect(r.status).toBe(200);
    expect(r.json.data.map((s: any) => s.tenant_id)).toEqual([tenants.a.id]);
    expect(r.json.has_more).toBe(false);
  });

  it.each([
    ['limit=0', /limit: expected an integer from 1 to 500, got '0'/],
    ['limit=501', /limit: expected an integer from 1 to 500/],
    ['after_id=', /after_id: empty/],
    [`after_id=ten_${'x'.repeat(300)}`, /after_id: not a tenant id/],
    ['limit=1e1', /limit: expected an integer from 1 to 500, got '1e1'/],
    ['limit=%205', /limit: expected an integer/],
    ['limit=0x10', /limit: expected an integer/],
    ['page=2', /page: not a parameter of this route; it takes limit, after_id/],
  ])('refuses ?%s', async (q, message) => {
    const r = await admin(`/admin/v1/spend?${q}`);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(message);
  });
});

describe('GET /admin/v1/tenants/{id}/daily', () => {
  it('lists every day of the window from the day roll-up, today last', async () => {
    await p.ledger.flush();
    const r = await admin(`/admin/v1/tenants/${tenants.a.id}/daily?days=3`);
    expect(r.status).toBe(200);
    expect(r.json.data).toHaveLength(3);
    const rs = await records(tenants.a.id);
    const today = new Date(rs[0].startedAt).toISOString().slice(0, 10);
    expect(r.json.data.at(-1)).toEqual({
      day: today, requests: count('a'), server_errors: 1, client_errors: 0,
      input_tokens: sum(rs, (x) => x.inputTokens), output_tokens: sum(rs, (x) => x.outputTokens), cost_usd: expect.closeTo(sum(rs, (x) => x.costUsd), 9),
    });
    expect(r.json.data[0]).toMatchObject({ requests: 0, cost_usd: 0 });
    expect((await admin(`/admin/v1/tenants/${tenants.a.id}/daily`)).json.data).toHaveLength(30);
  });

  it('answers a tenant key for its own tenant and as missing for another', async () => {
    expect((await admin(`/admin/v1/tenants/${tenants.b.id}/daily`, { as: tenants.b.key })).status).toBe(200);
    const foreign = await admin(`/admin/v1/tenants/${tenants.a.id}/daily`, { as: tenants.b.key });
    const missing = await admin('/admin/v1/tenants/ten_nope/daily', { as: tenants.b.key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.message).toBe(`tenant ${tenants.a.id} not found`);
    expect(missing.json.error.message).toBe('tenant ten_nope not found');
    expect((await admin('/admin/v1/tenants/ten_nope/daily')).status).toBe(404);
  });

  it('finds a tenant by its percent-encoded id, and never by a workspace id or another tenant’s encoded id', async () => {
    const encoded = (id: string) => [...id].map((c) => '%' + c.charCodeAt(0).toString(16).padStart(2, '0')).join('');
    expect((await admin(`/admin/v1/tenants/${encoded(tenants.b.id)}/daily`, { as: tenants.b.key })).status).toBe(200);
    for (const path of [encoded(tenants.a.id), tenants.a.workspace, tenants.b.workspace, encodeURIComponent(tenants.b.id + '/')]) {
      const r = await admin(`/admin/v1/tenants/${path}/daily`, { as: tenants.b.key });
      expect(r.status).toBe(404);
      expect(JSON.stringify(r.json)).not.toContain('requests');
    }
    expect((await admin(`/admin/v1/tenants/${tenants.a.workspace}/daily`)).status).toBe(404);
  });

  it.each(['days=0', 'days=367', 'days=1.5', 'days=1e1', 'days=0x1e', 'days=%207', 'days=', 'since=2026-01-01'])('refuses ?%s', async (q) => {
    const r = await admin(`/admin/v1/tenants/${tenants.a.id}/daily?${q}`);
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/^(days: expected an integer from 1 to 366|since: not a parameter)/);
  });
});

describe('the dashboard routes are read-only', () => {
  it.each(['/admin/v1/overview', '/admin/v1/traffic', '/admin/v1/spend', '/admin/v1/tenants/ten_x/daily'])('%s answers POST with 405 and allow: GET', async (path) => {
    const r = await admin(path, { method: 'POST', body: {} });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
  });

  it('answers without credentials with 401', async () => {
    const res = await fetch(`${p.url}/admin/v1/overview`);
    expect(res.status).toBe(401);
  });
});
