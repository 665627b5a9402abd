import { vi } from 'vitest';
import type { SloConfig } from '../../../src/config/index.js';
import type { UsageRecord } from '../../../src/ledger/index.js';
import type { Logger } from '../../../src/observe/index.js';
import { createSloTracker, type SloTracker, type SloTrackerOptions } from '../../../src/observe/slo/index.js';
import { ManualTime } from '../../../src/time/index.js';

// A tracker on a virtual clock, its log lines caught with the virtual time they were written at,
// and a steady stream of requests to drive it.

/** 2026-11-02 00:00 UTC */
export const T0 = Date.UTC(2026, 10, 2);
export const SECOND = 1_000;
export const MINUTE = 60_000;
export const HOUR = 3_600_000;
export const DAY = 86_400_000;

export function record(status: number, o: Partial<UsageRecord> = {}): UsageRecord {
  return {
    requestId: 'req', startedAt: T0, tenantId: 'ten', workspaceId: 'wrk', keyId: 'key', tier: 'default', model: 'm',
    replica: 'r', region: 'us-east', wire: 'openai', stream: true, status, outcome: status >= 500 ? 'upstream_error' : status >= 400 ? 'client_error' : 'ok',
    inputTokens: 10, cachedInputTokens: 0, outputTokens: 20, ttftMs: 120, latencyMs: 900, costUsd: 0, ...o,
  };
}

export const OK = record(200);
export const FAILED = record(500);

export interface LogLine {
  readonly at: number;
  readonly level: 'warn' | 'info' | 'error';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

export interface Rig {
  readonly time: ManualTime;
  readonly tracker: SloTracker;
  readonly lines: LogLine[];
  /** `rps` requests a second for `ms`; request number i (counted over the rig's life) fails when `fails(i)` */
  run(ms: number, rps: number, fails: (i: number) => boolean): void;
}

export function availability(o: Partial<SloConfig> = {}): SloConfig {
  return { kind: 'availability', name: 'chat-availability', model: '*', tier: '*', objective: 0.999, windowDays: 30, ...o } as SloConfig;
}

export function rig(slos: readonly SloConfig[], o: Partial<SloTrackerOptions> = {}, start = T0): Rig {
  const time = new ManualTime(start);
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => vi.fn((fields: Record<string, unknown>, msg: string) => void lines.push({ at: time.nowMs(), level, msg, fields }));
  const log = { warn: at('warn'), info: at('info'), error: at('error') } as unknown as Logger;
  const tracker = createSloTracker(slos, { clock: time, timers: time, log, ...o });
  if (tracker === null) throw new Error('no SLO configured');
  let n = 0;
  return {
    time, tracker, lines,
    run(ms, rps, fails) {
      const step = 1_000 / rps;
      for (let t = 0; t < ms; t += step) {
        time.advance(step);
        tracker.settled(fails(n++) ? FAILED : OK, 'default');
      }
    },
  };
}

/** the first log line from `since` on saying `msg` of `rule`, or undefined */
export function first(lines: readonly LogLine[], msg: string, rule: string, since: number): LogLine | undefined {
  return lines.find((l) => l.at >= since && l.msg === msg && l.fields.rule === rule);
}
