// Month-to-date spend per workspace, as the gateway enforces monthly spend limits. The ledger is the
// truth; re-reading it on every request would put a database round trip on the hot path, so the
// gateway re-reads it every few seconds and adds what it has settled itself since. The figure is
// conservative between reads (a record may be counted both ways until the next read) and other
// gateway instances' spend shows up at their next flush and this one's next read.

/** 00:00 UTC on the first day of the month of `nowMs`. */
export function monthStartUtc(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

/** 00:00 UTC on the first day of the next month: when a spent budget comes back. */
export function nextMonthUtc(nowMs: number): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
}

export class MonthlySpend {
  #month = -1;
  /** from the ledger, as of the last read */
  #read = new Map<string, number>();
  /** settled here since that read began */
  #local = new Map<string, number>();
  /** settled here while a read was in flight (it may or may not include them) */
  #during: Map<string, number> | null = null;

  /** USD spent by the workspace this month, as far as this instance knows. */
  spent(workspaceId: string, nowMs: number): number {
    if (monthStartUtc(nowMs) !== this.#month) return 0;
    return (this.#read.get(workspaceId) ?? 0) + (this.#local.get(workspaceId) ?? 0) + (this.#during?.get(workspaceId) ?? 0);
  }

  /** A request of this workspace settled, costing `usd`. */
  add(workspaceId: string, usd: number, nowMs: number): void {
    if (usd <= 0) return;
    this.#turn(nowMs);
    this.#local.set(workspaceId, (this.#local.get(workspaceId) ?? 0) + usd);
  }

  /** A read of the ledger begins: returns the month it must sum from. */
  beginRead(nowMs: number): number {
    this.#turn(nowMs);
    this.#during = this.#local;
    this.#local = new Map();
    return this.#month;
  }

  /**
   * The read that began for `month` returned these sums. What was settled while it ran is kept
   * until the next read (it may be in these sums too: counted twice for one period, never missed).
   */
  endRead(month: number, sums: ReadonlyMap<string, number>): void {
    if (month === this.#month) this.#read = new Map(sums);
    this.failRead();
  }

  /** The read failed: keep counting what was settled meanwhile. */
  failRead(): void {
    const during = this.#during;
    this.#during = null;
    if (during === null) return;
    for (const [w, usd] of during) this.#local.set(w, (this.#local.get(w) ?? 0) + usd);
  }

  #turn(nowMs: number): void {
    const m = monthStartUtc(nowMs);
    if (m === this.#month) return;
    // a new month: last month's spend no longer counts
    this.#month = m;
    this.#read = new Map();
    this.#local = new Map();
  }
}
