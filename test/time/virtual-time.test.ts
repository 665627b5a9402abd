import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import type { FleetRegistry, Replica } from '../../src/fleet/index.js';
import { HealthProber } from '../../src/fleet/index.js';
import { MetricsScraper } from '../../src/fleet/scraper.js';
import { createLedgerWriter, type Store, type UsageRecord } from '../../src/ledger/index.js';
import { ProcessSupervisor } from '../../src/control/index.js';
import { ManualTime } from '../../src/time/index.js';
import { UpstreamCall } from '../../src/upstream/call.js';
import type { UpstreamFailure, UpstreamSink } from '../../src/upstream/index.js';
import { usage } from '../ledger/store.spec.js';

// What takes the time ports runs on a clock moved by hand: its deadlines and intervals fire when
// the clock says so, not when the wall does, so a spec checks them exactly and without sleeping.

class Sink implements UpstreamSink {
  events: string[] = [];
  failure: UpstreamFailure | null = null;
  onEvent(d: string): void { this.events.push(d); }
  onDone(): void {}
  onBody(): void {}
  onFailure(f: UpstreamFailure): void { this.failure = f; }
}

const controller = { abort() {}, pause() {}, resume() {} } as unknown as Dispatcher.DispatchController;
const timeouts = { connectTimeoutMs: 500, headersTimeoutMs: 300, firstTokenTimeoutMs: 1_000, idleTimeoutMs: 300, requestTimeoutMs: 5_000 };

describe('a call to a replica on a virtual clock', () => {
  it('fails at its first-token deadline to the millisecond', () => {
    const time = new ManualTime();
    const sink = new Sink();
    const call = new UpstreamCall(sink, true, timeouts, { clock: time, timers: time });
    call.onRequestStart(controller);
    time.advance(999);
    expect(sink.failure).toBeNull();
    time.advance(1);
    expect(sink.failure).toEqual({ kind: 'timeout', phase: 'first_token' });
  });

  it('counts the whole-request deadline from the start, not from the first token', () => {
    const time = new ManualTime();
    const sink = new Sink();
    const call = new UpstreamCall(sink, true, timeouts, { clock: time, timers: time });
    call.onRequestStart(controller);
    call.onResponseStart(controller, 200);
    time.advance(400);
    call.onResponseData(controller, Buffer.from('data: {"n":1}\n\n'));
    expect(sink.events).toEqual(['{"n":1}']);
    time.advance(4_599);
    expect(sink.failure).toBeNull();
    time.advance(1);
    expect(sink.failure).toEqual({ kind: 'timeout', phase: 'total' });
    expect(time.armed).toBe(0);
  });

  it('disarms its deadline when the client goes away', () => {
    const time = new ManualTime();
    const sink = new Sink();
    const call = new UpstreamCall(sink, false, timeouts, { clock: time, timers: time });
    call.abort();
    time.advance(10_000);
    expect(sink.failure).toBeNull();
    expect(time.armed).toBe(0);
  });
});

describe('background loops on a virtual clock', () => {
  it('the ledger writer flushes on its interval, not before', async () => {
    const time = new ManualTime();
    const written: UsageRecord[] = [];
    const store = { insertUsage: async (b: readonly UsageRecord[]) => { written.push(...b); } } as unknown as Store;
    const w = createLedgerWriter(store, { flushIntervalMs: 200, clock: time, timers: time });
    w.record(usage());
    time.advance(199);
    await Promise.resolve();
    expect(written).toHaveLength(0);
    time.advance(1);
    await Promise.resolve();
    expect(written).toHaveLength(1);
    await w.close();
    expect(time.armed).toBe(0);
  });

  it('the health prober and the scraper arm one interval each on start and none after stop', () => {
    const time = new ManualTime();
    const fleet = { all: [] as Replica[] } as unknown as FleetRegistry;
    const prober = new HealthProber(fleet, { intervalMs: 2_000, timeoutMs: 100, clock: time, timers: time });
    const scraper = new MetricsScraper(() => [], { intervalMs: 1_000, timeoutMs: 100, onSample() {}, clock: time, timers: time });
    prober.start();
    scraper.start();
    prober.start(); // a second start keeps the one loop
    expect(time.armed).toBe(2);
    time.advance(10_000);
    prober.stop();
    scraper.stop();
    expect(time.armed).toBe(0);
  });

  it('the health prober stamps each verdict with its own clock', async () => {
    const time = new ManualTime(1_750_000_000_000);
    const stamps: number[] = [];
    const replica = { id: 'r', url: 'http://127.0.0.1:1', protocol: 'openai', healthy: true } as unknown as Replica;
    const fleet = {
      all: [replica],
      markFailed: (_r: Replica, t: number) => void stamps.push(t),
      markHealthy: (_r: Replica, t: number) => void stamps.push(t),
    } as unknown as FleetRegistry;
    await new HealthProber(fleet, { intervalMs: 1_000, timeoutMs: 500, clock: time, timers: time }).probeAll();
    expect(stamps).toEqual([1_750_000_000_000]); // nothing listens on port 1: a failed probe, stamped now
  });

  it('the supervisor stops without timers left armed when it has no children', async () => {
    const time = new ManualTime();
    const sup = new ProcessSupervisor({ restart: true, timers: time });
    await sup.stop(1_000);
    expect(time.armed).toBe(0);
  });
});
