import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Platform } from '../../src/gateway/index.js';
import { scriptedPlatform } from './support.js';

// One refusal path: every authenticated request the gateway turns away before a replica is
// answered in its client's wire format and gets its one usage record (a failed anthropic-version
// check and a body that is not JSON used to get none). A request with no valid key gets none: it
// belongs to nobody.
const KEY = 'sk-sy-gateway-refusals-test-key-0000000000000';
const ADMIN = 'refusals-admin-token';
const MODEL = 'llama-3.1-8b';

let p: Platform;

beforeAll(async () => {
  p = await scriptedPlatform({ key: KEY, adminToken: ADMIN, replica: (_q, s) => void s.writeHead(500).end() });
});

afterAll(async () => {
  await p?.close();
});

async function ledgerRow(requestId: string): Promise<any> {
  for (let i = 0; i < 50; i++) {
    await p.ledger.flush().catch(() => {});
    for (const t of await p.store.listTenants()) {
      const row = (await p.store.queryUsage({ tenantId: t.id, limit: 1000 })).find((r) => r.requestId === requestId);
      if (row) return row;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return undefined;
}

const body = JSON.stringify({ model: MODEL, max_tokens: 8, messages: [{ role: 'user', content: 'hi' }] });

describe('a refused request, once its key is known, is answered and recorded', () => {
  it.each([
    ['anthropic-version missing', { 'x-api-key': KEY, 'content-type': 'application/json' }, body, 400, /anthropic-version: header is required/],
    ['anthropic-version malformed', { 'x-api-key': KEY, 'anthropic-version': 'yesterday', 'content-type': 'application/json' }, body, 400, /not a valid version/],
    ['a body declared as a form', { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/x-www-form-urlencoded' }, body, 400, /must be JSON/],
    ['a body that does not parse', { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, '{"model":', 400, /./],
    ['a model not served here', { 'x-api-key': KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' }, body.replace(MODEL, 'nope'), 404, /not served here/],
  ])('%s: its error in the Anthropic envelope, and a client_error row with its status', async (_why, headers, b, status, message) => {
    const res = await fetch(`${p.url}/v1/messages`, { method: 'POST', headers, body: b });
    expect(res.status).toBe(status);
    const id = res.headers.get('request-id')!;
    const json = await res.json();
    expect(json).toMatchObject({ type: 'error', request_id: id });
    expect(json.error.message).toMatch(message);
    const row = await ledgerRow(id);
    expect(row).toMatchObject({ requestId: id, status, outcome: 'client_error', replica: null, costUsd: 0, wire: 'anthropic' });
  });

  it('an OpenAI request refused for its priority header is recorded the same way', async () => {
    const res = await fetch(`${p.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'x-switchyard-priority': 'urgent' }, body,
    });
    expect(res.status).toBe(400);
    const row = await ledgerRow(res.headers.get('x-request-id')!);
    expect(row).toMatchObject({ status: 400, outcome: 'client_error', model: MODEL, wire: 'openai' });
  });

  it('a request with no valid key is answered 401 and not recorded', async () => {
    const res = await fetch(`${p.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': 'sk-sy-wrong', 'anthropic-version': '2023-06-01' }, body });
    expect(res.status).toBe(401);
    expect(await ledgerRow(res.headers.get('request-id')!)).toBeUndefined();
  });
});

describe('the admin API over HTTP names the request in every error body', () => {
  it.each([
    ['an unknown tenant', 'GET', '/admin/v1/tenants/ten_missing', ADMIN, 404],
    ['no credentials', 'GET', '/admin/v1/tenants', null, 401],
    ['an unknown replica', 'GET', '/admin/v1/fleet/replicas/nope', ADMIN, 404],
    ['a method the fleet does not take', 'DELETE', '/admin/v1/fleet', ADMIN, 405],
  ])('%s: request_id is the request-id header', async (_why, method, path, token, status) => {
    const res = await fetch(`${p.url}${path}`, { method, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(status);
    const json = await res.json();
    expect(json.type).toBe('error');
    expect(json.request_id).toBe(res.headers.get('request-id'));
  });
});
