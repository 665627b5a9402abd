import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig, type Config } from '../../src/config/index.js';
import { DEFAULT_GPU_HOUR_USD, FALLBACK_GPU_HOUR_USD, profileWeights, splitCost } from '../../src/control/economics/index.js';
import { getProfile } from '../../src/engine/index.js';
import { FleetRegistry, type Replica } from '../../src/fleet/index.js';
import { CostStoreError, type LedgerWriter, type ReplicaTimeRecord, type UsageRecord } from '../../src/ledger/index.js';
import { createMetrics, type Logger } from '../../src/observe/index.js';
import { CostMeter, hardwareOf, type MeteredReplica } from '../../src/gateway/costs.js';
import { ManualTime } from '../../src/time/index.js';
import { scriptedPlatform } from './support.js';

// The gateway's cost meter on a manual clock: replica up and busy time per UTC day, priced from the
// configuration, written by the leader only and kept through a store outage; and the trailing
// hour's cost per million tokens, per pool and per tenant, as metrics.

const dir = mkdtempSync(join(tmpdir(), 'sy-costs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function config(extra: Record<string, unknown> = {}): Config {
  const file = join(dir, `c${files++}.yaml`);
  writeFileSync(file, stringify({
    models: [{ id: 'big', profile: 'llama-3.3-70b-fp8-h100-tp2' }, { id: 'small', profile: 'llama-3.1-8b-h100' }],
    demo: [{ model: 'big', region: 'us-east', replicas: 1 }, { model: 'small', region: 'us-east', replicas: 1 }, { model: 'small', region: 'eu-west', replicas: 1, profile: 'llama-3.1-8b-a100' }],
    costs: { sampleMs: 1_000, flushIntervalMs: 3_600_000 },
    ...extra,
  }));
  return loadConfig(file);
}

/** 2026-12-01 20:00 UTC */
const T0 = Date.UTC(2026, 11, 1, 20, 0, 0);
const MIN = 60_000;
const HOUR = 3_600_000;

class FakeStore {
  readonly batches: ReplicaTimeRecord[][] = [];
  failing = false;
  async addReplicaTime(batch: readonly ReplicaTimeRecord[]): Promise<void> {
    if (this.failing) throw new Error('connection refused');
    this.batches.push(batch.map((r) => ({ ...r })));
  }
  /** the rows the store would hold: seconds added per (day, replica) */
  rows(): Map<string, { upS: number; busyS: number }> {
    const out = new Map<string, { upS: number; busyS: number }>();
    for (const r of this.batches.flat()) {
      const k = `${r.day} ${r.replica}`;
      const o = out.get(k) ?? { upS: 0, busyS: 0 };
      out.set(k, { upS: o.upS + r.upS, busyS: o.busyS + r.busyS });
    }
    return out;
  }
}

/** lets a flush started by a timer finish its write (a few promise turns) */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

function fakeLog() {
  const log = { error: vi.fn(), warn: vi.fn(), info: vi.fn() };
  return { log, logger: log as unknown as Logger };
}

interface Rig {
  time: ManualTime;
  fleet: FleetRegistry;
  store: FakeStore;
  meter: CostMeter;
  lead: { leading: boolean };
  log: ReturnType<typeof fakeLog>['log'];
  add(model: string, region: string, n?: number): Replica;
}

function rig(o: { config?: Config; start?: number; leading?: boolean; booting?: () => readonly MeteredReplica[] } = {}): Rig {
  const time = new ManualTime(o.start ?? T0);
  const fleet = new FleetRegistry();
  const store = new FakeStore();
  const lead = { leading: o.leading ?? true };
  const { log, logger } = fakeLog();
  const meter = new CostMeter({ config: o.config ?? config(), fleet, store, leading: () => lead.leading, log: logger, clock: time, timers: time, ...(o.booting === undefined ? {} : { booting: o.booting }) });
  let port = 9000;
  const add = (model: string, region: string, n = 0): Replica => fleet.add({ id: `${region}/${model}/${n}`, model, servedModel: model, region, url: `http://127.0.0.1:${port++}` });
  return { time, fleet, store, meter, lead, log, add };
}

function usage(replica: Replica, tenantId: string, input: number, cached: number, output: number): UsageRecord {
  return {
    requestId: `req_${Math.random()}`, startedAt: 0, tenantId, workspaceId: 'w', keyId: 'k', tier: 'default', model: replica.model, replica: replica.id, region: replica.region,
    wire: 'openai', stream: false, status: 200, outcome: 'ok', inputTokens: input, cachedInputTokens: cached, outputTokens: output, ttftMs: null, latencyMs: 1, costUsd: 0,
  };
}

describe('replica time', () => {
  it('counts a replica up 2 h, 30 min of it with a call in flight, as 7,200 up and 1,800 busy seconds at its GPUs × price', async () => {
    const r = rig();
    const rep = r.add('big', 'us-east');
    r.meter.start();
    r.time.advance(30 * MIN);
    rep.inflight = 1;
    r.time.advance(30 * MIN);
    rep.inflight = 0;
    r.time.advance(HOUR);
    r.fleet.remove(rep);
    r.time.advance(HOUR);
    await r.meter.close();

    const profile = getProfile('llama-3.3-70b-fp8-h100-tp2')!;
    const usd = 2 * profile.tp * DEFAULT_GPU_HOUR_USD[profile.gpu.name];
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/big/0', { upS: 7_200, busyS: 1_800 }]]));
    const rec = r.store.batches.flat()[0];
    expect({ pool: rec.pool, profile: rec.profile, gpu: rec.gpu, gpus: rec.gpus, usdPerGpuHour: rec.usdPerGpuHour })
      .toEqual({ pool: 'us-east/big', profile: 'llama-3.3-70b-fp8-h100-tp2', gpu: 'H100-SXM-80GB', gpus: 2, usdPerGpuHour: 2.99 });
    const pool = [...r.meter.scrape().pools].find((p) => p.pool === 'us-east/big')!;
    expect(pool.upS).toBe(7_200);
    expect(pool.busyS).toBe(1_800);
    expect(pool.usd).toBeCloseTo(usd, 9);
  });

  it('counts a replica from the moment it is asked for: its start-up (not yet in the fleet) is paid for, then its time in the fleet', async () => {
    let starting: MeteredReplica[] = [{ id: 'us-east/small/7', model: 'small', region: 'us-east', url: '', version: '', inflight: 0 }];
    const r = rig({ booting: () => starting });
    r.meter.start();
    r.time.advance(90_000); // a cold start-up
    starting = [];
    r.add('small', 'us-east', 8);
    r.time.advance(10 * MIN);
    await r.meter.close();
    expect(r.store.rows()).toEqual(new Map([
      ['2026-12-01 us-east/small/7', { upS: 90, busyS: 0 }],
      ['2026-12-01 us-east/small/8', { upS: 600, busyS: 0 }],
    ]));
    const pool = [...r.meter.scrape().pools].find((p) => p.pool === 'us-east/small')!;
    expect(pool.upS).toBe(690);
  });

  it('splits a span over UTC midnight between the two days', async () => {
    // a sample a minute, from 23:30:30: the one at 00:00:30 covers 23:59:30 → 00:00:30, half on each day
    const r = rig({ start: Date.UTC(2026, 11, 1, 23, 30, 30), config: config({ costs: { sampleMs: 60_000, flushIntervalMs: 3_600_000 } }) });
    const rep = r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(29 * MIN);
    rep.inflight = 2;
    r.time.advance(31 * MIN);
    await r.meter.close();
    expect(r.store.rows()).toEqual(new Map([
      ['2026-12-01 us-east/small/0', { upS: 1_770, busyS: 30 }],
      ['2026-12-02 us-east/small/0', { upS: 1_830, busyS: 1_830 }],
    ]));
  });

  it('counts a draining replica (it is still paid for) and stops counting one that left the fleet', async () => {
    const r = rig();
    const a = r.add('small', 'us-east', 0);
    const b = r.add('small', 'us-east', 1);
    r.meter.start();
    r.fleet.setDraining(a, true);
    r.time.advance(10 * MIN);
    r.fleet.remove(b);
    r.time.advance(10 * MIN);
    await r.meter.close();
    expect(r.store.rows()).toEqual(new Map([
      ['2026-12-01 us-east/small/0', { upS: 1_200, busyS: 0 }],
      ['2026-12-01 us-east/small/1', { upS: 600, busyS: 0 }],
    ]));
  });
  it('counts a replica that leaves and rejoins under its id only while it is in the fleet, in one row per day', async () => {
    const r = rig();
    const a = r.add('small', 'us-east', 0);
    r.meter.start();
    r.time.advance(10 * MIN);
    r.fleet.remove(a);
    r.time.advance(20 * MIN);
    r.add('small', 'us-east', 0);
    r.time.advance(5 * MIN);
    await r.meter.close();
    expect(r.store.batches).toEqual([[expect.objectContaining({ replica: 'us-east/small/0', upS: 900 })]]);
  });

  it('counts a replica taken out of the fleet with calls in flight (a drain) as up and busy until they end', async () => {
    const r = rig();
    const a = r.add('small', 'us-east', 0);
    r.meter.start();
    r.time.advance(10 * MIN);
    // removed with two calls running: they finish over the next 5 minutes, on a GPU still paid for
    a.inflight = 2;
    r.fleet.remove(a);
    r.time.advance(5 * MIN);
    a.inflight = 0;
    r.time.advance(10 * MIN);
    await r.meter.close();
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/small/0', { upS: 900, busyS: 300 }]]));
    expect(r.meter.live().pools[0].replicas).toBe(0);
  });

  it('measures spans on the monotonic clock: a wall clock stepped back neither loses nor adds time', async () => {
    const time = new ManualTime(T0);
    const fleet = new FleetRegistry();
    const store = new FakeStore();
    let step = 0;
    const clock = { nowMs: () => time.nowMs() + step, monoMs: () => time.monoMs() };
    const meter = new CostMeter({ config: config(), fleet, store, leading: () => true, log: fakeLog().logger, clock, timers: time });
    fleet.add({ id: 'r', model: 'small', servedModel: 'small', region: 'us-east', url: 'http://127.0.0.1:1' });
    meter.start();
    time.advance(10 * MIN);
    step = -5 * MIN;
    time.advance(10 * MIN);
    await meter.close();
    expect([...store.rows().values()]).toEqual([{ upS: 1_200, busyS: 0 }]);
  });
});

describe('prices and hardware', () => {
  it('takes the replica\'s own price, else its region\'s for its GPU, else the configured, else the built-in default', () => {
    const c = config({
      demo: undefined,
      replicas: [
        { model: 'small', url: 'http://10.0.0.1:8000', region: 'us-east', profile: 'llama-3.1-8b-h100', usdPerGpuHour: 1.5 },
        { model: 'small', url: 'http://10.0.0.2:8000', region: 'eu-west', profile: 'llama-3.1-8b-h100' },
        { model: 'small', url: 'http://10.0.0.3:8000', region: 'us-east', profile: 'llama-3.1-8b-h100' },
        { model: 'small', url: 'http://10.0.0.4:8000', region: 'us-east', profile: 'llama-3.1-8b-a100' },
        { model: 'small', url: 'http://10.0.0.5:8000', region: 'us-east' },
      ],
      costs: { gpuHourUsd: { 'H100-SXM-80GB': 2.5 }, regions: { 'eu-west': { 'H100-SXM-80GB': 3.25 } }, fallbackGpuHourUsd: 4 },
    });
    const hw = hardwareOf(c);
    const of = (url: string, region: string) => hw({ model: 'small', region, url, version: 'small' });
    expect([of('http://10.0.0.1:8000', 'us-east'), of('http://10.0.0.2:8000', 'eu-west'), of('http://10.0.0.3:8000', 'us-east'), of('http://10.0.0.4:8000', 'us-east')].map((h) => [h.usdPerGpuHour, h.priceFrom]))
      .toEqual([[1.5, 'replica'], [3.25, 'region'], [2.5, 'config'], [DEFAULT_GPU_HOUR_USD['A100-SXM-80GB'], 'default']]);
    // a replica listed without a profile: hardware unknown, 1 GPU at the fallback price
    expect(of('http://10.0.0.5:8000', 'us-east')).toEqual({ profile: null, gpu: null, gpus: 1, usdPerGpuHour: 4, priceFrom: 'fallback' });
  });

  it('gives demo replicas their pool\'s profile, or their model\'s', () => {
    const hw = hardwareOf(config());
    const of = (model: string, region: string) => hw({ model, region, url: 'http://127.0.0.1:1', version: model });
    expect([of('small', 'eu-west').profile, of('small', 'us-east').profile, of('big', 'us-east').gpus]).toEqual(['llama-3.1-8b-a100', 'llama-3.1-8b-h100', 2]);
  });

  it('refuses a replica profile it does not know, and prices for a region or GPU type it does not have, naming the path', () => {
    expect(() => config({ demo: undefined, replicas: [{ model: 'small', url: 'http://10.0.0.1:8000', profile: 'h100-typo' }] })).toThrow(/replicas\.0\.profile.*h100-typo/s);
    expect(() => config({ costs: { regions: { 'us-eats': { 'H100-SXM-80GB': 3 } } } })).toThrow(/costs\.regions\.us-eats/);
    // a GPU type no profile names would never price anything
    expect(() => config({ costs: { gpuHourUsd: { H100: 2 } } })).toThrow(/costs\.gpuHourUsd\.H100.*H100-SXM-80GB/s);
    expect(() => config({ costs: { regions: { 'us-east': { 'a100-sxm-80gb': 2 } } } })).toThrow(/costs\.regions\.us-east\.a100-sxm-80gb/);
  });

  it('shows unknown hardware as such in the live view, at the fallback price', () => {
    const r = rig({ config: config({ demo: undefined, replicas: [{ model: 'small', url: 'http://127.0.0.1:9000', region: 'us-east' }] }) });
    r.add('small', 'us-east');
    r.meter.start();
    const pool = r.meter.live().pools[0];
    expect(pool.hardware).toEqual([{ profile: null, gpu: null, gpus: 1, usdPerGpuHour: FALLBACK_GPU_HOUR_USD, priceFrom: 'fallback', replicas: 1 }]);
    expect(pool.usdPerHour).toBe(FALLBACK_GPU_HOUR_USD);
  });
});

describe('writing to the store', () => {
  it('writes only while this gateway leads; a follower keeps its own figures but writes nothing', async () => {
    const r = rig({ leading: false });
    r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(MIN);
    await r.meter.flush();
    expect(r.store.batches).toEqual([]);
    expect(r.meter.live().pools[0].upS).toBe(60);
    // it takes the lead: what it collected as a follower was the leader's to write
    r.lead.leading = true;
    r.time.advance(2 * MIN);
    await r.meter.flush();
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/small/0', { upS: 120, busyS: 0 }]]));
  });

  it('writes increments: flushes add up to the time in the fleet', async () => {
    const r = rig();
    r.add('small', 'us-east');
    r.meter.start();
    for (let i = 0; i < 3; i++) {
      r.time.advance(MIN);
      await r.meter.flush();
    }
    expect(r.store.batches.map((b) => b.map((x) => x.upS))).toEqual([[60], [60], [60]]);
  });

  it('collects nothing for the store while it follows: taking the lead, it writes only the seconds since', async () => {
    const r = rig({ leading: false });
    r.add('small', 'us-east');
    r.meter.start();
    // ten minutes as a follower with no flush in between: the leader writes those, not this gateway
    r.time.advance(10 * MIN);
    r.lead.leading = true;
    r.time.advance(MIN);
    await r.meter.flush();
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/small/0', { upS: 60, busyS: 0 }]]));
    expect(r.meter.live().pools[0].upS).toBe(660);
  });

  it('hands the lead over without losing seconds, counting at most one flush interval twice', async () => {
    const time = new ManualTime(T0);
    const fleet = new FleetRegistry();
    fleet.add({ id: 'r0', model: 'small', servedModel: 'small', region: 'us-east', url: 'http://127.0.0.1:9100' });
    const store = new FakeStore();
    const lead = { a: true };
    const cfg = config({ costs: { sampleMs: 1_000, flushIntervalMs: 60_000 } });
    const meter = (leading: () => boolean) => new CostMeter({ config: cfg, fleet, store, leading, log: fakeLog().logger, clock: time, timers: time });
    // ten seconds at a time, letting each flush's write finish
    const run = async (ms: number) => {
      for (let t = 0; t < ms; t += 10_000) {
        time.advance(10_000);
        await settle();
      }
    };
    const a = meter(() => lead.a);
    const b = meter(() => !lead.a);
    a.start();
    // B starts half an interval later, so its flushes fall between A's
    await run(30_000);
    b.start();
    await run(5 * MIN);
    lead.a = false;
    await run(5 * MIN);
    await a.close();
    await b.close();
    const written = [...store.rows().values()].reduce((n, x) => n + x.upS, 0);
    // the fleet was metered 10 min 30 s: A's last interval as leader may be counted again by B
    expect(written).toBeGreaterThanOrEqual(630);
    expect(written - 630).toBeLessThanOrEqual(60);
  });

  it('drops a batch the store refuses as invalid rather than retrying it forever, and goes on writing', async () => {
    const r = rig();
    r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(MIN);
    const refuse = vi.spyOn(r.store, 'addReplicaTime').mockRejectedValueOnce(new CostStoreError('replicaTime[0].upS', 'must be a finite number ≥ 0, got NaN'));
    await r.meter.flush();
    expect(r.log.error.mock.calls[0][1]).toMatch(/refused.*dropping/);
    refuse.mockRestore();
    r.time.advance(MIN);
    await r.meter.flush();
    expect(r.store.batches.map((b) => b.map((x) => x.upS))).toEqual([[60]]);
  });

  it('holds one row per replica and day through a store outage of days, however many flushes fail', async () => {
    const r = rig({ config: config({ costs: { sampleMs: 60_000, flushIntervalMs: HOUR } }) });
    r.add('small', 'us-east');
    r.add('small', 'eu-west');
    r.meter.start();
    r.store.failing = true;
    // 20:00 on day 1 to 20:00 on day 4: 72 hourly flushes fail
    for (let h = 0; h < 72; h++) {
      r.time.advance(HOUR);
      await settle();
    }
    r.store.failing = false;
    await r.meter.flush();
    expect(r.store.batches.length).toBe(1);
    // four days touched × two replicas
    expect(r.store.batches[0].length).toBe(8);
    const up = [...r.store.rows().values()].reduce((n, x) => n + x.upS, 0);
    expect(up).toBe(2 * 72 * 3_600);
    expect(r.log.error).toHaveBeenCalledTimes(1);
  });

  it('keeps the seconds through a store outage, writes them when it answers, and says so once each way', async () => {
    const r = rig();
    r.add('small', 'us-east');
    r.meter.start();
    r.store.failing = true;
    for (let i = 0; i < 3; i++) {
      r.time.advance(MIN);
      await r.meter.flush();
    }
    expect(r.store.batches).toEqual([]);
    expect(r.log.error).toHaveBeenCalledTimes(1);
    r.store.failing = false;
    r.time.advance(MIN);
    await r.meter.flush();
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/small/0', { upS: 240, busyS: 0 }]]));
    expect(r.log.warn).toHaveBeenCalledTimes(1);
    expect(r.log.warn.mock.calls[0][0]).toMatchObject({ failedFlushes: 3 });
  });

  it('writes what it collected as leader even when the outage took the lead away, then leaves the next seconds to the leader', async () => {
    const r = rig();
    r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(MIN);
    await r.meter.flush();
    r.store.failing = true;
    r.lead.leading = false;
    for (let i = 0; i < 2; i++) {
      r.time.advance(MIN);
      await r.meter.flush();
    }
    r.store.failing = false;
    r.time.advance(MIN);
    await r.meter.flush();
    r.time.advance(MIN);
    await r.meter.flush();
    expect(r.store.rows()).toEqual(new Map([['2026-12-01 us-east/small/0', { upS: 240, busyS: 0 }]]));
  });

  it('says so when the store does not take the last seconds at shutdown', async () => {
    const r = rig();
    r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(MIN);
    r.store.failing = true;
    await r.meter.close();
    expect(r.log.error.mock.calls.map((c) => c[1])).toEqual([expect.stringMatching(/failed/), expect.stringMatching(/not written at shutdown/)]);
  });

  it('flushes on its own timer, and what is left on close', async () => {
    const r = rig({ config: config({ costs: { sampleMs: 1_000, flushIntervalMs: 15_000 } }) });
    r.add('small', 'us-east');
    r.meter.start();
    r.time.advance(15_000);
    await Promise.resolve();
    expect(r.store.batches.length).toBe(1);
    r.time.advance(5_000);
    await r.meter.close();
    r.time.advance(MIN);
    expect([...r.store.rows().values()]).toEqual([{ upS: 20, busyS: 0 }]);
    expect(r.time.armed).toBe(0);
  });
});

describe('cost per million tokens over the trailing hour', () => {
  it('divides a pool\'s GPU cost by the tokens settled on it, split by phase; tenants share it by the replica time their tokens took', () => {
    const r = rig();
    const rep = r.add('small', 'us-east');
    r.meter.start();
    const inner: UsageRecord[] = [];
    const ledger = r.meter.tap({ record: (u) => inner.push(u), flush: async () => {}, close: async () => {}, stats: () => ({ buffered: 0, written: 0, dropped: 0, spilled: 0, failedFlushes: 0 }) } satisfies LedgerWriter);
    r.time.advance(30 * MIN);
    ledger.record(usage(rep, 'ten_a', 3_000_000, 1_000_000, 500_000));
    ledger.record(usage(rep, 'ten_b', 1_000_000, 0, 1_500_000));
    r.time.advance(30 * MIN);
    expect(inner).toHaveLength(2);

    const w = profileWeights()('llama-3.1-8b-h100');
    const usd = 1 * DEFAULT_GPU_HOUR_USD['H100-SXM-80GB'];
    const pool = r.meter.live().pools[0];
    const split = splitCost(usd, { inputTokens: 4_000_000, cachedInputTokens: 1_000_000, outputTokens: 2_000_000 }, w);
    expect(pool.usd).toBeCloseTo(usd, 9);
    expect(pool.inputUsdPerM).toBeCloseTo(split.inputUsd / 4, 9);
    expect(pool.outputUsdPerM).toBeCloseTo(split.outputUsd / 2, 9);

    const weightA = 2_000_000 * w.inputS + 500_000 * w.outputS;
    const weightB = 1_000_000 * w.inputS + 1_500_000 * w.outputS;
    const [a, b] = r.meter.live().tenants;
    expect(a.tenant).toBe('ten_a');
    expect(a.usd).toBeCloseTo((usd * weightA) / (weightA + weightB), 9);
    expect(a.usd + b.usd).toBeCloseTo(usd, 9);
    const splitB = splitCost(b.usd, { inputTokens: 1_000_000, cachedInputTokens: 0, outputTokens: 1_500_000 }, w);
    expect(b.outputUsdPerM).toBeCloseTo(splitB.outputUsd / 1.5, 9);
  });

  it('forgets time and tokens older than an hour', () => {
    const r = rig();
    const rep = r.add('small', 'us-east');
    r.meter.start();
    r.meter.settled(usage(rep, 'ten_a', 1_000, 0, 1_000));
    r.time.advance(HOUR + MIN);
    const pool = r.meter.live().pools[0];
    expect(pool.outputTokens).toBe(0);
    // an hour, to a sample
    expect(Math.abs(pool.upS - 3_600)).toBeLessThanOrEqual(1);
    expect(pool.outputUsdPerM).toBeNull();
  });
});

describe('metrics', () => {
  it('exports the cost counters and trailing-hour gauges with model, pool and region (and tenant and phase) labels', async () => {
    const r = rig();
    const rep = r.add('big', 'us-east');
    r.meter.start();
    r.time.advance(30 * MIN);
    rep.inflight = 1;
    r.meter.settled(usage(rep, 'ten_a', 2_000, 0, 1_000));
    r.time.advance(30 * MIN);
    const m = createMetrics({ replicas: () => [], ledger: () => ({ buffered: 0, written: 0, dropped: 0, failedFlushes: 0 }), costs: () => r.meter.scrape() });
    const text = await m.registry.metrics();
    /** the value of the one sample line `series` names exactly; NaN when there is none */
    const value = (series: string): number => {
      const line = text.split('\n').find((l) => l.startsWith(series + ' '));
      return line === undefined ? NaN : Number(line.slice(series.length + 1));
    };
    const labels = 'model="big",pool="us-east/big",region="us-east"';
    const live = r.meter.live();
    expect(value(`switchyard_gpu_cost_usd_total{${labels}}`)).toBeCloseTo(1 * 2 * 2.99, 9);
    expect(value(`switchyard_replica_up_seconds_total{${labels}}`)).toBe(3_600);
    expect(value(`switchyard_replica_busy_seconds_total{${labels}}`)).toBe(1_800);
    expect(value(`switchyard_pool_utilisation_ratio{${labels}}`)).toBe(0.5);
    expect(value(`switchyard_cost_usd_per_million_tokens{${labels},phase="input"}`)).toBeCloseTo(live.pools[0].inputUsdPerM!, 6);
    expect(value(`switchyard_cost_usd_per_million_tokens{${labels},phase="output"}`)).toBeCloseTo(live.pools[0].outputUsdPerM!, 6);
    expect(value(`switchyard_tenant_cost_usd_per_million_tokens{tenant="ten_a",phase="output"}`)).toBeCloseTo(live.tenants[0].outputUsdPerM!, 6);
    expect(live.pools[0].outputUsdPerM).toBeGreaterThan(0);
  });
});

describe('in the gateway', () => {
  it('meters its replicas, taps the tokens it settles, serves the live view and writes replica time to the store as leader', async () => {
    const KEY = 'sk-sy-gateway-costs-test-key-00000000000000000';
    const ADMIN = 'costs-admin-token';
    const completion = JSON.stringify({
      id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    const p = await scriptedPlatform({
      key: KEY, adminToken: ADMIN,
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end();
        q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
      },
      configure: (c) => void (c.costs = { ...c.costs, sampleMs: 20, flushIntervalMs: 1_000 }),
    });
    try {
      const res = await fetch(`${p.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      // a flush or two
      await new Promise((r) => setTimeout(r, 1_300));
      const admin = { authorization: `Bearer ${ADMIN}` };
      const live = await (await fetch(`${p.url}/admin/v1/costs/live`, { headers: admin })).json() as { leading: boolean; pools: Array<Record<string, unknown>> };
      expect(live.leading).toBe(true);
      expect(live.pools).toEqual([expect.objectContaining({ pool: 'us-east/llama-3.1-8b', replicas: 1, gpus: 1, input_tokens: 7, output_tokens: 2 })]);
      const metrics = await (await fetch(`${p.url}/metrics`)).text();
      expect(metrics).toMatch(/switchyard_replica_up_seconds_total\{model="llama-3\.1-8b",pool="us-east\/llama-3\.1-8b",region="us-east"\} [1-9]/);
      expect(metrics).toMatch(/switchyard_cost_usd_per_million_tokens\{model="llama-3\.1-8b",pool="us-east\/llama-3\.1-8b",region="us-east",phase="output"\} \d/);
      // /metrics is open here (no server.metricsToken): no tenant ids in it
      expect(metrics).not.toMatch(/tenant="(?!all")/);
      expect(live.pools.length).toBe(1);
      const today = new Date().toISOString().slice(0, 10);
      const rows = await p.store.replicaTime({ since: Date.parse(today), before: Date.parse(today) + 86_400_000 });
      expect(rows).toEqual([expect.objectContaining({ day: today, replica: 'r', pool: 'us-east/llama-3.1-8b', profile: 'llama-3.1-8b-h100', gpus: 1, usdPerGpuHour: 2.99 })]);
      expect(rows[0].upS).toBeGreaterThan(0.5);
      const daily = await (await fetch(`${p.url}/admin/v1/costs?by=tenant`, { headers: admin })).json() as { data: Array<{ key: string; output_tokens: number }> };
      expect(daily.data.find((x) => x.key !== '(idle)')?.output_tokens).toBe(2);
    } finally {
      await p.close();
    }
  });

  it('puts each tenant\'s cost per million tokens in /metrics when /metrics wants a token', async () => {
    const KEY = 'sk-sy-gateway-costs-test-key-11111111111111111';
    const completion = JSON.stringify({
      id: 'chatcmpl-ok', object: 'chat.completion', created: 1, model: 'm',
      choices: [{ index: 0, message: { role: 'assistant', content: 'fine' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 70, completion_tokens: 20, total_tokens: 90 },
    });
    const p = await scriptedPlatform({
      key: KEY,
      replica: (q, s) => {
        if (q.method === 'GET') return void s.end();
        q.resume().on('end', () => s.writeHead(200, { 'content-type': 'application/json' }).end(completion));
      },
      configure: (c) => {
        c.costs = { ...c.costs, sampleMs: 20, flushIntervalMs: 1_000 };
        c.server.metricsToken = 'scrape-token';
      },
    });
    try {
      const res = await fetch(`${p.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama-3.1-8b', messages: [{ role: 'user', content: 'hi' }] }),
      });
      expect(res.status).toBe(200);
      await res.text();
      await new Promise((r) => setTimeout(r, 100));
      expect((await fetch(`${p.url}/metrics`)).status).toBe(401);
      const metrics = await (await fetch(`${p.url}/metrics`, { headers: { authorization: 'Bearer scrape-token' } })).text();
      expect(metrics).toMatch(/switchyard_tenant_cost_usd_per_million_tokens\{tenant="ten_[^"]+",phase="output"\} \d/);
    } finally {
      await p.close();
    }
  });
});
