import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { costs, type CostsOptions } from '../../src/cli/costs.js';
import { createCostRoutes } from '../../src/api/admin/costs.js';
import type { Caller } from '../../src/api/admin/caller.js';
import { ConfigError } from '../../src/config/index.js';
import { profileWeights } from '../../src/control/economics/index.js';
import { openStore, type ReplicaTimeRecord, type UsageRecord } from '../../src/ledger/index.js';

// `switchyard costs` against a real SQLite store file, filled as the gateway fills it: usage records
// from the ledger writer, replica time from the cost accounting's flushes.

const DAY = 86_400_000;
const d1 = Date.parse('2026-03-01T00:00:00Z');
const NOW = d1 + DAY + 5 * 3_600_000; // 2026-03-02, 05:00 UTC

/** Runs the command, returning what it printed. */
async function run(o: CostsOptions): Promise<{ stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => ((stdout += String(s)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => ((stderr += String(s)), true));
  try {
    await costs({ nowMs: NOW, ...o });
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr };
}

describe('switchyard costs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-costs-'));
  const at = { dataDir: dir };
  const empty = mkdtempSync(join(tmpdir(), 'sy-cli-costs-empty-'));

  beforeAll(async () => {
    for (const [d, fill] of [[dir, true], [empty, false]] as const) {
      const store = await openStore(`sqlite:${join(d, 'switchyard.db')}`);
      try {
        const { tenant, workspace, key } = await store.ensureDemoTenant();
        if (!fill) continue;
        let n = 0;
        const use = (startedAt: number, replica: string | null, input: number, cached: number, output: number): UsageRecord => ({
          requestId: `req_${n++}`, startedAt, tenantId: tenant.id, workspaceId: workspace.id, keyId: key.id, tier: 'default', model: 'llama', replica, region: replica === null ? null : 'eu',
          wire: 'openai', stream: false, status: 200, outcome: 'ok', inputTokens: input, cachedInputTokens: cached, outputTokens: output,
          ttftMs: null, latencyMs: 5, costUsd: 0,
        });
        await store.insertUsage([
          use(d1 + 1_000, 'eu-1', 1_000_000, 0, 100_000),
          use(d1 + 2_000, 'eu-1', 1_000_000, 500_000, 100_000),
          use(d1 + 3_000, null, 10, 0, 0), // refused before placement: tokens, no cost
          use(d1 + DAY + 1_000, 'eu-1', 500_000, 0, 50_000),
          use(d1 - 1, 'eu-1', 7, 0, 7), // the day before the window
        ]);
        const time = (day: string, replica: string, pool: string, upS: number, busyS: number, price: number): ReplicaTimeRecord => ({
          day, replica, pool, region: pool.split('/')[0]!, model: 'llama', profile: 'llama-3.1-8b-h100', gpu: 'H100-SXM-80GB', gpus: 1, usdPerGpuHour: price, upS, busyS,
        });
        await store.addReplicaTime([
          time('2026-03-01', 'eu-1', 'eu/llama', 86_400, 43_200, 2.99),
          time('2026-03-01', 'us-1', 'us/llama', 36_000, 0, 1.5), // up ten hours, served nobody
          time('2026-03-02', 'eu-1', 'eu/llama', 18_000, 9_000, 2.99),
        ]);
        // a second flush adds to the same (day, replica) row
        await store.addReplicaTime([time('2026-03-02', 'eu-1', 'eu/llama', 3_600, 3_600, 2.99)]);
      } finally {
        await store.close();
      }
    }
  });

  afterEach(() => vi.restoreAllMocks());

  it('prints per day and model the GPU cost, GPU-hours, utilisation, idle cost, tokens and cost per million, with a total (--json)', async () => {
    const { stdout } = await run({ ...at, since: '2026-03-01', until: '2026-03-02', json: true });
    const out = JSON.parse(stdout);
    expect(out).toMatchObject({ by: 'model', since: '2026-03-01', until: '2026-03-02' });
    expect(out.data.map((r: { day: string; key: string }) => `${r.day} ${r.key}`)).toEqual(['2026-03-01 llama', '2026-03-02 llama']);
    const [a, b] = out.data;
    expect(a.usd).toBeCloseTo(24 * 2.99 + 10 * 1.5, 6);
    expect(a.gpu_hours).toBeCloseTo(34, 6);
    expect(a.utilisation).toBeCloseTo(43_200 / (86_400 + 36_000), 6);
    expect(a.idle_usd).toBeCloseTo(12 * 2.99 + 15, 6);
    expect(a.requests).toBe(3);
    expect(a.input_tokens).toBe(2_000_010);
    expect(a.cached_input_tokens).toBe(500_000);
    expect(a.output_tokens).toBe(200_000);
    expect(a.input_usd + a.output_usd).toBeCloseTo(a.usd, 6);
    expect(a.input_usd_per_m).toBeCloseTo((a.input_usd * 1e6) / 2_000_010, 6);
    expect(b.usd).toBeCloseTo(6 * 2.99, 6);
    expect(b.utilisation).toBeCloseTo(12_600 / 21_600, 6);
    expect(out.total.usd).toBeCloseTo(a.usd + b.usd, 6);
    expect(out.total.output_tokens).toBe(250_000);
  });

  it('groups by pool, region or tenant; by tenant the idle replica-days stand apart', async () => {
    const pools = JSON.parse((await run({ ...at, by: 'pool', since: '2026-03-01', until: '2026-03-01', json: true })).stdout).data;
    expect(pools.map((r: { key: string }) => r.key)).toEqual(['(unknown)', 'eu/llama', 'us/llama']);
    expect(pools.find((r: { key: string }) => r.key === 'us/llama')).toMatchObject({ usd: 15, utilisation: 0, idle_usd: 15, output_tokens: 0 });
    const regions = JSON.parse((await run({ ...at, by: 'region', since: '2026-03-01', until: '2026-03-01', json: true })).stdout).data;
    expect(regions.map((r: { key: string }) => r.key)).toEqual(['(unknown)', 'eu', 'us']);
    const tenants = JSON.parse((await run({ ...at, by: 'tenant', since: '2026-03-01', until: '2026-03-01', json: true })).stdout);
    expect(tenants.data.map((r: { key: string }) => r.key)).toEqual(['(idle)', expect.stringMatching(/^ten_/)]);
    expect(tenants.data[0].usd).toBeCloseTo(15, 6);
    expect(tenants.data[1].usd).toBeCloseTo(24 * 2.99, 6);
    expect(tenants.total.usd).toBeCloseTo(24 * 2.99 + 15, 6);
  });

  it('prints a table with a total row', async () => {
    const { stdout } = await run({ ...at, by: 'pool', since: '2026-03-02', until: '2026-03-02' });
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^day\s+pool\s+USD\s+GPU-h\s+util %\s+idle USD\s+tokens in\s+tokens out\s+\$\/M in\s+\$\/M out$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^2026-03-02\s+eu\/llama\s+17\.9400\s+6\.00\s+58\.3\s+7\.4750\s+500000\s+50000\s+\d+\.\d{4}\s+\d+\.\d{4}$/),
      expect.stringMatching(/^total\s+17\.9400\s+6\.00\s+58\.3\s+7\.4750\s+500000\s+50000\s+\d+\.\d{4}\s+\d+\.\d{4}$/),
    ]);
  });

  it('defaults to the 7 days ending today (UTC), and --days N to the N ending today', async () => {
    const week = JSON.parse((await run({ ...at, json: true })).stdout);
    expect(week).toMatchObject({ since: '2026-02-24', until: '2026-03-02' });
    // the usage record of 2026-02-28 23:59:59.999 is in the week
    expect(week.total.output_tokens).toBe(250_007);
    const today = JSON.parse((await run({ ...at, days: '1', json: true })).stdout);
    expect(today).toMatchObject({ since: '2026-03-02', until: '2026-03-02' });
    expect(today.data.map((r: { day: string }) => r.day)).toEqual(['2026-03-02']);
  });

  it('prints with --json the body the admin API answers for the same window (but its type)', async () => {
    const store = await openStore(`sqlite:${join(dir, 'switchyard.db')}`);
    try {
      const route = createCostRoutes({ store, clock: { nowMs: () => NOW, monoMs: () => 0 }, weights: profileWeights(), live: null });
      for (const by of ['model', 'tenant'] as const) {
        const cli = JSON.parse((await run({ ...at, by, since: '2026-03-01', until: '2026-03-02', json: true })).stdout);
        const api = await route({ admin: true } satisfies Caller, 'GET', '/admin/v1/costs', new URLSearchParams({ by, since: '2026-03-01', until: '2026-03-02' }));
        expect(api.status).toBe(200);
        const { type, ...body } = JSON.parse(api.body) as Record<string, unknown>;
        expect(type).toBe('costs');
        expect(cli).toEqual(body);
        expect(cli.data.length).toBeGreaterThan(0);
      }
    } finally {
      await store.close();
    }
  });

  it('takes --since alone up to today, and a --since after today as that one day', async () => {
    expect(JSON.parse((await run({ ...at, since: '2026-02-27', json: true })).stdout)).toMatchObject({ since: '2026-02-27', until: '2026-03-02' });
    expect(JSON.parse((await run({ ...at, since: '2026-03-05', json: true })).stdout)).toMatchObject({ since: '2026-03-05', until: '2026-03-05', data: [] });
  });

  it('says so when the window holds nothing', async () => {
    const r = await run({ dataDir: empty, days: '3' });
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('no replica time or usage from 2026-02-28 to 2026-03-02');
  });

  it.each([
    { why: 'an unknown grouping', o: { by: 'gpu' }, says: "--by expects one of model, pool, region, tenant, got 'gpu'" },
    { why: '--days with --since', o: { days: '3', since: '2026-03-01' }, says: '--days counts back from today; give it or --since/--until, not both' },
    { why: 'a --days that is not a whole number of days', o: { days: '1.5' }, says: "--days expects a whole number of days from 1 to 366, got '1.5'" },
    { why: 'a --days written as an exponent', o: { days: '1e2' }, says: "--days expects a whole number of days from 1 to 366, got '1e2'" },
    { why: 'an empty --days', o: { days: '' }, says: "--days expects a whole number of days from 1 to 366, got ''" },
    { why: 'a --since so far back the window is too long', o: { since: '1970-01-01' }, says: 'at most 366 days at once' },
    { why: 'a date that is not a day', o: { since: '2026-02-30' }, says: "--since expects a UTC date such as 2026-01-31, got '2026-02-30'" },
    { why: 'a window that ends before it starts', o: { since: '2026-03-02', until: '2026-03-01' }, says: '--since 2026-03-02 is after --until 2026-03-01' },
    { why: 'more than a year at once', o: { since: '2024-01-01', until: '2026-01-01' }, says: 'at most 366 days at once' },
  ])('refuses $why with a message naming the flag', async ({ o, says }) => {
    const p = run({ ...at, ...o });
    await expect(p).rejects.toThrow(ConfigError);
    await expect(p).rejects.toThrow(says);
  });
});
