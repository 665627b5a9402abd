import { describe, expect, it } from 'vitest';
import { scriptedPlatform } from '../gateway/support.js';

// The SLO tracker wired into a real gateway: requests through the HTTP API settle into it, the
// replica starts answering 500, and the 1h/5m page shows firing on /admin/v1/slo and on /metrics.
// The platform has just started, so its windows hold only the seconds of this test: the first
// failures are a large share of them, which is what burning fast means, with the real 99.9 %
// objective and the real windows. (The timing against a long steady history is the virtual-clock
// spec's, test/observe/slo/detection.test.ts.)

const KEY = 'sk-sy-slo-live-test-key-000000000000000000000';
const ADMIN = 'slo-live-admin-token';
const completion = JSON.stringify({
  id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm',
  choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
});

interface SloJson { name: string; valid?: number; good?: number; bad_ratio: number; alerts: Array<{ rule: string; firing: boolean; since: string | null }> }

describe('SLOs on a live gateway', () => {
  it('pages on /admin/v1/slo and /metrics as soon as the replica fails, and scopes the view to the caller', async () => {
    let failing = false;
    const p = await scriptedPlatform({
      key: KEY, adminToken: ADMIN,
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end();
        q.resume().on('end', () => {
          if (failing) s.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"engine crashed"}}');
          else s.writeHead(200, { 'content-type': 'application/json' }).end(completion);
        });
      },
      configure: (c) => {
        c.slos = [
          { kind: 'availability', name: 'chat-availability', model: '*', tier: '*', objective: 0.999, windowDays: 30 },
          { kind: 'availability', name: 'free-availability', model: '*', tier: 'free', objective: 0.99, windowDays: 30 },
        ];
      },
    });
    const admin = { authorization: `Bearer ${ADMIN}` };
    const chat = async (): Promise<number> => {
      const res = await fetch(`${p.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.text();
      return res.status;
    };
    const slo = async (headers: Record<string, string> = admin) => {
      const res = await fetch(`${p.url}/admin/v1/slo`, { headers });
      expect(res.status).toBe(200);
      return (await res.json() as { data: SloJson[] }).data;
    };
    const page = (s: SloJson) => s.alerts.find((a) => a.rule === '1h-5m')!;
    try {
      for (let i = 0; i < 20; i++) expect(await chat()).toBe(200);
      let [availability] = await slo();
      expect(availability).toMatchObject({ name: 'chat-availability', valid: 20, good: 20, bad_ratio: 0 });
      expect(page(availability).firing).toBe(false);

      failing = true;
      const outage = Date.now();
      let detectedMs: number | null = null;
      for (let i = 0; i < 50 && detectedMs === null; i++) {
        expect(await chat()).toBeGreaterThanOrEqual(500);
        [availability] = await slo();
        if (page(availability).firing) detectedMs = Date.now() - outage;
      }
      console.log(`live gateway: the 1h-5m page showed on /admin/v1/slo ${detectedMs} ms after the replica started failing`);
      expect(detectedMs).not.toBeNull();
      expect(detectedMs!).toBeLessThan(52_000);
      expect(Date.parse(page(availability).since!)).toBeGreaterThanOrEqual(outage - 1);
      expect(availability.valid! - availability.good!).toBeGreaterThan(0);

      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      expect(metrics).toContain('switchyard_slo_alert_firing{slo="chat-availability",severity="page",rule="1h-5m"} 1');
      expect(metrics).toContain(`switchyard_slo_events_total{slo="chat-availability",result="bad"} ${availability.valid! - availability.good!}`);
      expect(metrics).toContain('switchyard_slo_events_total{slo="chat-availability",result="good"} 20');
      expect(metrics).toContain('switchyard_slo_objective_ratio{slo="chat-availability"} 0.999');

      // the demo tenant is on the default tier: the `*` SLO only, without counts
      const mine = await slo({ 'x-api-key': KEY });
      expect(mine.map((s) => s.name)).toEqual(['chat-availability']);
      expect(mine[0]).not.toHaveProperty('valid');
      expect(page(mine[0]).firing).toBe(true);

      const none = await fetch(`${p.url}/admin/v1/slo`);
      expect(none.status).toBe(401);
      expect((await none.json() as { error: { type: string } }).error.type).toBe('authentication_error');
      const post = await fetch(`${p.url}/admin/v1/slo`, { method: 'POST', headers: admin });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET');
    } finally {
      await p.close();
    }
  });
});
