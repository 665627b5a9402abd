import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { DEMO_TENANT_ID } from '../../src/ledger/index.js';
import { scriptedPlatform } from '../gateway/support.js';

// End to end: requests settled by the gateway reach the ledger with their tenant's tier, and the
// roll-up counts them as they were answered.
const KEY = 'sk-sy-ledger-rollup-gateway-key-0000000000000';
const completion = JSON.stringify({ id: 'c', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

let p: Platform;
beforeAll(async () => {
  p = await scriptedPlatform({
    key: KEY,
    replica: (q, s) => {
      if (q.method === 'GET') return void s.end('');
      q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
    },
  });
});
afterAll(async () => {
  await p?.close();
});

const chat = async (model: string) => {
  const r = await fetch(`${p.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.text();
  return r.status;
};

describe('usage the gateway settles', () => {
  it('is recorded under the tenant’s tier and rolled up per minute and per day', async () => {
    expect([await chat('llama-3.1-8b'), await chat('llama-3.1-8b'), await chat('no-such-model')]).toEqual([200, 200, 404]);
    await p.ledger.flush();
    const tier = (await p.store.getTenant(DEMO_TENANT_ID))!.tier;
    const records = await p.store.queryUsage({ tenantId: DEMO_TENANT_ID });
    expect(records.map((r) => r.tier)).toEqual([tier, tier, tier]);
    const days = await p.store.usageDays({ since: 0, tenantId: DEMO_TENANT_ID, model: 'llama-3.1-8b' });
    expect(days.map((d) => [d.tier, d.requests, d.succeeded, d.inputTokens, d.outputTokens])).toEqual([[tier, 2, 2, 14, 6]]);
    const minutes = await p.store.usageMinutes({ since: 0, tier });
    expect(minutes.reduce((n, m) => n + m.requests, 0)).toBe(3);
    expect(minutes.reduce((n, m) => n + m.clientErrors, 0)).toBe(1);
  });
});
