import { describe, expect, it } from 'vitest';
import type { UpstreamChatBody, UpstreamChunk, UpstreamCompletion } from '../../src/api/index.js';
import { ManualTime, type Rng } from '../../src/time/index.js';
import {
  compose, hedge, outlierReport, replicaDispatch, retry, RetryBudget,
  type CallControl, type CallSink, type Dispatch, type DispatchController, type DispatchHandler,
  type RetryMetrics, type Target, type UpstreamFailure, type UpstreamHealth, type UpstreamRequest,
} from '../../src/upstream/index.js';

// The upstream interceptors driven without sockets or sleeps: the base dispatch sends to scripted
// replicas (each call is a sink the spec reports into by hand), and time is a ManualTime.

class FakeCall implements CallControl {
  paused = false;
  aborted = false;
  constructor(readonly replica: FakeReplica, readonly sink: CallSink) {}
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  abort(): void { this.aborted = true; }
  chunk(text = 'hi'): void { this.sink.onEvent(JSON.stringify({ choices: [{ index: 0, delta: { content: text } }] })); }
  done(): void { this.sink.onDone(); }
  fail(f: UpstreamFailure): void { this.sink.onFailure(f); }
}

class FakeReplica implements Target {
  readonly replica = { inflight: 0, inflightTokens: 0, pendingPrefill: 0, servedModel: '' };
  readonly calls: FakeCall[] = [];
  constructor(readonly id: string) {
    this.replica.servedModel = `${id}-served`;
  }
  chat(_body: UpstreamChatBody, _stream: boolean, sink: CallSink): CallControl | null {
    const c = new FakeCall(this, sink);
    this.calls.push(c);
    return c;
  }
  get last(): FakeCall {
    return this.calls[this.calls.length - 1];
  }
}

/** A request that picks, in order, the replicas it has not tried yet (as a route ticket does). */
class FakeRequest implements UpstreamRequest<FakeReplica> {
  readonly body: UpstreamChatBody = { model: 'm', messages: [] };
  readonly model = 'm';
  readonly tokens = 10;
  readonly prefillOwed = 4;
  attempts = 0;
  budgetShare: RetryBudget | null = null;
  clientGone = false;
  readonly tried: string[] = [];
  readonly crashes: Array<{ err: unknown; phase: string }> = [];
  constructor(readonly replicas: FakeReplica[], readonly stream = true) {}
  pick(): FakeReplica | null {
    const r = this.replicas.find((x) => !this.tried.includes(x.id)) ?? null;
    if (r !== null) this.tried.push(r.id);
    return r;
  }
  crashed(err: unknown, phase: 'routing' | 'upstream'): void {
    this.crashes.push({ err, phase });
  }
}

/** The client's side: what reached it, in order. */
class Client implements DispatchHandler<FakeReplica> {
  controller: DispatchController<FakeReplica> | null = null;
  starts = 0;
  readonly chunks: string[] = [];
  done = false;
  completion: UpstreamCompletion | null = null;
  failure: UpstreamFailure | null = null;
  throwOnChunk = false;
  onStart(call: DispatchController<FakeReplica>): void { this.controller = call; this.starts++; }
  onChunk(_call: DispatchController<FakeReplica>, c: UpstreamChunk): void {
    if (this.throwOnChunk) throw new Error('relay bug');
    this.chunks.push(String(c.choices?.[0]?.delta?.content ?? ''));
  }
  onDone(): void { this.done = true; }
  onCompletion(_call: DispatchController<FakeReplica>, c: UpstreamCompletion): void { this.completion = c; }
  onFailure(_call: DispatchController<FakeReplica>, f: UpstreamFailure): void { this.failure = f; }
}

class Counts implements RetryMetrics {
  retries = 0;
  hedges = 0;
  overflows = 0;
  retried(): void { this.retries++; }
  hedged(): void { this.hedges++; }
  overflowed(): void { this.overflows++; }
}

class Health implements UpstreamHealth<FakeReplica> {
  readonly log: string[] = [];
  answered(t: FakeReplica, latencyMs: number): void { this.log.push(`answered ${t.id} ${latencyMs}`); }
  failed(t: FakeReplica, f: UpstreamFailure, sentAtMs: number): void { this.log.push(`failed ${t.id} ${f.kind} sent@${sentAtMs}`); }
}

/** mulberry32: a seeded draw, so a backoff spec is reproducible */
function seeded(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONNECT: UpstreamFailure = { kind: 'connect', message: 'ECONNREFUSED', refused: true };
const S500: UpstreamFailure = { kind: 'status', status: 500, body: '{"error":{"message":"boom"}}' };

interface RigOptions {
  maxAttempts?: number;
  hedgeDelayMs?: number | null;
  budget?: RetryBudget;
  rng?: Rng;
  backoff?: { baseMs: number; maxMs: number };
}

function rig(o: RigOptions = {}) {
  const time = new ManualTime(1_000_000);
  const budget = o.budget ?? new RetryBudget(0.2, 3);
  const metrics = new Counts();
  const health = new Health();
  const rule = { maxAttempts: o.maxAttempts ?? 3, backoff: o.backoff ?? { baseMs: 100, maxMs: 1_000 } };
  const hedgeDelayMs = o.hedgeDelayMs === undefined ? null : o.hedgeDelayMs;
  const send: Dispatch<FakeReplica> = compose<FakeReplica>(replicaDispatch, [
    outlierReport(health, time),
    hedgeDelayMs === null ? null : hedge({ delayMs: hedgeDelayMs, rule, budget, timers: time, metrics }),
    retry({ rule, budget, timers: time, rng: o.rng ?? (() => 0.5), metrics }),
  ]);
  return { time, budget, metrics, health, send };
}

function replicas(n: number): FakeReplica[] {
  return Array.from({ length: n }, (_, i) => new FakeReplica(`r${i}`));
}

function idle(rs: FakeReplica[]): boolean {
  return rs.every((r) => r.replica.inflight === 0 && r.replica.inflightTokens === 0 && r.replica.pendingPrefill === 0);
}

describe('retry', () => {
  it('sends a failure before the first byte to another replica, after the backoff', () => {
    const { time, send, metrics, budget } = rig();
    const rs = replicas(2);
    const req = new FakeRequest(rs);
    const client = new Client();
    expect(send(req, client)).toBe(true);
    rs[0].last.fail(CONNECT);
    expect(rs[1].calls).toHaveLength(0); // waiting out the backoff
    time.runAll();
    rs[1].last.chunk('a');
    rs[1].last.done();
    expect(req.tried).toEqual(['r0', 'r1']);
    expect(client).toMatchObject({ starts: 1, chunks: ['a'], done: true, failure: null });
    expect(client.controller!.target).toBe(rs[1]);
    expect(metrics.retries).toBe(1);
    expect(idle(rs)).toBe(true);
    expect(budget.retrying).toBe(0);
    expect(budget.active).toBe(0);
  });

  it('does not retry a failure after the first byte: the client hears it', () => {
    const { time, send } = rig();
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.chunk('a');
    rs[0].last.fail({ kind: 'broken', message: 'reset' });
    time.runAll();
    expect(rs[1].calls).toHaveLength(0);
    expect(client.failure).toEqual({ kind: 'broken', message: 'reset' });
    expect(client.controller!.target).toBeNull(); // the failed call no longer answers for the request
  });

  it('stops at maxAttempts, and the client hears the last failure', () => {
    const { time, send } = rig({ maxAttempts: 3 });
    const rs = replicas(5);
    const req = new FakeRequest(rs);
    const client = new Client();
    send(req, client);
    rs[0].last.fail(CONNECT);
    time.runAll();
    rs[1].last.fail(CONNECT);
    time.runAll();
    rs[2].last.fail(S500);
    time.runAll();
    expect(req.attempts).toBe(3);
    expect(rs[3].calls).toHaveLength(0);
    expect(client.failure).toEqual(S500);
  });

  it.each([
    { why: 'the request itself is at fault (a 4xx)', f: { kind: 'status', status: 400, body: 'bad' } as UpstreamFailure },
    { why: 'the whole-request time is spent', f: { kind: 'timeout', phase: 'total' } as UpstreamFailure },
  ])('does not retry when $why', ({ f }) => {
    const { time, send, metrics } = rig();
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.fail(f);
    time.runAll();
    expect(rs[1].calls).toHaveLength(0);
    expect(client.failure).toEqual(f);
    expect(metrics.retries).toBe(0);
  });

  it('does not retry once the client has left', () => {
    const { time, send } = rig();
    const rs = replicas(2);
    const req = new FakeRequest(rs);
    const client = new Client();
    send(req, client);
    req.clientGone = true;
    rs[0].last.fail(CONNECT);
    time.runAll();
    expect(rs[1].calls).toHaveLength(0);
    expect(client.failure).toEqual(CONNECT);
  });

  it('with no replica left to try, the client hears the last failure', () => {
    const { time, send, budget } = rig();
    const rs = replicas(1);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.fail(CONNECT);
    time.runAll();
    expect(client.failure).toEqual(CONNECT);
    expect(budget.retrying).toBe(0);
    expect(budget.active).toBe(0);
  });

  it('with no replica at all, the dispatch says so and the handler hears nothing', () => {
    const { send, budget } = rig();
    const client = new Client();
    expect(send(new FakeRequest([]), client)).toBe(false);
    expect(client.starts).toBe(0);
    expect(budget.active).toBe(0);
  });

  it('a throw while picking the retry\'s replica is the request\'s crash, and its budget share goes back', () => {
    const { time, send, budget } = rig();
    const rs = replicas(2);
    const req = new FakeRequest(rs);
    send(req, new Client());
    req.pick = () => { throw new Error('router bug'); };
    rs[0].last.fail(CONNECT);
    time.runAll();
    expect(req.crashes.map((c) => c.phase)).toEqual(['routing']);
    expect(budget.retrying).toBe(0);
  });

  it('an abort in the backoff cancels the retry and gives its budget share back', () => {
    const { time, send, budget } = rig();
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.fail(CONNECT);
    expect(budget.retrying).toBe(1);
    client.controller!.abort();
    expect(time.armed).toBe(0);
    time.runAll();
    expect(rs[1].calls).toHaveLength(0);
    expect(budget.retrying).toBe(0);
    expect(budget.active).toBe(0);
  });
});

describe('backoff', () => {
  it('waits rng × the exponential ceiling before each retry, and not a millisecond less', () => {
    // base 100, max 1000; rng 0.5: 50 ms before the first retry, 100 before the second
    const { time, send } = rig({ maxAttempts: 3, rng: () => 0.5 });
    const rs = replicas(3);
    send(new FakeRequest(rs), new Client());
    rs[0].last.fail(CONNECT);
    time.advance(49);
    expect(rs[1].calls).toHaveLength(0);
    time.advance(1);
    expect(rs[1].calls).toHaveLength(1);
    rs[1].last.fail(CONNECT);
    time.advance(99);
    expect(rs[2].calls).toHaveLength(0);
    time.advance(1);
    expect(rs[2].calls).toHaveLength(1);
  });

  it('with a seeded rng, every wait is within [0, min(maxMs, baseMs × 2^(n-1)))', () => {
    const rng = seeded(42);
    for (let run = 0; run < 50; run++) {
      const { time, send } = rig({ maxAttempts: 6, rng, backoff: { baseMs: 100, maxMs: 500 }, budget: new RetryBudget(0.2, 10) });
      const rs = replicas(6);
      send(new FakeRequest(rs), new Client());
      for (let n = 1; n <= 5; n++) {
        rs[n - 1].last.fail(CONNECT);
        const t0 = time.nowMs();
        time.runAll();
        const waited = time.nowMs() - t0;
        expect(waited).toBeGreaterThanOrEqual(0);
        expect(waited).toBeLessThan(Math.min(500, 100 * 2 ** (n - 1)));
        expect(rs[n].calls).toHaveLength(1);
      }
    }
  });
});

describe('retry budget', () => {
  /** `n` requests in flight on their own replicas, each of whose first call then fails */
  function failing(n: number) {
    const r = rig({ budget: new RetryBudget(0.2, 3) });
    const clients: Client[] = [];
    const reqs: FakeRequest[] = [];
    for (let i = 0; i < n; i++) {
      const req = new FakeRequest([new FakeReplica(`a${i}`), new FakeReplica(`b${i}`)]);
      const c = new Client();
      r.send(req, c);
      reqs.push(req);
      clients.push(c);
    }
    for (const req of reqs) req.replicas[0].last.fail(CONNECT);
    return { ...r, clients, reqs };
  }

  it('allows 3 concurrent retries however few requests are active', () => {
    const { budget, metrics } = failing(4);
    expect(budget.active).toBe(3); // the fourth was answered: it no longer counts
    expect(budget.retrying).toBe(3);
    expect(metrics.retries).toBe(3);
  });

  it('refuses a retry once retries are 20 % of active requests', () => {
    const { budget, metrics } = failing(30);
    expect(budget.retrying).toBe(6); // 20 % of 30, above the 3 always allowed
    expect(metrics.retries).toBe(6);
    expect(metrics.overflows).toBe(24);
  });

  it('counts an overflow, and the client gets the last error', () => {
    const { clients, metrics, time, reqs } = failing(4);
    expect(metrics.overflows).toBe(1);
    expect(clients[3].failure).toEqual(CONNECT);
    time.runAll();
    expect(reqs[3].replicas[1].calls).toHaveLength(0);
  });

  it('gives the share back at the retry\'s first byte', () => {
    const { time, send, budget } = rig();
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    rs[0].last.fail(CONNECT);
    time.runAll();
    expect(budget.retrying).toBe(1);
    rs[1].last.chunk();
    expect(budget.retrying).toBe(0);
    expect(budget.active).toBe(1); // the request is still streaming
  });
});

describe('hedge', () => {
  it('fires at the delay and not before', () => {
    const { time, send, metrics } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(199);
    expect(rs[1].calls).toHaveLength(0);
    time.advance(1);
    expect(rs[1].calls).toHaveLength(1);
    expect(metrics.hedges).toBe(1);
  });

  it('first token wins: the hedge\'s, and the first call is aborted', () => {
    const { time, send, budget } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    time.advance(200);
    rs[1].last.chunk('fast');
    rs[0].last.chunk('late'); // a call that lost reports nothing more (a real one is aborted)
    expect(rs[0].last.aborted).toBe(true);
    expect(client.controller!.target).toBe(rs[1]);
    expect(rs[0].replica.inflight).toBe(0);
    expect(budget.retrying).toBe(0);
    rs[1].last.done();
    expect(client).toMatchObject({ starts: 1, chunks: ['fast'], done: true });
    expect(idle(rs)).toBe(true);
  });

  it('first token wins: the first call\'s, and the hedge is aborted', () => {
    const { time, send, budget } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    time.advance(200);
    rs[0].last.chunk('first');
    expect(rs[1].last.aborted).toBe(true);
    expect(client.controller!.target).toBe(rs[0]);
    expect(budget.retrying).toBe(0);
    expect(rs[1].replica.inflight).toBe(0);
  });

  it('if the first call fails before a byte, the running hedge takes its place', () => {
    const { time, send, metrics } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(3);
    const client = new Client();
    send(new FakeRequest(rs), client);
    time.advance(200);
    rs[0].last.fail(CONNECT);
    expect(client.failure).toBeNull();
    expect(client.controller!.target).toBe(rs[1]);
    time.runAll();
    expect(rs[2].calls).toHaveLength(0); // no retry: the hedge is the request's call now
    expect(metrics.retries).toBe(0);
    rs[1].last.chunk('b');
    rs[1].last.done();
    expect(client).toMatchObject({ chunks: ['b'], done: true, failure: null });
  });

  it('a hedge that fails leaves the first call running', () => {
    const { time, send } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    time.advance(200);
    rs[1].last.fail(S500);
    rs[0].last.chunk('a');
    expect(client).toMatchObject({ chunks: ['a'], failure: null });
    expect(client.controller!.target).toBe(rs[0]);
  });

  it('spends the retry budget: with none left there is no hedge, and the overflow is counted', () => {
    const budget = new RetryBudget(0.2, 3);
    for (let i = 0; i < 3; i++) budget.acquire(); // three retries of other requests in flight
    const { time, send, metrics } = rig({ hedgeDelayMs: 200, budget });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(200);
    expect(rs[1].calls).toHaveLength(0);
    expect(metrics.overflows).toBe(1);
  });

  it('holds its budget share until its first byte', () => {
    const { time, send, budget } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(200);
    expect(budget.retrying).toBe(1);
    rs[1].last.chunk();
    expect(budget.retrying).toBe(0);
  });

  it('is not sent for a request that is not streamed', () => {
    const { time, send } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    send(new FakeRequest(rs, false), new Client());
    time.advance(10_000);
    expect(rs[1].calls).toHaveLength(0);
  });

  it('is not sent when the attempts are spent', () => {
    const { time, send } = rig({ hedgeDelayMs: 200, maxAttempts: 1 });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(10_000);
    expect(rs[1].calls).toHaveLength(0);
  });

  it('is not armed for a call that failed before it was sent (a body the replica cannot take)', () => {
    const { time, send } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    rs[0].chat = (_b, _s, sink) => {
      sink.onFailure({ kind: 'status', status: 400, body: 'untranslatable' });
      return null;
    };
    const client = new Client();
    send(new FakeRequest(rs), client);
    expect(client.failure).toMatchObject({ status: 400 });
    expect(time.armed).toBe(0);
  });

  it('gives its budget share back when no replica is left for it', () => {
    const { time, send, budget, metrics } = rig({ hedgeDelayMs: 200 });
    send(new FakeRequest(replicas(1)), new Client());
    time.advance(200);
    expect(budget.retrying).toBe(0);
    expect(metrics.hedges).toBe(0);
  });

  it('is disarmed by the first token', () => {
    const { time, send } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    rs[0].last.chunk();
    expect(time.armed).toBe(0);
  });

  it('an abort cancels both calls and the timer', () => {
    const { time, send, budget } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    time.advance(200);
    client.controller!.abort();
    expect(rs[0].last.aborted && rs[1].last.aborted).toBe(true);
    expect(idle(rs)).toBe(true);
    expect(budget.retrying).toBe(0);
    expect(budget.active).toBe(0);
  });
});

describe('outlier report', () => {
  it('reports the first byte with its latency', () => {
    const { time, send, health } = rig();
    const rs = replicas(1);
    send(new FakeRequest(rs), new Client());
    time.advance(35);
    rs[0].last.chunk();
    rs[0].last.chunk();
    expect(health.log).toEqual(['answered r0 35']);
  });

  it('reports a failure with when the call was sent', () => {
    const { time, send, health } = rig();
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(20);
    rs[0].last.fail(CONNECT);
    expect(health.log).toEqual(['failed r0 connect sent@1000000']);
  });

  it('sees every call, the hedge\'s too', () => {
    const { time, send, health } = rig({ hedgeDelayMs: 200 });
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    time.advance(200);
    rs[1].last.fail(S500);
    expect(health.log).toEqual([`failed r1 status sent@${1_000_200}`]);
  });
});

describe('the base dispatch', () => {
  it('counts the call on its replica: in flight, its tokens, its prefill until the first byte', () => {
    const { send } = rig();
    const rs = replicas(1);
    const req = new FakeRequest(rs);
    send(req, new Client());
    expect(rs[0].replica).toMatchObject({ inflight: 1, inflightTokens: 10, pendingPrefill: 4 });
    expect(req.body.model).toBe('r0-served');
    rs[0].last.chunk();
    expect(rs[0].replica).toMatchObject({ inflight: 1, inflightTokens: 10, pendingPrefill: 0 });
    rs[0].last.done();
    expect(idle(rs)).toBe(true);
  });

  it('a malformed stream event is the call\'s failure: it is aborted, and retried', () => {
    const { time, send } = rig();
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.sink.onEvent('{not json');
    expect(rs[0].last.aborted).toBe(true);
    time.runAll();
    expect(rs[1].calls).toHaveLength(1);
    expect(client.failure).toBeNull();
  });

  it.each(['null', '42', '"text"'])('a stream event that is JSON but not an object (%s) is a malformed event, not a crash', (data) => {
    const { time, send } = rig();
    const rs = replicas(2);
    const client = new Client();
    const req = new FakeRequest(rs);
    send(req, client);
    rs[0].last.sink.onEvent(data);
    expect(rs[0].last.aborted).toBe(true);
    time.runAll();
    expect(rs[1].calls).toHaveLength(1);
    expect(client.failure).toBeNull();
  });

  it('an error event mid-stream reaches the client as a broken response', () => {
    const { send } = rig();
    const rs = replicas(2);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.chunk('a');
    rs[0].last.sink.onEvent(JSON.stringify({ error: { message: 'oom' } }));
    expect(client.failure).toEqual({ kind: 'broken', message: 'the replica reported an error mid-stream: oom' });
  });

  it('an empty stream is a failure another replica may do better on', () => {
    const { time, send } = rig();
    const rs = replicas(2);
    send(new FakeRequest(rs), new Client());
    rs[0].last.done();
    time.runAll();
    expect(rs[1].calls).toHaveLength(1);
  });

  it('a whole answer reaches the client once its replica is released', () => {
    const { send } = rig();
    const rs = replicas(1);
    const client = new Client();
    send(new FakeRequest(rs, false), client);
    rs[0].last.sink.onBody(JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content: 'x' }, finish_reason: 'stop' }] }));
    expect(client.completion?.choices[0].message.content).toBe('x');
    expect(idle(rs)).toBe(true);
  });

  it('a throw while handling a report is the request\'s crash, never the connection\'s', () => {
    const { send } = rig();
    const rs = replicas(1);
    const req = new FakeRequest(rs);
    const client = new Client();
    client.throwOnChunk = true;
    send(req, client);
    expect(() => rs[0].last.chunk()).not.toThrow();
    expect(req.crashes).toHaveLength(1);
    expect(req.crashes[0].phase).toBe('upstream');
  });

  it('passes backpressure to the winning call', () => {
    const { send } = rig();
    const rs = replicas(1);
    const client = new Client();
    send(new FakeRequest(rs), client);
    rs[0].last.chunk();
    client.controller!.pause();
    expect(rs[0].last.paused).toBe(true);
    client.controller!.resume();
    expect(rs[0].last.paused).toBe(false);
  });
});
