import type { MemberStatus } from './status';

/**
 * What `ringcache status` reads from each node's Prometheus endpoint (GET /metrics), for what Stats
 * does not carry: request rates and latencies, catch-up and rebalance progress, clock offsets.
 */

/** A latency histogram: cumulative counts by upper bound in seconds (Infinity for +Inf). */
export type Buckets = Map<number, number>;

export interface Scraped {
  /** The SCRAPED gauges and counters. */
  values: Map<string, number>;
  /** ringcache_requests_total, every method and code added up; undefined from a node without it. */
  requests: number | undefined;
  /** ringcache_request_duration_seconds, every method's buckets added up. */
  buckets: Buckets;
  /** ringcache_clock_offset_seconds: each peer's clock minus this node's, in ms, by peer id. */
  clockOffsetsMs: Map<string, number>;
}

/** The progress Stats does not carry, read from the node's Prometheus endpoint. */
const SCRAPED = [
  'ringcache_catch_up_records_total',
  'ringcache_catch_up_bytes_total',
  'ringcache_catch_up_owed_peers',
  'ringcache_rebalance_epoch',
  'ringcache_rebalance_running',
  'ringcache_rebalance_records_scanned',
  'ringcache_rebalance_records_sent',
  'ringcache_clock_in_bounds',
];

/**
 * The SCRAPED metrics of the node at `http` (its GET /metrics, plain HTTP as every node serves it).
 * Best effort: a node whose HTTP port this machine cannot reach only shows less.
 */
export async function scrape(http: string, timeoutMs: number): Promise<Scraped> {
  const res = await fetch(`http://${http}/metrics`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  const text = await res.text();
  const out: Scraped = {
    values: new Map(),
    requests: undefined,
    buckets: new Map(),
    clockOffsetsMs: new Map(),
  };
  // A counter or histogram with no sample yet (nothing counted since the start) is there from its
  // TYPE line: zero, not unknown.
  if (text.includes('\n# TYPE ringcache_requests_total ')) out.requests = 0;
  const histogram = text.includes('\n# TYPE ringcache_request_duration_seconds histogram');
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const [, name, labels, raw] = m;
    const value = Number(raw);
    if (!Number.isFinite(value)) continue;
    if (SCRAPED.includes(name!) && !out.values.has(name!)) out.values.set(name!, value);
    else if (name === 'ringcache_requests_total') out.requests = (out.requests ?? 0) + value;
    else if (name === 'ringcache_request_duration_seconds_bucket') {
      const le = /(?:^|,)le="([^"]+)"/.exec(labels ?? '')?.[1];
      const bound = le === '+Inf' ? Infinity : Number(le);
      if (!Number.isNaN(bound)) out.buckets.set(bound, (out.buckets.get(bound) ?? 0) + value);
    } else if (name === 'ringcache_clock_offset_seconds') {
      const peer = /(?:^|,)peer="([^"]*)"/.exec(labels ?? '')?.[1];
      if (peer !== undefined) out.clockOffsetsMs.set(peer, value * 1000);
    }
  }
  if (histogram && out.buckets.size === 0) out.buckets.set(Infinity, 0);
  return out;
}

/** Catch-up and rebalance progress from scraped metrics, as MemberStatus fields. */
export function progressOf(
  metrics: Map<string, number> | undefined,
  catchingUp: boolean | undefined,
): Partial<MemberStatus> {
  if (!metrics) return {};
  const n = (name: string) => metrics.get(name) ?? 0;
  const epoch = n('ringcache_rebalance_epoch');
  const owed = n('ringcache_catch_up_owed_peers');
  return {
    ...(owed > 0 && { owedPeers: owed }),
    ...(catchingUp && {
      catchUp: { records: n('ringcache_catch_up_records_total'), bytes: n('ringcache_catch_up_bytes_total') },
    }),
    ...(epoch > 0 && {
      rebalance: {
        epoch,
        running: n('ringcache_rebalance_running') === 1,
        scanned: n('ringcache_rebalance_records_scanned'),
        sent: n('ringcache_rebalance_records_sent'),
      },
    }),
  };
}

/**
 * Each member's clock against the rest of the cluster, in ms (positive: ahead), from what the other
 * members measured of it: the median of their measures, so that one member with a wrong clock moves
 * its own figure and not the others'. Each measure is that member's clock minus the measurer's, so
 * the median is its offset from the measurers' middle clock. Absent for a member nobody measured.
 */
export function clockOffsetsSeen(measured: Map<string, Map<string, number>>): Map<string, number> {
  const byMember = new Map<string, number[]>();
  for (const [measurer, offsets] of measured) {
    for (const [peer, ms] of offsets) {
      if (peer === measurer) continue;
      let list = byMember.get(peer);
      if (!list) byMember.set(peer, (list = []));
      list.push(ms);
    }
  }
  const out = new Map<string, number>();
  for (const [peer, list] of byMember) {
    list.sort((a, b) => a - b);
    const mid = list.length >> 1;
    out.set(peer, list.length % 2 === 1 ? list[mid]! : (list[mid - 1]! + list[mid]!) / 2);
  }
  return out;
}
