import { OutlierDetector, type OutlierEvent, type OutlierPolicy, type OutlierStats } from './outlier.js';

// Outlier detection per pool (one model's replicas in one region: latency is only comparable
// there), as the gateway's fleet watch and the simulator both keep it: group the replicas, feed
// each pool's detector, and apply what it decides to the owner's picture of the fleet. A replica
// whose health check passes again is a fresh process: its ejection is lifted (Envoy's
// successful_active_health_check_uneject_host), and the failures of requests stuck through the
// outage no longer count against it.

/** A replica as the pools see it: its region here, its model through `modelOf`. */
export interface PoolMember {
  readonly region: string;
}

/** What the owner does with a decision. */
export interface OutlierActions<H> {
  /** take it out of rotation until `untilMs` */
  eject(h: H, e: Extract<OutlierEvent, { kind: 'ejected' }>): void;
  /** put it back, if it is out (the owner knows whether it is) */
  readmit(h: H): void;
}

interface Pool<H> {
  readonly detector: OutlierDetector;
  readonly hosts: H[];
}

export class OutlierPools<H extends PoolMember> {
  readonly #policy: OutlierPolicy;
  readonly #act: OutlierActions<H>;
  readonly #modelOf: (h: H) => string;
  readonly #pools = new Map<string, Pool<H>>();
  readonly #host = new Map<H, number>();
  readonly #poolOf = new Map<H, Pool<H>>();

  constructor(policy: OutlierPolicy, actions: OutlierActions<H>, modelOf: (h: H) => string) {
    this.#policy = policy;
    this.#act = actions;
    this.#modelOf = modelOf;
  }

  /** The fleet's members now: pools whose members changed start afresh, the others keep their counts. */
  regroup(members: Iterable<H>): void {
    const groups = new Map<string, H[]>();
    for (const h of members) {
      const key = `${this.#modelOf(h)}\u0000${h.region}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(h);
    }
    this.#poolOf.clear();
    for (const [key, hosts] of groups) {
      let p = this.#pools.get(key);
      if (p === undefined || p.hosts.length !== hosts.length || p.hosts.some((h, i) => h !== hosts[i])) {
        p = { detector: new OutlierDetector(this.#policy, hosts.length), hosts };
        this.#pools.set(key, p);
      }
      for (let i = 0; i < hosts.length; i++) {
        this.#host.set(hosts[i], i);
        this.#poolOf.set(hosts[i], p);
      }
    }
    for (const key of [...this.#pools.keys()]) if (!groups.has(key)) this.#pools.delete(key);
    for (const h of [...this.#host.keys()]) if (!this.#poolOf.has(h)) this.#host.delete(h);
  }

  /** A request to it went well; `latencyMs` is its time to first byte. */
  success(h: H, latencyMs: number, nowMs: number): void {
    const p = this.#poolOf.get(h);
    if (p !== undefined) p.detector.success(this.#host.get(h)!, latencyMs, nowMs);
  }

  /** A request failed because of it; `sentAtMs`: when that request was sent. */
  failure(h: H, nowMs: number, sentAtMs: number = nowMs): void {
    const p = this.#poolOf.get(h);
    if (p === undefined) return;
    const e = p.detector.failure(this.#host.get(h)!, nowMs, sentAtMs);
    if (e !== null) this.#apply(p, e);
  }

  /** Judges failure rates and latency, and re-admits replicas whose ejection has run out. */
  sweep(nowMs: number): void {
    for (const p of this.#pools.values()) for (const e of p.detector.sweep(nowMs)) this.#apply(p, e);
  }

  /** Its health check passes again (or an operator lets it back in early). */
  readmit(h: H, nowMs: number): void {
    const p = this.#poolOf.get(h);
    if (p !== undefined) p.detector.readmit(this.#host.get(h)!, nowMs);
    this.#act.readmit(h);
  }

  stats(h: H, nowMs: number): OutlierStats | null {
    const p = this.#poolOf.get(h);
    return p === undefined ? null : p.detector.stats(this.#host.get(h)!, nowMs);
  }

  #apply(p: Pool<H>, e: OutlierEvent): void {
    const h = p.hosts[e.host];
    if (h === undefined) return;
    if (e.kind === 'ejected') this.#act.eject(h, e);
    else this.#act.readmit(h);
  }
}
