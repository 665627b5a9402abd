// What a routing decision reads: the candidate endpoints as the router last saw them, the
// request's constraints and keys, and the learned state it may consult. All handed in; nothing
// here reads a clock, the network or a global.

/** Load a replica reported in its last scrape (vLLM's gauges), stamped with when it was read. */
export interface ScrapedLoad {
  /** vLLM `num_requests_waiting` */
  readonly waiting: number;
  /** vLLM `num_requests_running` */
  readonly running: number;
  /** 0–1, vLLM `kv_cache_usage_perc` */
  readonly kvUsage: number;
  /** when the scrape was answered, seconds on the router's clock */
  readonly atS: number;
  /** this router's in-flight count on the replica when the scrape was answered (optimistic accounting) */
  readonly inflightAtScrape: number;
}

/** One replica as the router sees it. */
export interface Endpoint {
  /** stable index of the replica in its fleet; the learned state (prefix index, sessions) keys on it */
  readonly slot: number;
  readonly region: string;
  /** probed healthy, not ejected as an outlier, not draining */
  readonly routable: boolean;
  /** requests this router sent and has not seen finish: exact and current, unlike a scrape */
  readonly inflight: number;
  /** prompt + expected output tokens of those requests */
  readonly inflightTokens: number;
  /** uncached prompt tokens of those requests that have no first token yet: the prefill work queued ahead */
  readonly pendingPrefill: number;
  /** the last scrape; null when none yet */
  readonly scraped: ScrapedLoad | null;
  /** the model version it serves, and that version's share of traffic (a rollout's weights) */
  readonly version: string;
  readonly versionWeight: number;
}

/** One request's routing constraints and keys. */
export interface RouteRequest {
  /** where the request entered: its region is preferred while it has a usable replica */
  readonly homeRegion: string;
  /** data residency: regions it may be served in; null = any */
  readonly allowedRegions: readonly string[] | null;
  /** slots of the replicas already tried for this request; null on a first attempt */
  readonly exclude: readonly number[] | null;
  /** chained hashes of the prompt, one per prefix block (see `prefixStride`); null = none computed */
  readonly prefix: Float64Array | null;
  /** read every `prefixStride`-th hash (the simulator hands the engine's 16-token blocks) */
  readonly prefixStride: number;
  /** prefix blocks of the prompt (≤ prefix.length / prefixStride) */
  readonly prefixBlocks: number;
  /** session affinity key (a header or `metadata.user_id`); null = none */
  readonly sessionKey: string | null;
  /** prompt + expected output tokens, for in-flight token accounting */
  readonly tokens: number;
  /** prompt tokens (estimated where there is no tokenizer) */
  readonly promptTokens: number;
  /** [0, 1) from the caller's seeded source */
  readonly random: number;
  /** the router's request counter (round robin) */
  readonly sequence: number;
  /** seconds on the router's clock, to age scrapes */
  readonly nowS: number;
}

/** The approximate prefix index kept from the router's own decisions (fleet/ owns it). */
export interface PrefixLookup {
  /**
   * For each candidate position, how many leading prefix blocks of the request its slot is
   * believed to hold; written to `out`. Returns the deepest match.
   */
  match(candidates: readonly Endpoint[], positions: Int32Array, count: number, req: RouteRequest, out: Float64Array): number;
}

/** Prefix blocks a replica reports it holds (precise: from the replicas' own KV events). */
export interface CachedBlocks {
  /** leading prefix blocks of the request cached on the slot */
  cachedPrefix(slot: number, req: RouteRequest): number;
}

/** Which slot last served a session (fleet/ owns it). */
export interface SessionLookup {
  slotOf(key: string): number;
}

/** What the router may consult besides the candidates. Missing parts make their scorers neutral. */
export interface RoutingState {
  readonly prefixIndex: PrefixLookup | null;
  readonly cachedBlocks: CachedBlocks | null;
  readonly sessions: SessionLookup | null;
}
