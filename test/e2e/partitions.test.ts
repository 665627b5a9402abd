import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blackholeProxy, type Blackhole } from '../ledger/blackhole.js';
import { ADMIN_TOKEN, DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// Issue 11, end to end: the real `switchyard up` on PostgreSQL through a TCP proxy that can go
// silent. Traffic, then a partition (traffic still answered: known keys and the ledger's buffer
// need no database), then SIGTERM: the process exits within the final flush's deadline, spilling
// what it could not write. Restarted with PostgreSQL healthy, it replays the spill: every answered
// request has its usage record, none twice. Needs the real PostgreSQL; fails if it is down.

const PG = new URL(process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test');
const schema = `sy_e2e_part_${process.pid}_${randomBytes(3).toString('hex')}`;
const killSchema = `${schema}_kill`;
const FINAL_FLUSH_MS = 2_000;
const STORE_TIMEOUT_MS = 1_000;
const completion = JSON.stringify({
  id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
});
const config = `
fleet: { scrapeIntervalMs: 0 }
ledger: { timeoutMs: ${STORE_TIMEOUT_MS}, finalFlushMs: ${FINAL_FLUSH_MS} }
`;

let replica: Server;
let proxy: Blackhole;
const running: Running[] = [];

beforeAll(async () => {
  replica = createServer((q, s) => {
    if (q.method === 'GET') return void s.end();
    q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
  });
  await new Promise<void>((r) => replica.listen(0, '127.0.0.1', r));
  proxy = await blackholeProxy(PG.hostname, Number(PG.port || 5432));
});

afterAll(async () => {
  await Promise.all(running.map((r) => r.stop('SIGKILL')));
  replica?.closeAllConnections();
  replica?.close();
  await proxy?.close();
  const c = new pg.Client({ connectionString: PG.toString() });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.query(`DROP SCHEMA IF EXISTS "${killSchema}" CASCADE`);
  await c.end();
});

async function ask(url: string, key = DEMO_KEY): Promise<{ status: number; requestId: string | null; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, requestId: res.headers.get('x-request-id'), ms: performance.now() - t0 };
}

/** n requests, `width` at a time; the ids of those answered 200 */
async function traffic(url: string, n: number, width = 8): Promise<string[]> {
  const ids: string[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next++ < n) {
      const r = await ask(url);
      expect(r.status).toBe(200);
      ids.push(r.requestId!);
    }
  }));
  return ids;
}

/** how many of these request ids have a usage record, and how many records there are */
async function inStore(inSchema: string, ids: string[]): Promise<{ found: number; total: number }> {
  const c = new pg.Client({ connectionString: PG.toString() });
  await c.connect();
  try {
    const found: number = (await c.query(`SELECT count(*)::int AS n FROM "${inSchema}".usage_records WHERE request_id = ANY($1::text[])`, [ids])).rows[0].n;
    const total: number = (await c.query(`SELECT count(*)::int AS n FROM "${inSchema}".usage_records`)).rows[0].n;
    return { found, total };
  } finally {
    await c.end();
  }
}

describe('#11 – a PostgreSQL partition and a SIGTERM lose no usage record', () => {
  it('exits within the final-flush deadline, spills what it could not write, and replays it on the next start', async () => {
    const via = new URL(PG.toString());
    via.port = String(proxy.port);
    via.searchParams.set('schema', schema);
    const replicaUrl = `http://127.0.0.1:${(replica.address() as AddressInfo).port}`;
    const args = ['--store', via.toString(), '--replica', `llama-3.1-8b=${replicaUrl}`];
    const first = await startSwitchyard({ args, config });
    running.push(first);

    const before = await traffic(first.url, 150);
    proxy.partition();
    const during = await traffic(first.url, 338);

    // an unknown key cannot be checked: 503 with retry-after, soon, not a hang (nor a 401)
    const unknown = await ask(first.url, 'sk-sy-not-a-key-anyone-has-0123456789abcdef');
    expect(unknown.status).toBe(503);
    // (at worst: a wait for a pooled connection, then the query's own deadline)
    expect(unknown.ms).toBeLessThan(STORE_TIMEOUT_MS * 3 + 2_000);
    // an admin read comes back within the store's deadline
    const t0 = performance.now();
    const adminRead = await fetch(`${first.url}/admin/v1/tenants`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    await adminRead.arrayBuffer();
    expect(adminRead.status).toBeGreaterThanOrEqual(500);
    expect(performance.now() - t0).toBeLessThan(STORE_TIMEOUT_MS * 3 + 2_000);

    const stopAt = performance.now();
    const code = await first.stop('SIGTERM');
    const exitMs = performance.now() - stopAt;
    running.pop();
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan(FINAL_FLUSH_MS + 3_000);
    const spillFile = join(first.dataDir, 'ledger-spill.jsonl');
    expect(existsSync(spillFile)).toBe(true);
    expect(statSync(spillFile).mode & 0o777).toBe(0o600);
    expect(first.output()).toMatch(/spilled to/);

    proxy.heal();
    const second = await startSwitchyard({ args: [...args, '--data-dir', first.dataDir], config });
    running.push(second);
    expect(existsSync(spillFile)).toBe(false);

    const answered = [...before, ...during];
    const { found, total } = await inStore(schema, answered);
    const lost = answered.length - found;
    console.info(`#11 PostgreSQL partition + SIGTERM: ${answered.length} requests answered (${during.length} during the partition), ${found} usage records in the store after the restart, ${lost} lost; SIGTERM exit in ${Math.round(exitMs)} ms (final flush deadline ${FINAL_FLUSH_MS} ms)`);
    expect(lost).toBe(0);
    expect(total).toBe(answered.length); // once each: the replay skipped ids already written
    await second.stop('SIGTERM');
    running.pop();
  }, 90_000);

  it('loses none to a SIGKILL either, once the store has been failing for a few seconds (the buffer is copied to the spill file)', async () => {
    const via = new URL(PG.toString());
    via.port = String(proxy.port);
    via.searchParams.set('schema', killSchema);
    const args = ['--store', via.toString(), '--replica', `llama-3.1-8b=http://127.0.0.1:${(replica.address() as AddressInfo).port}`];
    const first = await startSwitchyard({ args, config });
    running.push(first);
    const before = await traffic(first.url, 50);
    proxy.partition();
    const during = await traffic(first.url, 200);
    // past the writer's copyAfterMs (1 s) of a write waiting on the store, with room for a busy box
    await new Promise((r) => setTimeout(r, 6_000));
    const late = await traffic(first.url, 20);
    await new Promise((r) => setTimeout(r, 500));
    expect(await first.stop('SIGKILL')).toBe(null);
    running.pop();
    proxy.heal();
    const second = await startSwitchyard({ args: [...args, '--data-dir', first.dataDir], config });
    running.push(second);
    const answered = [...before, ...during, ...late];
    const { found, total } = await inStore(killSchema, answered);
    console.info(`#11 PostgreSQL partition + SIGKILL: ${answered.length} answered, ${answered.length - found} lost`);
    expect(found).toBe(answered.length);
    expect(total).toBe(answered.length);
    await second.stop('SIGTERM');
    running.pop();
  }, 90_000);
});
