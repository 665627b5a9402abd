import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetRegistry, HealthProber } from '../../src/fleet/index.js';

let status = 200;
let server: Server;
let url: string;
beforeAll(async () => {
  server = createServer((req, res) => {
    // status 0: a replica too busy to answer in time (its answer comes long after the probe gave up)
    if (req.url === '/health') status === 0 ? setTimeout(() => res.writeHead(200).end(), 1_000) : res.writeHead(status).end();
    else res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe('health probes', () => {
  it('take a replica whose /health fails out of rotation, and bring it back when it passes', async () => {
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'a', model: 'm', servedModel: 'm', region: 'x', url });
    const changes: boolean[] = [];
    const prober = new HealthProber(fleet, { intervalMs: 60_000, timeoutMs: 500, onChange: (_r, h) => changes.push(h) });
    status = 503;
    await prober.probeAll();
    expect(r.healthy).toBe(false);
    expect(r.consecutiveFailures).toBe(1);
    await prober.probeAll();
    expect(r.consecutiveFailures).toBe(2);
    status = 200;
    await prober.probeAll();
    expect(r.healthy).toBe(true);
    expect(r.consecutiveFailures).toBe(0);
    expect(changes).toEqual([false, true]);
  });

  it('keep a replica that fails to answer in time in rotation until it has missed the threshold in a row', async () => {
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'slow', model: 'm', servedModel: 'm', region: 'x', url });
    const changes: boolean[] = [];
    const prober = new HealthProber(fleet, { intervalMs: 60_000, timeoutMs: 100, unhealthyThreshold: 3, onChange: (_r, h) => changes.push(h) });
    try {
      status = 0;
      await prober.probeAll();
      await prober.probeAll();
      // two probes without an answer: still serving, counted
      expect(r).toMatchObject({ healthy: true, routable: true, consecutiveFailures: 2 });
      status = 200;
      await prober.probeAll();
      expect(r.consecutiveFailures).toBe(0);
      // an answer resets the count: three more misses are needed, and the third takes it out
      status = 0;
      for (let i = 0; i < 2; i++) await prober.probeAll();
      expect(r.healthy).toBe(true);
      await prober.probeAll();
      expect(r).toMatchObject({ healthy: false, routable: false, consecutiveFailures: 3 });
      expect(changes).toEqual([false]);
    } finally {
      status = 200;
    }
  });

  it('take a replica out at once when its /health answers an error, whatever the threshold', async () => {
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'down', model: 'm', servedModel: 'm', region: 'x', url });
    status = 503;
    try {
      await new HealthProber(fleet, { intervalMs: 60_000, timeoutMs: 500, unhealthyThreshold: 3 }).probeAll();
      expect(r.healthy).toBe(false);
    } finally {
      status = 200;
    }
  });

  it('take a replica whose address refuses connections out at once, whatever the threshold', async () => {
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'gone', model: 'm', servedModel: 'm', region: 'x', url: 'http://127.0.0.1:1' });
    await new HealthProber(fleet, { intervalMs: 60_000, timeoutMs: 300, unhealthyThreshold: 3 }).probeAll();
    expect(r.healthy).toBe(false);
  });

  it('count an unreachable replica as failed within the probe timeout', async () => {
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'b', model: 'm', servedModel: 'm', region: 'x', url: 'http://127.0.0.1:1' });
    const t0 = Date.now();
    await new HealthProber(fleet, { intervalMs: 60_000, timeoutMs: 300 }).probeAll();
    expect(r.healthy).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});

describe('the fleet registry', () => {
  it('lists replicas by model, in the order they were added, and nothing for an unknown model', () => {
    const fleet = new FleetRegistry();
    fleet.add({ id: '1', model: 'a', servedModel: 'a', region: 'x', url });
    fleet.add({ id: '2', model: 'b', servedModel: 'b', region: 'x', url });
    fleet.add({ id: '3', model: 'a', servedModel: 'a', region: 'y', url });
    expect(fleet.replicasOf('a').map((r) => r.id)).toEqual(['1', '3']);
    expect(fleet.replicasOf('zzz')).toEqual([]);
    expect(fleet.all).toHaveLength(3);
  });
});

describe('#11 – a replica that recovered from a hang', () => {
  it('is not ejected by the late failures of requests stuck during the hang, only by failures of requests sent since', async () => {
    const { FleetWatch } = await import('../../src/fleet/index.js');
    const { outlierSchema } = await import('../../src/config/index.js');
    const fleet = new FleetRegistry();
    const r = fleet.add({ id: 'hung', model: 'm', servedModel: 'm', region: 'x', url });
    fleet.add({ id: 'peer', model: 'm', servedModel: 'm', region: 'x', url: 'http://127.0.0.1:1' });
    const events: string[] = [];
    const watch = new FleetWatch(fleet, {
      healthIntervalMs: 20, healthTimeoutMs: 500, scrapeIntervalMs: 0,
      outlier: outlierSchema.parse({}), onEvent: (e) => events.push(`${e.kind}:${e.replica.id}`),
    });
    status = 503; // hung: its health check fails while requests sit on it
    const sentDuringHang = Date.now();
    await watch.start();
    try {
      expect(r.healthy).toBe(false);
      status = 200;
      const t0 = Date.now();
      while (!r.healthy && Date.now() - t0 < 3_000) await new Promise((res) => setTimeout(res, 10));
      expect(r.healthy).toBe(true);
      // the stuck requests time out now, long after the replica came back
      for (let i = 0; i < 10; i++) watch.failure(r, sentDuringHang);
      expect(r.routable).toBe(true);
      expect(events.filter((e) => e.startsWith('ejected'))).toEqual([]);
      // new requests that fail still count
      for (let i = 0; i < 5; i++) watch.failure(r, Date.now());
      expect(events).toContain('ejected:hung');
    } finally {
      watch.stop();
    }
  });
});
