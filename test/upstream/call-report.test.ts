import { describe, expect, it } from 'vitest';
import type { UpstreamChatBody, UpstreamChunk, UpstreamCompletion } from '../../src/api/index.js';
import { ManualTime } from '../../src/time/index.js';
import {
  callReport, compose, hedge, replicaDispatch, retry, RetryBudget,
  type CallControl, type CallReport, type CallReportSink, type CallSink, type Dispatch, type DispatchController,
  type DispatchHandler, type Target, type UpstreamFailure, type UpstreamRequest,
} from '../../src/upstream/index.js';

// The call report measured without sockets: scripted replicas the spec reports into by hand, on a
// ManualTime, so every latency below is exact.

class FakeCall implements CallControl {
  aborted = false;
  constructor(readonly sink: CallSink) {}
  pause(): void {}
  resume(): void {}
  abort(): void { this.aborted = true; }
  chunk(c: UpstreamChunk): void { this.sink.onChunk(c); }
  token(text = 'x', finish: string | null = null): void { this.chunk({ choices: [{ index: 0, delta: { content: text }, finish_reason: finish }] }); }
  usage(prompt: number, completion: number, cached?: number): void {
    this.chunk({ choices: [], usage: { prompt_tokens: prompt, completion_tokens: completion, prompt_tokens_details: cached === undefined ? null : { cached_tokens: cached } } });
  }
  done(): void { this.sink.onDone(); }
  complete(c: UpstreamCompletion): void { this.sink.onCompletion(c); }
  fail(f: UpstreamFailure): void { this.sink.onFailure(f); }
}

class FakeReplica implements Target {
  readonly replica = { inflight: 0, inflightTokens: 0, pendingPrefill: 0, servedModel: 'm' };
  readonly calls: FakeCall[] = [];
  constructor(readonly id: string) {}
  chat(_b: UpstreamChatBody, _s: boolean, sink: CallSink): CallControl {
    const c = new FakeCall(sink);
    this.calls.push(c);
    return c;
  }
  get last(): FakeCall { return this.calls[this.calls.length - 1]; }
}

class FakeRequest implements UpstreamRequest<FakeReplica> {
  readonly body: UpstreamChatBody = { model: 'm', messages: [] };
  readonly tokens = 10;
  readonly prefillOwed = 0;
  attempts = 0;
  budgetShare: RetryBudget | null = null;
  clientGone = false;
  #next = 0;
  constructor(readonly replicas: FakeReplica[], readonly stream = true, readonly model = 'm') {}
  pick(): FakeReplica | null { return this.replicas[this.#next++] ?? null; }
  crashed(err: unknown): void { throw err; }
}

class Client implements DispatchHandler<FakeReplica> {
  controller: DispatchController<FakeReplica> | null = null;
  chunks = 0;
  done = false;
  completion: UpstreamCompletion | null = null;
  failure: UpstreamFailure | null = null;
  onStart(call: DispatchController<FakeReplica>): void { this.controller = call; }
  onChunk(): void { this.chunks++; }
  onDone(): void { this.done = true; }
  onCompletion(_c: DispatchController<FakeReplica>, c: UpstreamCompletion): void { this.completion = c; }
  onFailure(_c: DispatchController<FakeReplica>, f: UpstreamFailure): void { this.failure = f; }
}

class Sink implements CallReportSink<FakeReplica> {
  readonly asked: string[] = [];
  readonly calls: Array<{ replica: string; r: CallReport }> = [];
  constructor(readonly models: ReadonlySet<string>) {}
  watching(model: string): boolean {
    this.asked.push(model);
    return this.models.has(model);
  }
  call(t: FakeReplica, r: CallReport): void { this.calls.push({ replica: t.id, r }); }
}

function rig(o: { watched?: string[]; hedgeDelayMs?: number; maxAttempts?: number } = {}) {
  const time = new ManualTime(1_000);
  const sink = new Sink(new Set(o.watched ?? ['m']));
  const rule = { maxAttempts: o.maxAttempts ?? 1, backoff: { baseMs: 10, maxMs: 10 } };
  const budget = new RetryBudget(1, 10);
  const metrics = { retried() {}, hedged() {}, overflowed() {} };
  const send: Dispatch<FakeReplica> = compose<FakeReplica>(replicaDispatch, [
    callReport(sink, time),
    o.hedgeDelayMs === undefined ? null : hedge({ delayMs: o.hedgeDelayMs, rule, budget, timers: time, metrics }),
    retry({ rule, budget, timers: time, rng: () => 0.5, metrics }),
  ]);
  return { time, sink, send };
}

const S500: UpstreamFailure = { kind: 'status', status: 500, body: 'boom' };

describe('call report: what is measured', () => {
  it('a streamed call: TTFT sent → first chunk, ITL first → last chunk per token after the first, tokens from the usage', () => {
    const { time, sink, send } = rig();
    const r = new FakeReplica('a');
    const sentAt = time.monoMs();
    send(new FakeRequest([r]), new Client());
    time.advance(120);
    r.last.token();            // first chunk at 120 ms
    time.advance(30);
    r.last.token();
    time.advance(30);
    r.last.token('x', 'stop'); // last chunk 60 ms after the first
    time.advance(5);
    r.last.usage(300, 4, 256); // 4 tokens: 3 gaps after the first (usage-only chunks are not tokens)
    r.last.done();
    expect(sink.calls).toEqual([{ replica: 'a', r: {
      atMs: time.monoMs(), sentAtMs: sentAt, stream: true, failed: false, ttftMs: 120, itlMs: 20,
      promptTokens: 300, promptEstimate: 0, cachedTokens: 256, outputTokens: 4, truncated: false,
    } }]);
  });

  it('finish reason `length` is a truncation', () => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    send(new FakeRequest([r]), new Client());
    r.last.token();
    r.last.token('x', 'length');
    r.last.usage(10, 2);
    r.last.done();
    expect(sink.calls[0].r.truncated).toBe(true);
  });

  it('a call not streamed: no TTFT, ITL = duration / output tokens', () => {
    const { time, sink, send } = rig();
    const r = new FakeReplica('a');
    const client = new Client();
    send(new FakeRequest([r], false), client);
    time.advance(400);
    r.last.complete({
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 50, completion_tokens: 8, prompt_tokens_details: { cached_tokens: 32 } },
    });
    expect(client.completion).not.toBeNull();
    expect(sink.calls[0].r).toMatchObject({ stream: false, failed: false, ttftMs: null, itlMs: 50, promptTokens: 50, cachedTokens: 32, outputTokens: 8 });
  });

  it('a stream without usage counts its chunks as the output', () => {
    const { time, sink, send } = rig();
    const r = new FakeReplica('a');
    send(new FakeRequest([r]), new Client());
    r.last.token();
    time.advance(10);
    r.last.token();
    time.advance(10);
    r.last.token();
    r.last.done();
    expect(sink.calls[0].r).toMatchObject({ outputTokens: 3, itlMs: 10, promptTokens: null, cachedTokens: 0 });
  });

  it('a single-token stream has no ITL', () => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    send(new FakeRequest([r]), new Client());
    r.last.token();
    r.last.usage(5, 1);
    r.last.done();
    expect(sink.calls[0].r.itlMs).toBeNull();
  });
});

describe('call report: failures', () => {
  it.each([
    { why: 'a 5xx', f: S500 },
    { why: 'a broken stream', f: { kind: 'broken', message: 'reset' } as UpstreamFailure },
    { why: 'a timeout', f: { kind: 'timeout', phase: 'first_token' } as UpstreamFailure },
    { why: 'a refused connection', f: { kind: 'connect', message: 'ECONNREFUSED', refused: true } as UpstreamFailure },
  ])('$why is a failed call (the version\'s fault)', ({ f }) => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    const client = new Client();
    send(new FakeRequest([r]), client);
    r.last.fail(f);
    expect(client.failure).toEqual(f);
    expect(sink.calls).toHaveLength(1);
    expect(sink.calls[0].r).toMatchObject({ failed: true, ttftMs: null, itlMs: null, truncated: false, promptTokens: null });
  });

  it('a failed call carries the request\'s own prompt estimate, so it can be sized without usage', () => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    const req = Object.assign(new FakeRequest([r]), { promptTokens: 42 });
    send(req, new Client());
    r.last.fail(S500);
    expect(sink.calls[0].r).toMatchObject({ failed: true, promptTokens: null, promptEstimate: 42 });
  });

  it('a 4xx is no sample: the request was at fault, not the version', () => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    send(new FakeRequest([r]), new Client());
    r.last.fail({ kind: 'status', status: 400, body: 'bad' });
    expect(sink.calls).toEqual([]);
  });

  it('a retried request gives one sample per call: the failed one and the one that answered, each timed from its own send', () => {
    const { time, sink, send } = rig({ maxAttempts: 2 });
    const rs = [new FakeReplica('a'), new FakeReplica('b')];
    const first = time.monoMs();
    send(new FakeRequest(rs), new Client());
    rs[0].last.fail(S500);
    time.runAll();
    const retried = time.monoMs();
    rs[1].last.token();
    rs[1].last.done();
    expect(sink.calls.map((c) => [c.replica, c.r.failed, c.r.sentAtMs])).toEqual([['a', true, first], ['b', false, retried]]);
    expect(retried).toBeGreaterThan(first);
  });
});

describe('call report: calls the gateway cancelled are no sample', () => {
  it('a hedge that lost the race', () => {
    const { time, sink, send } = rig({ hedgeDelayMs: 50, maxAttempts: 2 });
    const rs = [new FakeReplica('slow'), new FakeReplica('fast')];
    send(new FakeRequest(rs), new Client());
    time.advance(50); // the hedge goes to `fast`
    rs[1].last.token();
    rs[1].last.done();
    expect(rs[0].last.aborted).toBe(true);
    expect(sink.calls.map((c) => c.replica)).toEqual(['fast']);
    expect(sink.calls[0].r.ttftMs).toBe(0); // measured from the hedge's own send
  });

  it('a client that went away', () => {
    const { sink, send } = rig();
    const r = new FakeReplica('a');
    const client = new Client();
    send(new FakeRequest([r]), client);
    r.last.token();
    client.controller!.abort();
    expect(r.last.aborted).toBe(true);
    expect(sink.calls).toEqual([]);
  });
});

describe('call report: unwatched models', () => {
  it('a model no rollout watches is not wrapped: the client\'s handler goes straight to the dispatch', () => {
    const time = new ManualTime(0);
    const sink = new Sink(new Set(['other']));
    const seen: DispatchHandler<FakeReplica>[] = [];
    const next: Dispatch<FakeReplica> = (_req, h) => { seen.push(h); return true; };
    const client = new Client();
    callReport(sink, time)(next)(new FakeRequest([]), client);
    expect(sink.asked).toEqual(['m']);
    expect(seen).toEqual([client]);
    expect(seen[0]).toBe(client);
  });

  it('and its calls give no sample', () => {
    const { sink, send } = rig({ watched: [] });
    const r = new FakeReplica('a');
    send(new FakeRequest([r]), new Client());
    r.last.token();
    r.last.done();
    expect(sink.calls).toEqual([]);
  });
});
