import { LATENCY_BOUNDS_SECONDS } from '../../observability/request-metrics';

/** What a member's Stats says of its store and process, shown as it is. */
interface HeldFigures {
  keys: number;
  bytes: number;
  maxBytes: number;
  hits: number;
  misses: number;
  hintsPending: number;
  rssBytes: number;
}

/** One member's figures, as the dashboard shows them in its members table. */
export interface MemberFigures extends HeldFigures {
  /** Cache calls answered per second lately; null until two answers a second apart. */
  opsPerSec: number | null;
  /** Upper bound (ms) of the latency bucket holding the 99th percentile; null without calls. */
  p99Ms: number | null;
}

/** What a peer's Cluster.Stats answer gives the dashboard. */
export interface PeerStats extends HeldFigures {
  /** Cache calls answered since the peer started. */
  requests: number;
  /** Calls per bucket of LATENCY_BOUNDS_SECONDS (not cumulative), the last one past them. */
  requestDurationCounts: number[];
}

/** How long one poll of a peer may take: the next one is due a second later. */
const POLL_DEADLINE_MS = 900;

/**
 * The other members' figures, for the dashboard's members table and cluster totals: each live
 * member's Cluster.Stats (the call `ringcache status` makes), asked over this node's peer connections
 * once a second while a dashboard page is open here, so a closed dashboard costs nothing. Rates and
 * percentiles come from the difference between two answers, as Prometheus' rate() would. A member
 * that does not answer in time shows no figures until it does; a restarted one (its counter went
 * down) starts over.
 */
export class PeerFigures {
  readonly #ask: (id: string, deadlineMs: number) => Promise<PeerStats>;
  readonly #now: () => number;
  readonly #last = new Map<string, { atMs: number; requests: number; counts: number[] }>();
  readonly #figures = new Map<string, MemberFigures>();
  #inFlight = 0;

  constructor(ask: (id: string, deadlineMs: number) => Promise<PeerStats>, now: () => number = Date.now) {
    this.#ask = ask;
    this.#now = now;
  }

  /**
   * Asks each of `ids` for its figures, and forgets every member not among them. Returns at once;
   * a round still waiting for an answer is not doubled (a slow peer must not pile calls up).
   * Resolves when this round's answers are in (tests await it).
   */
  poll(ids: readonly string[]): Promise<void> {
    for (const id of this.#figures.keys()) if (!ids.includes(id)) this.forget(id);
    if (this.#inFlight > 0) return Promise.resolve();
    const deadlineMs = this.#now() + POLL_DEADLINE_MS;
    this.#inFlight = ids.length;
    return Promise.all(
      ids.map((id) =>
        this.#ask(id, deadlineMs)
          .then(
            (stats) => this.#take(id, stats),
            () => this.forget(id),
          )
          .finally(() => this.#inFlight--),
      ),
    ).then(() => undefined);
  }

  /** The last figures of `id`; undefined when it has not answered lately. */
  of(id: string): MemberFigures | undefined {
    return this.#figures.get(id);
  }

  forget(id: string): void {
    this.#figures.delete(id);
    this.#last.delete(id);
  }

  #take(id: string, s: PeerStats): void {
    const atMs = this.#now();
    const prev = this.#last.get(id);
    let opsPerSec: number | null = null;
    let p99Ms: number | null = null;
    if (prev && atMs > prev.atMs && s.requests >= prev.requests) {
      const calls = s.requests - prev.requests;
      opsPerSec = Math.round((calls * 1000) / (atMs - prev.atMs));
      const delta = s.requestDurationCounts.map((n, i) => n - (prev.counts[i] ?? 0));
      p99Ms = percentileMs(delta, calls, 0.99);
    }
    this.#last.set(id, { atMs, requests: s.requests, counts: s.requestDurationCounts });
    this.#figures.set(id, {
      opsPerSec,
      p99Ms,
      keys: s.keys,
      bytes: s.bytes,
      maxBytes: s.maxBytes,
      hits: s.hits,
      misses: s.misses,
      hintsPending: s.hintsPending,
      rssBytes: s.rssBytes,
    });
  }
}

/** The cluster's totals over the members whose figures are known, and how many those are. */
export function totalsOf(figures: readonly (MemberFigures | undefined)[]): {
  reporting: number;
  opsPerSec: number;
  keys: number;
  bytes: number;
  maxBytes: number;
  rssBytes: number;
} {
  const t = { reporting: 0, opsPerSec: 0, keys: 0, bytes: 0, maxBytes: 0, rssBytes: 0 };
  for (const f of figures) {
    if (!f) continue;
    t.reporting++;
    t.opsPerSec += f.opsPerSec ?? 0;
    t.keys += f.keys;
    t.bytes += f.bytes;
    t.maxBytes += f.maxBytes;
    t.rssBytes += f.rssBytes;
  }
  return t;
}

/** The upper bound (ms) of the bucket holding quantile q of `total` observations; null when none. */
export function percentileMs(buckets: readonly number[], total: number, q: number): number | null {
  if (total <= 0) return null;
  const rank = Math.ceil(total * q);
  let seen = 0;
  for (let b = 0; b < buckets.length; b++) {
    seen += buckets[b] ?? 0;
    if (seen >= rank) {
      const bound = LATENCY_BOUNDS_SECONDS[b];
      return bound === undefined ? null : bound * 1000;
    }
  }
  return null;
}
