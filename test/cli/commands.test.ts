import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type UsageRecord } from '../../src/ledger/index.js';

// The built CLI (bin/switchyard.js → dist/), run as a user runs it; build first:
// npx tsc -p tsconfig.build.json

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'switchyard.js');
const PG = 'postgres://postgres@127.0.0.1:5432/test';

interface Run { code: number; stdout: string; stderr: string }

function run(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const noStack = (r: Run) => expect(r.stderr).not.toMatch(/^\s+at /m);

describe.concurrent('switchyard itself', () => {
  it('prints its version from package.json with --version', async () => {
    const r = await run('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'package.json'), 'utf8')).version);
  });

  it('#11 – `engine --profile nope` lists the profiles and exits 2, without a stack trace', async () => {
    const r = await run('engine', '--model', 'm', '--port', '0', '--profile', 'nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown engine profile 'nope'; the profiles are:");
    expect(r.stderr).toContain('llama-3.1-8b-h100');
    noStack(r);
  });

  it('#11 – refuses a config with an unknown key, naming the nearest one, with exit 2 and no stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-'));
    writeFileSync(join(dir, 'c.yaml'), 'limit: { backend: redis }\n');
    const r = await run('up', '--config', join(dir, 'c.yaml'), '--data-dir', dir, '--port', '0');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown key `limit` at the top level — did you mean `limits`?');
    noStack(r);
  });
});

describe('keys and tenants from the command line (SQLite in --data-dir)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-keys-'));
  const at = ['--data-dir', dir];
  let keyId: string;
  let secret: string;

  beforeAll(async () => {
    const made = await run('keys', 'create', '--tenant', 'acme', '--name', 'ci', '--priority', 'batch', ...at);
    expect(made.code, made.stderr).toBe(0);
    secret = made.stdout.trim();
    keyId = /key (key_\S+)/.exec(made.stderr)![1];
  });

  it('says there is no store rather than creating an empty one for a read', async () => {
    const r = await run('tenants', 'list', '--data-dir', join(dir, 'elsewhere'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no store at');
    noStack(r);
  });

  it('lists tenants as a table and as JSON', async () => {
    const table = await run('tenants', 'list', ...at);
    expect(table.stdout.split('\n')[0]).toMatch(/^id\s+name\s+tier\s+regions\s+created$/);
    expect(table.stdout).toMatch(/ten_\S+\s+acme\s+default\s+any\s+\d{4}-/);
    const json = JSON.parse((await run('tenants', 'list', '--json', ...at)).stdout);
    expect(json.data).toEqual([expect.objectContaining({ name: 'acme', tier: 'default', allowed_regions: null })]);
  });

  it('lists a tenant\'s keys by tenant name, with hints and never a secret', async () => {
    const r = await run('keys', 'list', '--tenant', 'acme', ...at);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(keyId);
    expect(r.stdout).toMatch(new RegExp(`${keyId}\\s+ci\\s+wrk_\\S+\\s+batch\\s+sk-sy-…${secret.slice(-4)}`));
    expect(r.stdout).not.toContain(secret);
  });

  it('refuses a tenant that does not exist, with exit 1 and the way to find one', async () => {
    const r = await run('keys', 'list', '--tenant', 'nobody', ...at);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no tenant 'nobody'; `switchyard tenants list` shows them");
    noStack(r);
  });

  it('rotates a key: a new secret printed once, same tenant, workspace, name and priority; the old one revoked; all audited', async () => {
    const r = await run('keys', 'rotate', keyId, ...at);
    expect(r.code, r.stderr).toBe(0);
    const fresh = r.stdout.trim();
    expect(fresh).toMatch(/^sk-sy-/);
    expect(fresh).not.toBe(secret);
    const keys = JSON.parse((await run('keys', 'list', '--tenant', 'acme', '--json', ...at)).stdout).data;
    const old = keys.find((k: any) => k.id === keyId);
    const next = keys.find((k: any) => k.id !== keyId);
    expect(old.revoked_at).not.toBeNull();
    expect(next).toMatchObject({ name: 'ci', priority: 'batch', workspace_id: old.workspace_id, revoked_at: null, hint: `sk-sy-…${fresh.slice(-4)}` });

    const store = await openStore(`sqlite:${join(dir, 'switchyard.db')}`);
    try {
      const audit = await store.listAudit({ tenantId: old.tenant_id });
      const mine = audit.filter((a) => a.actor === 'cli').map((a) => `${a.action} ${a.target}`);
      expect(mine).toEqual(expect.arrayContaining([`key.revoke ${keyId}`, `key.create ${next.id}`, `key.rotate ${keyId}`]));
      expect(audit.find((a) => a.action === 'key.rotate')?.after).toEqual({ key_id: next.id });
      // the new secret is the new key's; the old one no longer grants anything
      const { hashSecret } = await import('../../src/ledger/index.js');
      expect((await store.findKeyByHash(hashSecret(fresh)))?.key.id).toBe(next.id);
      expect((await store.findKeyByHash(hashSecret(secret)))?.key.revokedAt).not.toBeNull();
    } finally {
      await store.close();
    }
    const again = await run('keys', 'rotate', keyId, ...at);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`key ${keyId} is revoked`);
  });

  it('revokes a key once, audited, and says so when it already was', async () => {
    const made = await run('keys', 'create', '--tenant', 'acme', ...at);
    const id = /key (key_\S+)/.exec(made.stderr)![1];
    const r = await run('keys', 'revoke', id, ...at);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`key ${id} (sk-sy-…`);
    expect(r.stderr).toContain('revoked at');
    const twice = await run('keys', 'revoke', id, ...at);
    expect(twice.code).toBe(0);
    expect(twice.stderr).toContain(`key ${id} was already revoked at`);
    const store = await openStore(`sqlite:${join(dir, 'switchyard.db')}`);
    try {
      expect((await store.listAudit({ action: 'key.revoke', target: id })).map((a) => a.actor)).toEqual(['cli']);
    } finally {
      await store.close();
    }
    const unknown = await run('keys', 'revoke', 'key_nope', ...at);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no key key_nope');
  });
});

describe.concurrent('usage by model and day', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-usage-'));
  const at = ['--data-dir', dir];
  const DAY = 86_400_000;
  const d1 = Date.parse('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    expect((await run('keys', 'create', '--tenant', 'acme', ...at)).code).toBe(0);
    const store = await openStore(`sqlite:${join(dir, 'switchyard.db')}`);
    try {
      const [t] = await store.findTenantsByName('acme');
      const [k] = await store.listKeys(t.id);
      let n = 0;
      const rec = (startedAt: number, model: string, input: number, output: number, cost: number): UsageRecord => ({
        requestId: `req_${n++}`, startedAt, tenantId: t.id, workspaceId: k.workspaceId, keyId: k.id, tier: 'default', model, replica: null, region: null,
        wire: 'openai', stream: false, status: 200, outcome: 'ok', inputTokens: input, cachedInputTokens: 0, outputTokens: output,
        ttftMs: null, latencyMs: 5, costUsd: cost,
      });
      await store.insertUsage([
        rec(d1 + 1_000, 'small', 100, 10, 0.1), rec(d1 + 2_000, 'small', 200, 20, 0.2), rec(d1 + 3_000, 'big', 1_000, 100, 1),
        rec(d1 + DAY + 5, 'small', 50, 5, 0.05),
        rec(d1 - 1, 'small', 7, 7, 7), // the day before: outside the window
        rec(d1 + 2 * DAY, 'big', 9, 9, 9), // the day after
      ]);
    } finally {
      await store.close();
    }
  });

  it('sums a tenant\'s tokens and cost per UTC day and model, both dates included (--json)', async () => {
    const r = await run('usage', '--tenant', 'acme', '--since', '2026-03-01', '--until', '2026-03-02', '--json', ...at);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ since: '2026-03-01', until: '2026-03-02' });
    expect(out.data).toEqual([
      { day: '2026-03-01', model: 'big', requests: 1, input_tokens: 1_000, cached_input_tokens: 0, output_tokens: 100, cost_usd: 1 },
      { day: '2026-03-01', model: 'small', requests: 2, input_tokens: 300, cached_input_tokens: 0, output_tokens: 30, cost_usd: 0.3 },
      { day: '2026-03-02', model: 'small', requests: 1, input_tokens: 50, cached_input_tokens: 0, output_tokens: 5, cost_usd: 0.05 },
    ]);
    expect(out.total).toEqual({ requests: 4, input_tokens: 1_350, cached_input_tokens: 0, output_tokens: 135, cost_usd: 1.35 });
  });

  it('prints a table with a total row', async () => {
    const r = await run('usage', '--tenant', 'acme', '--since', '2026-03-01', '--until', '2026-03-01', ...at);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^day\s+model\s+requests\s+input tokens\s+cached input\s+output tokens\s+cost USD$/);
    expect(lines.slice(2)).toEqual([
      expect.stringMatching(/^2026-03-01\s+big\s+1\s+1000\s+0\s+100\s+1\.000000$/),
      expect.stringMatching(/^2026-03-01\s+small\s+2\s+300\s+0\s+30\s+0\.300000$/),
      expect.stringMatching(/^total\s+3\s+1300\s+0\s+130\s+1\.300000$/),
    ]);
  });

  it.each([
    { why: 'a date that is not a day', args: ['--since', '2026-02-30'], says: "--since expects a UTC date such as 2026-01-31, got '2026-02-30'" },
    { why: 'a window that ends before it starts', args: ['--since', '2026-03-02', '--until', '2026-03-01'], says: '--since 2026-03-02 is after --until 2026-03-01' },
    { why: 'more than a year at once', args: ['--since', '2024-01-01', '--until', '2026-01-01'], says: 'at most 366 days at once' },
  ])('refuses $why with exit 2', async ({ args, says }) => {
    const r = await run('usage', '--tenant', 'acme', ...args, ...at);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
    noStack(r);
  });
});

describe('the store commands on PostgreSQL (--store)', () => {
  const schema = `cli_${process.pid}_${Date.now()}`;
  const store = ['--store', `${PG}?schema=${schema}`];
  afterAll(async () => {
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    try {
      await c.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await c.end();
    }
  });

  it('creates, lists, rotates and revokes keys in the store --store names', async () => {
    const made = await run('keys', 'create', '--tenant', 'pg-tenant', ...store);
    expect(made.code, made.stderr).toBe(0);
    const id = /key (key_\S+)/.exec(made.stderr)![1];
    expect((await run('tenants', 'list', ...store)).stdout).toContain('pg-tenant');
    const rotated = await run('keys', 'rotate', id, ...store);
    expect(rotated.code, rotated.stderr).toBe(0);
    const keys = JSON.parse((await run('keys', 'list', '--tenant', 'pg-tenant', '--json', ...store)).stdout).data;
    expect(keys.map((k: any) => k.revoked_at === null)).toEqual([false, true]);
    expect((await run('usage', '--tenant', 'pg-tenant', '--json', ...store)).code).toBe(0);
  });
});

describe.concurrent('usage mistakes commander catches exit 2, like the commands\' own checks, with its message on stderr', () => {
  it.each([
    { why: 'a missing argument', args: ['rollout', 'pause', '--gateway', 'http://127.0.0.1:1', '--admin-token', 't'], says: "missing required argument 'id'" },
    { why: 'an unknown option', args: ['rollout', 'status', '--bogus'], says: "unknown option '--bogus'" },
    { why: 'an invalid value', args: ['up', '--port', '99999'], says: 'a port is an integer from 0 to 65535' },
    { why: 'a missing required flag', args: ['keys', 'create'], says: "required option '--tenant <tenant>' not specified" },
    { why: 'an unknown command', args: ['nosuch'], says: "unknown command 'nosuch'" },
    { why: 'an extra argument', args: ['keys', 'revoke', 'key_a', 'key_b'], says: 'too many arguments' },
  ])('$why', async ({ args, says }) => {
    const r = await run(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.stdout).toBe('');
    noStack(r);
  });

  it('--help and --version still exit 0, on stdout', async () => {
    for (const args of [['--help'], ['keys', 'create', '--help'], ['--version']]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(r.stdout).not.toBe('');
    }
  });
});

describe('keys create refusals: one line, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'sy-cli-create-'));
  const at = ['--data-dir', dir];
  beforeAll(async () => {
    expect((await run('keys', 'create', '--tenant', 'acme', ...at)).code).toBe(0);
  });

  it.each([
    { why: 'a tenant id that names nothing', args: ['--tenant', 'ten_doesnotexist'], code: 1, says: 'switchyard: tenant ten_doesnotexist not found; `switchyard tenants list` shows the tenants' },
    { why: 'a workspace id that names nothing', args: ['--tenant', 'acme', '--workspace', 'wrk_nope'], code: 1, says: 'switchyard: workspace wrk_nope not found; `switchyard keys list --tenant <tenant>` shows' },
    { why: 'an empty tenant', args: ['--tenant', ''], code: 2, says: 'switchyard: --tenant must name a tenant (its id or name)' },
    { why: 'a blank tenant', args: ['--tenant', '   '], code: 2, says: 'switchyard: --tenant must name a tenant (its id or name)' },
    { why: 'an empty workspace', args: ['--tenant', 'acme', '--workspace', ''], code: 2, says: 'switchyard: --workspace must name a workspace' },
    { why: 'a tenant name the store refuses', args: ['--tenant', 'x'.repeat(201)], code: 2, says: 'switchyard: tenant name must be at most 200 characters' },
  ])('$why → exit $code', async ({ args, code, says }) => {
    const r = await run('keys', 'create', ...args, ...at);
    expect(r.code).toBe(code);
    expect(r.stderr.startsWith(says), r.stderr).toBe(true);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    noStack(r);
  });

  it('refuses an empty tenant before it creates a store', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'sy-cli-create-empty-'));
    expect((await run('keys', 'create', '--tenant', '', '--data-dir', fresh)).code).toBe(2);
    expect((await run('tenants', 'list', '--data-dir', fresh)).stderr).toContain('no store at');
  });
});

describe.concurrent('what keys rotate says about the old key', () => {
  it('its help says running gateways refuse the old key within their key refresh, as revoke\'s does, and no longer "at once"', async () => {
    const rotate = await run('keys', 'rotate', '--help');
    const revoke = await run('keys', 'revoke', '--help');
    const flat = (s: string) => s.replace(/\s+/g, ' ');
    expect(flat(revoke.stdout)).toContain('running gateways refuse it within their 30 s key refresh');
    expect(flat(rotate.stdout)).toContain('running gateways refuse it within their 30 s key refresh');
    expect(flat(rotate.stdout)).not.toContain('at once');
  });

  it('a rotation tells the user when running gateways stop taking the old key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sy-cli-rotate-'));
    const made = await run('keys', 'create', '--tenant', 'acme', '--data-dir', dir);
    const id = /key (key_\S+)/.exec(made.stderr)![1];
    const r = await run('keys', 'rotate', id, '--data-dir', dir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`key ${id} revoked (running gateways refuse it within their key refresh, 30 s)`);
  });
});
