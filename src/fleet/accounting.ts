// In-flight accounting on a replica: what the gateway has sent it and not yet seen finish, the
// counts the load-aware scorers read. One implementation, called by the gateway's exchange and by
// the simulator, so the two cannot drift. Counts never go below zero: a late or doubled release
// (a cancelled hedge racing its own failure) must not make a replica look emptier than idle.

/** The counters a replica carries for routing (a live `Replica` and a simulated one both do). */
export interface InFlightCounts {
  /** requests sent and not finished */
  inflight: number;
  /** their prompt + expected output tokens */
  inflightTokens: number;
  /** prompt tokens believed uncached, owed by requests that have no first token yet */
  pendingPrefill: number;
}

/** A request of `tokens` went to the replica, `prefill` of them believed uncached. */
export function dispatched(r: InFlightCounts, tokens: number, prefill: number): void {
  r.inflight++;
  r.inflightTokens += tokens;
  r.pendingPrefill += prefill;
}

/** The request's first token came: the prefill it owed is done. */
export function prefilled(r: InFlightCounts, prefill: number): void {
  r.pendingPrefill = Math.max(0, r.pendingPrefill - prefill);
}

/** The request ended, however; `prefill` is what it still owed (0 after its first token). */
export function released(r: InFlightCounts, tokens: number, prefill: number): void {
  r.inflight = Math.max(0, r.inflight - 1);
  r.inflightTokens = Math.max(0, r.inflightTokens - tokens);
  r.pendingPrefill = Math.max(0, r.pendingPrefill - prefill);
}
