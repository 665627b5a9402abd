import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsScraper, type Telemetry } from '../../src/fleet/scraper.js';
import { ManualTime } from '../../src/time/index.js';

// The scraper hands a replica's whole /metrics text over for re-export when asked, and only when
// it is no longer than the bound: a huge exposition is read for its telemetry, not kept.

const SMALL = '# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{engine="0"} 2.0\n';
const LARGE = SMALL + `# TYPE vllm:padding gauge\n${'vllm:padding{x="y"} 1\n'.repeat(2_000)}`;

describe('the scraper\'s kept text', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((req, res) => res.writeHead(200).end(req.url === '/large/metrics' ? LARGE : SMALL));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  async function scrape(keepTextBytes: number | undefined): Promise<Map<string, Telemetry>> {
    const got = new Map<string, Telemetry>();
    const s = new MetricsScraper(() => [{ id: 'small', url }, { id: 'large', url: `${url}/large` }], {
      intervalMs: 1_000, timeoutMs: 2_000, clock: new ManualTime(0), ...(keepTextBytes === undefined ? {} : { keepTextBytes }),
      onSample: (t, sample) => void got.set(t.id, sample),
    });
    await s.scrapeAll();
    return got;
  }

  it('is the body as sent when it fits the bound, and absent when it does not (its telemetry is read either way)', async () => {
    const got = await scrape(4_096);
    expect(got.get('small')?.text).toBe(SMALL);
    expect(got.get('large')?.text).toBeUndefined();
    expect(got.get('large')?.running).toBe(2);
  });

  it('is never kept unless asked for', async () => {
    const got = await scrape(undefined);
    expect(got.get('small')?.running).toBe(2);
    expect(got.get('small')).not.toHaveProperty('text');
  });
});
