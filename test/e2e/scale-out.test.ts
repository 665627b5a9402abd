import Anthropic from '@anthropic-ai/sdk';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_KEY, startSwitchyard, type Running } from './harness.js';

// Three real gateway processes sharing one Redis (rate limits) and one PostgreSQL (tenants, keys,
// ledger), in front of one replica. A burst spread over all three must be admitted, in total, within
// 2 % of the tier's limit, and every request — admitted or refused — must reach the shared ledger.
// Both databases are the real ones on this machine; if either is down these tests fail.

const PG = process.env.SWITCHYARD_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.SWITCHYARD_TEST_REDIS ?? 'redis://127.0.0.1:6379/0';
const RPM = 300;
const BURST = 600;
const schema = `sy_e2e_${process.pid}_${randomBytes(3).toString('hex')}`;
const prefix = `sy:e2e:${randomBytes(4).toString('hex')}:`;
const usage = { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 };
const completion = JSON.stringify({ id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage });

let replica: Server;
const gateways: Running[] = [];

const config = `
tiers:
  default: { requestsPerMinute: ${RPM}, inputTokensPerMinute: 100000000, outputTokensPerMinute: 100000000 }
limits: { backend: redis, redisUrl: "${REDIS}", redisKeyPrefix: "${prefix}", failMode: closed }
fleet: { scrapeIntervalMs: 0 }
# this replica answers at once: the burst is about rate limits, not about queueing for the replica
admission: { maxInflightPerReplica: 1000 }
`;

beforeAll(async () => {
  replica = createServer((q, s) => {
    if (q.method === 'GET') return void s.end();
    q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
  });
  await new Promise<void>((r) => replica.listen(0, '127.0.0.1', r));
  const args = ['--store', `${PG}?schema=${schema}`, '--replica', `llama-3.1-8b=http://127.0.0.1:${(replica.address() as AddressInfo).port}`];
  // the first one migrates the new schema and makes the demo tenant; the others find them
  gateways.push(await startSwitchyard({ args, config }));
  gateways.push(...(await Promise.all([startSwitchyard({ args, config }), startSwitchyard({ args, config })])));
}, 120_000);

afterAll(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  replica?.closeAllConnections();
  replica?.close();
  const c = new pg.Client({ connectionString: PG });
  await c.connect();
  await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await c.end();
});

const body = JSON.stringify({ model: 'llama-3.1-8b', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });
const post = (url: string) => fetch(`${url}/v1/messages`, {
  method: 'POST', body,
  headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': DEMO_KEY },
}).then(async (r) => {
  const text = await r.text();
  if (r.status !== 200 && r.status !== 429) unexpected.push(`${r.status} ${text}`);
  return r.status;
});
// what the answers other than 200 and 429 said, so a failure says why
const unexpected: string[] = [];

describe('three gateways sharing Redis and PostgreSQL', () => {
  it('admit a burst, in total, within 2 % of the tier\'s limit, and ledger every request in PostgreSQL', async () => {
    const t0 = performance.now();
    const statuses = await Promise.all(Array.from({ length: BURST }, (_, i) => post(gateways[i % 3].url)));
    const seconds = (performance.now() - t0) / 1000;
    const admitted = statuses.filter((s) => s === 200).length;
    const limited = statuses.filter((s) => s === 429).length;
    expect(unexpected, `gateway logs:\n${gateways.map((g) => g.output().slice(-1500)).join('\n')}`).toEqual([]);
    // a full bucket of RPM, plus what refilled (RPM / 60 a second) while the burst lasted
    const allowed = RPM + (RPM / 60) * seconds;
    console.log(`[scale-out] ${BURST} requests over 3 gateways in ${seconds.toFixed(2)} s: ${admitted} admitted, ${limited} limited; bucket + refill = ${allowed.toFixed(1)}`);
    expect(admitted).toBeGreaterThanOrEqual(Math.floor(RPM * 0.98));
    expect(admitted).toBeLessThanOrEqual(allowed * 1.02);
    // each gateway admitted some: the bucket is shared, not one gateway's alone
    const per = [0, 1, 2].map((g) => statuses.filter((s, i) => i % 3 === g && s === 200).length);
    expect(per.every((n) => n > 0)).toBe(true);

    // every request reached the one ledger (the gateways flush on shutdown)
    await Promise.all(gateways.map((g) => g.stop()));
    const c = new pg.Client({ connectionString: PG });
    await c.connect();
    try {
      const rows = (await c.query(`SELECT status, COUNT(*)::int AS n FROM "${schema}".usage_records GROUP BY status ORDER BY status`)).rows as Array<{ status: number; n: number }>;
      expect(rows).toEqual([{ status: 200, n: admitted }, { status: 429, n: limited }]);
    } finally {
      await c.end();
    }
  }, 120_000);
});

describe('rate-limit headers across gateways', () => {
  it('count down one shared bucket whichever gateway answers', async () => {
    // a fresh prefix: a bucket of its own, full
    const p2 = `sy:e2e:${randomBytes(4).toString('hex')}:`;
    const cfg = config.replace(prefix, p2);
    const args = ['--store', `${PG}?schema=${schema}`, '--replica', `llama-3.1-8b=http://127.0.0.1:${(replica.address() as AddressInfo).port}`];
    const [a, b] = await Promise.all([startSwitchyard({ args, config: cfg }), startSwitchyard({ args, config: cfg })]);
    gateways.push(a, b);
    const ca = new Anthropic({ baseURL: a.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const cb = new Anthropic({ baseURL: b.url, apiKey: DEMO_KEY, maxRetries: 0 });
    const ask = (c: Anthropic) => c.messages.create({ model: 'llama-3.1-8b', max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    const r1 = await ask(ca);
    const r2 = await ask(cb);
    const r3 = await ask(ca);
    const left = [r1, r2, r3].map((r) => Number(r.response.headers.get('anthropic-ratelimit-requests-remaining')));
    expect(left).toEqual([RPM - 1, RPM - 2, RPM - 3]);
  }, 120_000);
});
