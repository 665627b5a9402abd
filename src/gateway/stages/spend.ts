import type { GatewayError } from '../../api/index.js';
import { nextMonthUtc, type MonthlySpend } from '../../limits/index.js';
import type { GatewayMetrics } from '../../observe/index.js';
import { wallClock, type Clock } from '../../time/index.js';
import type { RequestContext } from '../context.js';
import type { Stage } from '../pipeline.js';

export interface SpendDeps {
  readonly spend: Pick<MonthlySpend, 'spent'>;
  readonly metrics: Pick<GatewayMetrics, 'spendLimited'>;
  readonly clock?: Clock;
}

/** Refuses a request whose workspace has reached its monthly spend limit (its own, else its tier's). */
export function spendLimit(d: SpendDeps): Stage {
  const clock = d.clock ?? wallClock;
  return (cx: RequestContext): GatewayError | null => {
    const auth = cx.auth!;
    const limit = auth.spendLimitUsd ?? cx.tier!.monthlySpendUsd;
    if (limit === null) return null;
    const now = clock.nowMs();
    const spent = d.spend.spent(auth.workspaceId, now);
    if (spent < limit) return null;
    d.metrics.spendLimited.inc();
    const back = new Date(nextMonthUtc(now)).toISOString().slice(0, 10);
    return {
      kind: 'spend_limited',
      message: `You have reached your workspace's monthly spend limit of $${limit.toFixed(2)} ($${spent.toFixed(2)} spent this month). You will regain access on ${back} at 00:00 UTC, or an admin can raise the limit.`,
    };
  };
}
