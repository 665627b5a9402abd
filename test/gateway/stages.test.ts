import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import type { Priority } from '../../src/admission/index.js';
import type { GatewayError } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { requestContext, type RequestContext } from '../../src/gateway/context.js';
import type { Tier } from '../../src/gateway/rate-limits.js';
import { compose, type Stage } from '../../src/gateway/pipeline.js';
import { priorityAndDeadline } from '../../src/gateway/stages/priority.js';
import { spendLimit } from '../../src/gateway/stages/spend.js';
import { anthropicVersion } from '../../src/gateway/stages/version.js';
import type { AuthContext } from '../../src/tenancy/index.js';
import { ManualTime } from '../../src/time/index.js';

// The stages as plain functions over a RequestContext: no server, no platform.

const config = loadConfig(undefined, { port: 0 });
const classes = config.admission.classes;
const tier: Tier = { ...config.tiers.default, priority: 'standard', monthlySpendUsd: null };
const auth: AuthContext = { keyId: 'key_a', tenantId: 'ten_a', workspaceId: 'wrk_a', tier: 'default', allowedRegions: null, priority: null, spendLimitUsd: null };

function cx(headers: Record<string, string> = {}, who: Partial<AuthContext> = {}): RequestContext {
  const req = { headers } as unknown as IncomingMessage;
  const res = { setHeader() {} } as unknown as ServerResponse;
  const c = requestContext(req, res, 'anthropic', 'req_test', 0, 0);
  c.auth = { ...auth, ...who };
  c.tier = tier;
  return c;
}

describe('the anthropic-version stage', () => {
  it.each([
    ['a dated version', { 'anthropic-version': '2023-06-01' }, null],
    ['no header', {}, /header is required/],
    ['a version that is not a date', { 'anthropic-version': 'latest' }, /"latest" is not a valid version/],
    ['a date with the wrong shape', { 'anthropic-version': '2023-6-1' }, /is not a valid version/],
    ['the shape of a date that is no day: month 13, day 45', { 'anthropic-version': '2023-13-45' }, /"2023-13-45" is not a valid version/],
    ['February 30th', { 'anthropic-version': '2023-02-30' }, /is not a valid version/],
    ['February 29th of a common year', { 'anthropic-version': '2023-02-29' }, /is not a valid version/],
    ['February 29th of 1900 (divisible by 100, not by 400)', { 'anthropic-version': '1900-02-29' }, /is not a valid version/],
    ['month 00', { 'anthropic-version': '2023-00-10' }, /is not a valid version/],
    ['day 00', { 'anthropic-version': '2023-06-00' }, /is not a valid version/],
    ['February 29th of a leap year', { 'anthropic-version': '2024-02-29' }, null],
    ['February 29th of 2000', { 'anthropic-version': '2000-02-29' }, null],
    ['the last day of a 31-day month', { 'anthropic-version': '2023-12-31' }, null],
  ])('%s', (_why, headers: Record<string, string>, expected) => {
    const e = anthropicVersion(cx(headers));
    if (expected === null) expect(e).toBeNull();
    else expect(e).toMatchObject({ kind: 'invalid_request', message: expect.stringMatching(expected) });
  });

  it('quotes a long header by its start only', () => {
    const e = anthropicVersion(cx({ 'anthropic-version': 'x'.repeat(4_000) }));
    expect(e?.message.length).toBeLessThan(120);
  });
});

describe('the priority and deadline stage', () => {
  const stage = priorityAndDeadline({ rateLimits: { tierOf: () => tier }, admission: { classes } });
  const run = (headers: Record<string, string>, who: Partial<AuthContext> = {}) => {
    const c = cx(headers, who);
    return { err: stage(c) as GatewayError | null, cx: c };
  };

  it.each([
    ['no header: the tier\'s priority', {}, {}, 'standard'],
    ['no header: the key\'s own priority over its tier\'s', {}, { priority: 'interactive' as const }, 'interactive'],
    ['a lower priority asked for is given', { 'x-switchyard-priority': 'batch' }, {}, 'batch'],
    ['a higher priority asked for is not (a request cannot raise itself)', { 'x-switchyard-priority': 'interactive' }, {}, 'standard'],
    ['the same priority asked for is given', { 'x-switchyard-priority': 'standard' }, {}, 'standard'],
  ])('%s', (_why, headers, who, p) => {
    const priority = p as Priority;
    const { err, cx: c } = run(headers, who);
    expect(err).toBeNull();
    expect(c.priority).toBe(priority);
    expect(c.tier).toBe(tier);
    expect(c.deadlineMs).toBe(classes[priority].deadlineMs);
  });

  it('refuses a priority it does not know, naming the ones it does', () => {
    expect(run({ 'x-switchyard-priority': 'urgent' }).err).toMatchObject({ kind: 'invalid_request', message: expect.stringMatching(/interactive, standard, batch/) });
  });

  it('takes a shorter deadline than the class\'s, never a longer one', () => {
    const own = classes.standard.deadlineMs;
    expect(run({ 'x-switchyard-deadline-ms': '250' }).cx.deadlineMs).toBe(Math.min(own, 250));
    expect(run({ 'x-switchyard-deadline-ms': String(own * 10) }).cx.deadlineMs).toBe(own);
  });

  it.each(['0', '-5', '1.5', 'soon', '1e3', '1234567890'])('refuses the deadline header %j (a whole number of ms, at least 1)', (d) => {
    expect(run({ 'x-switchyard-deadline-ms': d }).err).toMatchObject({ kind: 'invalid_request', message: expect.stringMatching(/x-switchyard-deadline-ms/) });
  });
});

describe('the spend-limit stage', () => {
  // 2026-03-15, so "access again" is 2026-04-01
  const time = new ManualTime(Date.UTC(2026, 2, 15));
  const spentSoFar = 10;
  const spendLimited = { inc: vi.fn() };
  const stage = spendLimit({ spend: { spent: () => spentSoFar }, metrics: { spendLimited } as never, clock: time });

  it.each([
    ['no limit anywhere', null, null, null],
    ['under the workspace\'s limit', 20, null, null],
    ['at the workspace\'s limit', 10, null, 'spend_limited'],
    ['under the tier\'s limit, with none of its own', null, 20, null],
    ['over the tier\'s limit, with none of its own', null, 5, 'spend_limited'],
    ['the workspace\'s own limit wins over its tier\'s', 20, 5, null],
  ])('%s', (_why, own, tierLimit, kind) => {
    spendLimited.inc.mockClear();
    const c = cx({}, { spendLimitUsd: own });
    c.tier = { ...tier, monthlySpendUsd: tierLimit };
    const e = stage(c) as GatewayError | null;
    expect(e?.kind ?? null).toBe(kind);
    expect(spendLimited.inc).toHaveBeenCalledTimes(kind === null ? 0 : 1);
  });

  it('says when access comes back: the first of next month, UTC', () => {
    const c = cx({}, { spendLimitUsd: 10 });
    expect((stage(c) as GatewayError).message).toMatch(/\$10\.00 \(\$10\.00 spent this month\).*2026-04-01 at 00:00 UTC/);
  });
});

describe('compose', () => {
  const pass: Stage = () => null;
  const refuseWith = (message: string): Stage => () => ({ kind: 'invalid_request', message });

  it('stays synchronous when every stage is', () => {
    const end = { pass: vi.fn(), refuse: vi.fn() };
    const out = compose([pass, pass], end)(cx());
    expect(out).toBeUndefined();
    expect(end.pass).toHaveBeenCalledTimes(1);
    expect(end.refuse).not.toHaveBeenCalled();
  });

  it('sends the first refusal to refuse, and runs no stage after it', () => {
    const later = vi.fn(pass);
    const end = { pass: vi.fn(), refuse: vi.fn() };
    compose([pass, refuseWith('first'), refuseWith('second'), later], end)(cx());
    expect(end.refuse).toHaveBeenCalledTimes(1);
    expect(end.refuse.mock.calls[0][1]).toMatchObject({ message: 'first' });
    expect(later).not.toHaveBeenCalled();
    expect(end.pass).not.toHaveBeenCalled();
  });

  it('awaits only a stage that returns a promise, then goes on in order', async () => {
    const order: string[] = [];
    const end = { pass: vi.fn(() => void order.push('pass')), refuse: vi.fn() };
    const run = compose([
      () => (order.push('sync'), null),
      () => Promise.resolve(null).then(() => (order.push('async'), null)),
      () => (order.push('after'), null),
    ], end);
    const out = run(cx());
    expect(out).toBeInstanceOf(Promise);
    expect(order).toEqual(['sync']);
    await out;
    expect(order).toEqual(['sync', 'async', 'after', 'pass']);
  });

  it('hands an async refusal to refuse', async () => {
    const end = { pass: vi.fn(), refuse: vi.fn() };
    await compose([() => Promise.resolve({ kind: 'invalid_request', message: 'later' } as GatewayError)], end)(cx());
    expect(end.refuse.mock.calls[0][1]).toMatchObject({ message: 'later' });
    expect(end.pass).not.toHaveBeenCalled();
  });
});
