import type { ServerResponse } from 'node:http';
import type { MemberState } from '../../cluster/membership/types';
import type { TopologySnapshot } from '../../cluster/ring-change/topology';
import type { HotKeysSnapshot } from '../../observability/hot-keys';
import { PeerFigures, percentileMs, totalsOf, type MemberFigures, type PeerStats } from './member-figures';

export { percentileMs } from './member-figures';

/** What the dashboard draws of the ring (the core's Ring). */
export interface RingView {
  shares(): Map<string, number>;
  pointValues(): Uint32Array;
  preferenceListOfHash(hash: number, n: number): string[];
}

/** What the dashboard reads from the node, each second. */
export interface DashboardSources {
  selfId: string;
  topology(): TopologySnapshot;
  ring(): RingView;
  /** Calls back on every member state or ring change; returns the unsubscribe. */
  onTopologyChange(listener: () => void): () => void;
  stats(): {
    hits: number;
    misses: number;
    keys: number;
    bytes: number;
    maxBytes: number;
    hintsPending: number;
  };
  /** RequestMetrics.totals(). */
  requests(): { count: number; buckets: number[] };
  hotKeys(): HotKeysSnapshot;
  /** Another member's Cluster.Stats, over this node's peer connection; absent: members show none. */
  peerStats?(id: string, deadlineMs: number): Promise<PeerStats>;
}

/** One second of the node's Cache traffic. */
export interface TrafficPoint {
  /** Unix seconds at the end of the second. */
  t: number;
  opsPerSec: number;
  /** Upper bounds of the histogram buckets holding the median and the 99th percentile, in ms. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface DashboardUpdate {
  node: string;
  epoch: number;
  members: {
    id: string;
    address: string;
    http: string;
    state: MemberState;
    share: number;
    /** Its keys, memory and traffic; absent while it is not alive or has not answered lately. */
    figures?: MemberFigures;
  }[];
  /** The members' figures added up, over the `reporting` members whose figures are known. */
  totals: ReturnType<typeof totalsOf>;
  /** The ring as arcs of the hash space: [start, end) as fractions of 2^32, and the owner. */
  arcs: [number, number, string][];
  stats: ReturnType<DashboardSources['stats']> & { rssBytes: number; heapUsedBytes: number };
  /** The newest points first sent in full on connect (`history`), then one per second. */
  traffic: TrafficPoint[];
  hot: HotKeysSnapshot;
}

/** Five minutes of one-second points. */
const HISTORY_POINTS = 300;
/** Open event streams at most: each holds a socket, and a page needs one. */
const MAX_STREAMS = 64;
/** A stream whose reader lags this far behind is ended rather than buffered without bound. */
const MAX_BUFFERED_BYTES = 1 << 20;
const HOT_KEYS_SHOWN = 10;

/**
 * The dashboard's live data: one traffic point a second (ops/s and latency percentiles from the
 * request histogram's differences), kept for five minutes, and Server-Sent Events to every open
 * page: the whole state each second, and at once when a member changes state, so a node that dies is
 * shown dead as soon as this node's gossip says so.
 */
export class DashboardFeed {
  readonly #src: DashboardSources;
  readonly #history: TrafficPoint[] = [];
  readonly #streams = new Set<ServerResponse>();
  #last: { count: number; buckets: number[] };
  #timer: NodeJS.Timeout | undefined;
  #unsubscribe: (() => void) | undefined;
  #arcsOf: { ring: RingView; arcs: [number, number, string][] } | undefined;
  readonly #peers: PeerFigures | undefined;

  constructor(sources: DashboardSources) {
    this.#src = sources;
    this.#last = sources.requests();
    const ask = sources.peerStats?.bind(sources);
    this.#peers = ask && new PeerFigures(ask);
  }

  start(): void {
    if (this.#timer) return;
    const tick = (): void => {
      this.#sample();
      if (this.#streams.size > 0) void this.pollPeers();
      this.#broadcast();
      this.#timer = setTimeout(tick, 1000).unref();
    };
    this.#timer = setTimeout(tick, 1000).unref();
    this.#unsubscribe = this.#src.onTopologyChange(() => this.#broadcast());
  }

  /** Ends every open stream (an open stream would keep the HTTP server from closing). Idempotent. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    for (const res of this.#streams) res.end();
    this.#streams.clear();
  }

  /**
   * Asks the other live members for their figures (each second while a page is open); resolves
   * when they have answered or timed out.
   */
  pollPeers(): Promise<void> {
    const others = this.#src
      .topology()
      .members.filter((m) => m.id !== this.#src.selfId && m.state === 'alive')
      .map((m) => m.id);
    return this.#peers?.poll(others) ?? Promise.resolve();
  }

  /** Whether another stream may open. */
  get full(): boolean {
    return this.#streams.size >= MAX_STREAMS;
  }

  /** Serves `res` as an event stream: the state with the whole history now, then updates. */
  open(res: ServerResponse): void {
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-store',
      connection: 'keep-alive',
    });
    this.#streams.add(res);
    res.on('close', () => this.#streams.delete(res));
    res.write(`event: state\ndata: ${JSON.stringify(this.update(this.#history))}\n\n`);
  }

  update(traffic: TrafficPoint[]): DashboardUpdate {
    const snap = this.#src.topology();
    const ring = this.#src.ring();
    const shares = ring.shares();
    const memory = process.memoryUsage();
    const hot = this.#src.hotKeys();
    const stats = this.#src.stats();
    const newest = this.#history[this.#history.length - 1];
    const own: MemberFigures = {
      ...stats,
      opsPerSec: newest?.opsPerSec ?? null,
      p99Ms: newest?.p99Ms ?? null,
      rssBytes: memory.rss,
    };
    const members = snap.members.map((m) => {
      const figures =
        m.id === this.#src.selfId ? own : m.state === 'alive' ? this.#peers?.of(m.id) : undefined;
      return {
        id: m.id,
        address: m.address,
        http: m.http,
        state: m.state,
        share: shares.get(m.id) ?? 0,
        ...(figures && { figures }),
      };
    });
    return {
      node: this.#src.selfId,
      epoch: snap.epoch,
      members,
      totals: totalsOf(members.map((m) => m.figures)),
      arcs: this.#arcs(ring),
      stats: { ...stats, rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
      traffic,
      hot: { reads: hot.reads.slice(0, HOT_KEYS_SHOWN), writes: hot.writes.slice(0, HOT_KEYS_SHOWN) },
    };
  }

  #sample(): void {
    const now = this.#src.requests();
    const delta = now.buckets.map((n, i) => n - (this.#last.buckets[i] ?? 0));
    const ops = now.count - this.#last.count;
    this.#last = now;
    this.#history.push({
      t: Math.round(Date.now() / 1000),
      opsPerSec: ops,
      p50Ms: percentileMs(delta, ops, 0.5),
      p99Ms: percentileMs(delta, ops, 0.99),
    });
    if (this.#history.length > HISTORY_POINTS) this.#history.shift();
  }

  #broadcast(): void {
    if (this.#streams.size === 0) return;
    const newest = this.#history.slice(-1);
    const frame = `event: state\ndata: ${JSON.stringify(this.update(newest))}\n\n`;
    for (const res of this.#streams) {
      if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
      else res.write(frame);
    }
  }

  /** Consecutive points of one owner merged into arcs; computed once per ring. */
  #arcs(ring: RingView): [number, number, string][] {
    if (this.#arcsOf?.ring === ring) return this.#arcsOf.arcs;
    const points = ring.pointValues();
    const arcs: [number, number, string][] = [];
    const space = 2 ** 32;
    const ownerAt = (hash: number): string => ring.preferenceListOfHash(hash, 1)[0] ?? '';
    const extend = (from: number, to: number, owner: string): void => {
      const last = arcs[arcs.length - 1];
      if (last && last[2] === owner) last[1] = to / space;
      else arcs.push([from / space, to / space, owner]);
    };
    // Point i owns the hashes after point i-1 up to itself; the first point also owns the
    // wrap-around past the last one.
    let from = 0;
    for (const p of points) {
      extend(from, p, ownerAt(p));
      from = p;
    }
    if (points.length > 0) extend(from, space, ownerAt(points[0] ?? 0));
    this.#arcsOf = { ring, arcs };
    return arcs;
  }
}
