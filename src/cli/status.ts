import { RingCacheError } from '../errors';
import {
  MemberStateWire,
  type HotKeyMsg,
  type MemberMsg,
  type StatsResponseMsg,
  type TopologyResponseMsg,
} from '../proto/messages';
import { Ring } from '../ring/ring';
import type { TlsOptions } from '../transport/tls';
import { parseDuration } from './duration';
import { clockText, percent, rebalanceText, renderHotKeys, renderStatus } from './status-render';
import { clockOffsetsSeen, progressOf, scrape, type Buckets, type Scraped } from './status-scrape';
import { UnaryClient } from './unary-client';

/** A node this full of max_memory is named in the warnings: it will soon evict. */
const MEMORY_WARNING_RATIO = 0.9;

const STATE_NAMES: Record<number, MemberState> = {
  [MemberStateWire.ALIVE]: 'alive',
  [MemberStateWire.SUSPECT]: 'suspect',
  [MemberStateWire.DEAD]: 'dead',
  [MemberStateWire.LEFT]: 'left',
};

export type MemberState = 'alive' | 'suspect' | 'dead' | 'left' | 'unknown';

/** One member as `status --json` prints it. Counters the member did not answer are absent. */
export interface MemberStatus {
  id: string;
  address: string;
  http: string;
  /**
   * As the gossip of the member that answered the topology sees it. 'left': it stopped and told its
   * peers; like a dead member it stays on the ring (it owns its ranges) until `ringcache leave`.
   */
  state: MemberState;
  /** Whether the member itself answered Stats. */
  reachable: boolean;
  /** Why it did not answer. */
  error?: string;
  /** Fraction (0..1) of the hash ring it owns as first replica. */
  ringShare: number;
  keys?: number;
  /** Bytes accounted against max_memory, and max_memory. */
  bytes?: number;
  maxBytes?: number;
  /** bytes / maxBytes (0..1). */
  memoryUsed?: number;
  tombstones?: number;
  evictions?: number;
  hits?: number;
  misses?: number;
  /** hits / (hits + misses) since the node started; absent before its first read. */
  hitRatio?: number;
  /** Reads of its store per second (hits + misses, client and replica reads), over the last interval. */
  readsPerSecond?: number;
  /** Cache service operations it answered per second over the last interval (from its /metrics). */
  opsPerSecond?: number;
  /**
   * The 99th percentile of their durations over the last interval, as the upper bound of its
   * histogram bucket (from its /metrics); absent when it answered none.
   */
  p99Ms?: number;
  /** True when that percentile is beyond the largest bucket, p99Ms. */
  p99Beyond?: boolean;
  /** Writes it holds for replicas that are down. */
  hintsPending?: number;
  /** Its ring epoch. */
  epoch?: number;
  /** True while it pulls its data from its peers after a start (it is not serving yet). */
  catchingUp?: boolean;
  /**
   * The keys clients read and wrote most through it lately, hottest first, with estimated call
   * counts (sampled: see Stats). Only with --hot: keys are user data.
   */
  hotReads?: HotKeyMsg[];
  hotWrites?: HotKeyMsg[];
  /** What its catch-up has received so far (from its /metrics), while it catches up. */
  catchUp?: { records: number; bytes: number };
  /**
   * Peers it took for dead while it caught up and has not pulled from since (from its /metrics):
   * its copies of their keys count in no quorum until it has. Absent when none.
   */
  owedPeers?: number;
  /** Its latest rebalance since it started (from its /metrics): absent when none, or unreadable. */
  rebalance?: { epoch: number; running: boolean; scanned: number; sent: number };
  /**
   * Its clock minus the others', in ms, as they measured it from gossip pings (the median of their
   * measures, each within half a ping's round trip); absent when no member measured it.
   */
  clockOffsetMs?: number;
  /** True while it refuses writes because its clock is too far from most members' (from its /metrics). */
  clockRefusesWrites?: boolean;
}

export interface ClusterStatus {
  cluster: string;
  /** When this was collected (ISO 8601). */
  at: string;
  /** The member whose topology (members, states, epoch) this shows. */
  answeredBy: string;
  epoch: number;
  replication: { factor: number; writeQuorum: number; readQuorum: number };
  members: MemberStatus[];
  totals: {
    members: number;
    alive: number;
    keys: number;
    bytes: number;
    maxBytes: number;
    readsPerSecond: number | null;
    opsPerSecond: number | null;
    /** Over every member's operations of the last interval. */
    p99Ms: number | null;
    p99Beyond?: boolean;
    hitRatio: number | null;
    hintsPending: number;
  };
  warnings: string[];
}

export interface StatusSource {
  /** Addresses to ask for the topology, in order: the first that answers is used. */
  seeds: string[];
  clusterToken?: string;
  userToken?: string;
  tls?: TlsOptions;
  /** Deadline of each call. */
  timeoutMs: number;
  /** Collect each member's hot keys (`--hot`). */
  hot?: boolean;
}

/** What one round of calls returned, kept to turn the next round's counters into rates. */
interface Sample {
  atMs: number;
  reads: Map<string, number>;
  requests: Map<string, number>;
  buckets: Map<string, Buckets>;
}

/** The 99th percentile of the operations between two histograms, as its bucket's bound. */
function p99Between(
  before: Buckets | undefined,
  now: Buckets | undefined,
): { ms: number; beyond: boolean } | undefined {
  if (!before || !now) return undefined;
  const bounds = [...now.keys()].sort((a, b) => a - b);
  const delta = (le: number) => (now.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = delta(Infinity);
  if (total <= 0) return undefined;
  const finite = bounds.filter((b) => b !== Infinity);
  for (const le of finite) if (delta(le) >= 0.99 * total) return { ms: le * 1000, beyond: false };
  return finite.length > 0 ? { ms: finite[finite.length - 1]! * 1000, beyond: true } : undefined;
}

function addBuckets(into: Buckets, from: Buckets): void {
  for (const [le, n] of from) into.set(le, (into.get(le) ?? 0) + n);
}

/**
 * Collects the cluster's status: the topology from the first seed that answers, then Stats and
 * Topology from every member at once (each member's own answer says whether it is catching up).
 * Rates need two rounds: a collector remembers the last one.
 */
export class StatusCollector {
  readonly #source: StatusSource;
  readonly #clients = new Map<string, UnaryClient>();
  #previous: Sample | undefined;

  constructor(source: StatusSource) {
    this.#source = source;
  }

  async collect(): Promise<ClusterStatus> {
    const topology = await this.#topology();
    // Every member is on the ring, whatever its state: one stopped (left gossip) or dead still owns
    // its ranges until `ringcache leave` takes it off.
    const shares = new Ring(
      topology.members.map((m) => m.id),
      { vnodes: topology.vnodes },
    ).shares();
    const nowMs = Date.now();
    const answers = await Promise.all(topology.members.map((m) => this.#ask(m)));
    const sample: Sample = { atMs: nowMs, reads: new Map(), requests: new Map(), buckets: new Map() };
    const previous = this.#previous;
    // The cluster's p99 is taken over every member's operations: their histograms added up.
    const clusterBefore: Buckets = new Map();
    const clusterNow: Buckets = new Map();
    const clockOffsets = clockOffsetsSeen(
      new Map(
        topology.members.flatMap((m, i) => {
          const offsets = answers[i]!.metrics?.clockOffsetsMs;
          return offsets ? [[m.id, offsets] as const] : [];
        }),
      ),
    );
    const members = topology.members.map((m, i): MemberStatus => {
      const answer = answers[i]!;
      const base: MemberStatus = {
        id: m.id,
        address: m.address,
        http: m.httpAddress,
        state: STATE_NAMES[m.state] ?? 'unknown',
        reachable: answer.stats !== undefined,
        ringShare: shares.get(m.id) ?? 0,
      };
      if (!answer.stats) return { ...base, error: answer.error };
      const s = answer.stats;
      const reads = s.hits + s.misses;
      sample.reads.set(m.id, reads);
      const before = previous?.reads.get(m.id);
      const seconds = previous ? (nowMs - previous.atMs) / 1000 : 0;
      const scraped = answer.metrics;
      const requestsBefore = previous?.requests.get(m.id);
      if (scraped?.requests !== undefined) sample.requests.set(m.id, scraped.requests);
      if (scraped?.buckets.size) sample.buckets.set(m.id, scraped.buckets);
      const bucketsBefore = previous?.buckets.get(m.id);
      if (bucketsBefore && scraped?.buckets.size) {
        addBuckets(clusterBefore, bucketsBefore);
        addBuckets(clusterNow, scraped.buckets);
      }
      const p99 = p99Between(bucketsBefore, scraped?.buckets);
      return {
        ...base,
        keys: s.keys,
        bytes: s.bytes,
        maxBytes: s.maxBytes,
        memoryUsed: s.maxBytes > 0 ? s.bytes / s.maxBytes : 0,
        tombstones: s.tombstones,
        evictions: s.evictions,
        hits: s.hits,
        misses: s.misses,
        ...(reads > 0 && { hitRatio: s.hits / reads }),
        // A restarted node's counters start again from zero: no rate rather than a negative one.
        ...(before !== undefined &&
          seconds > 0 &&
          reads >= before && { readsPerSecond: (reads - before) / seconds }),
        ...(scraped?.requests !== undefined &&
          requestsBefore !== undefined &&
          seconds > 0 &&
          scraped.requests >= requestsBefore && {
            opsPerSecond: (scraped.requests - requestsBefore) / seconds,
          }),
        ...(p99 && { p99Ms: p99.ms, ...(p99.beyond && { p99Beyond: true }) }),
        hintsPending: s.hintsPending,
        epoch: s.epoch,
        ...(answer.catchingUp !== undefined && { catchingUp: answer.catchingUp }),
        ...progressOf(scraped?.values, answer.catchingUp),
        ...(this.#source.hot && { hotReads: s.hotReads, hotWrites: s.hotWrites }),
        ...(clockOffsets.has(m.id) && { clockOffsetMs: clockOffsets.get(m.id)! }),
        ...(scraped?.values.get('ringcache_clock_in_bounds') === 0 && { clockRefusesWrites: true }),
      };
    });
    this.#previous = sample;
    return {
      cluster: topology.clusterName,
      at: new Date(nowMs).toISOString(),
      answeredBy: topology.answeredBy,
      epoch: topology.epoch,
      replication: topology.replication ?? { factor: 0, writeQuorum: 0, readQuorum: 0 },
      members,
      totals: totalsOf(members, p99Between(clusterBefore, clusterNow)),
      warnings: warningsOf(members, topology.epoch),
    };
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
    this.#clients.clear();
  }

  #client(address: string): UnaryClient {
    let c = this.#clients.get(address);
    if (!c) {
      const s = this.#source;
      c = new UnaryClient(address, s.timeoutMs, s.clusterToken, s.tls, s.userToken);
      this.#clients.set(address, c);
    }
    return c;
  }

  async #topology(): Promise<TopologyResponseMsg> {
    const failures: string[] = [];
    for (const seed of this.#source.seeds) {
      try {
        return await this.#client(seed).cluster<TopologyResponseMsg>('Topology', {});
      } catch (err) {
        failures.push(`${seed}: ${describe(err)}`);
      }
    }
    throw new RingCacheError('UNAVAILABLE', `no node answered (${failures.join('; ')})`);
  }

  async #ask(m: MemberMsg): Promise<Answer> {
    if (m.state === MemberStateWire.LEFT) return { error: 'stopped' };
    const client = this.#client(m.address);
    const [stats, topology, metrics] = await Promise.allSettled([
      client.cluster<StatsResponseMsg>('Stats', {}),
      client.cluster<TopologyResponseMsg>('Topology', {}),
      scrape(m.httpAddress, this.#source.timeoutMs),
    ]);
    if (stats.status === 'rejected') return { error: describe(stats.reason) };
    return {
      stats: stats.value,
      ...(topology.status === 'fulfilled' && { catchingUp: topology.value.catchingUp }),
      ...(metrics.status === 'fulfilled' && { metrics: metrics.value }),
    };
  }
}

interface Answer {
  stats?: StatsResponseMsg;
  catchingUp?: boolean;
  metrics?: Scraped;
  error?: string;
}

function describe(err: unknown): string {
  const e = err as { details?: string; message?: string };
  const text = e.details || e.message || String(err);
  // grpc-js's "No connection established. Last error: Error: connect ECONNREFUSED ... Resolution
  // note: ..." says, for a person, that the connection was refused.
  const cause = /Last error: (?:Error: )?(.*?)\.?(?: Resolution note:.*)?$/.exec(text);
  return cause ? cause[1]!.trim() : text;
}

function totalsOf(
  members: MemberStatus[],
  p99: { ms: number; beyond: boolean } | undefined,
): ClusterStatus['totals'] {
  const answered = members.filter((m) => m.reachable);
  const sum = (f: (m: MemberStatus) => number | undefined) => answered.reduce((n, m) => n + (f(m) ?? 0), 0);
  const hits = sum((m) => m.hits);
  const reads = hits + sum((m) => m.misses);
  const rated = answered.filter((m) => m.readsPerSecond !== undefined);
  const counted = answered.filter((m) => m.opsPerSecond !== undefined);
  return {
    members: members.length,
    alive: members.filter((m) => m.state === 'alive').length,
    keys: sum((m) => m.keys),
    bytes: sum((m) => m.bytes),
    maxBytes: sum((m) => m.maxBytes),
    readsPerSecond: rated.length > 0 ? sum((m) => m.readsPerSecond) : null,
    opsPerSecond: counted.length > 0 ? sum((m) => m.opsPerSecond) : null,
    p99Ms: p99?.ms ?? null,
    ...(p99?.beyond && { p99Beyond: true }),
    hitRatio: reads > 0 ? hits / reads : null,
    hintsPending: sum((m) => m.hintsPending),
  };
}

function warningsOf(members: MemberStatus[], epoch: number): string[] {
  const out: string[] = [];
  for (const m of members) {
    if (m.state === 'suspect')
      out.push(`${m.id} is suspect: it missed its pings and is declared dead unless it answers`);
    else if (m.state === 'dead')
      out.push(`${m.id} is dead: its writes go to other nodes as hints until it is back`);
    else if (m.state === 'left')
      out.push(
        `${m.id} stopped and is still on the ring (a restart?); \`ringcache leave ${m.id}\` removes it for good`,
      );
    else if (m.state === 'alive' && !m.reachable)
      out.push(`${m.id} did not answer: ${m.error ?? 'no answer'}`);
    if (m.catchingUp) out.push(`${m.id} is catching up from its peers (not serving yet)`);
    if (m.owedPeers)
      out.push(
        `${m.id} has yet to pull from ${m.owedPeers} peer(s) whose writes some of its copies may lack (taken for dead in its catch-up, or owed by a peer it took keys from): those copies count in no quorum until then`,
      );
    if (m.rebalance?.running)
      out.push(`${m.id} is rebalancing to ring epoch ${m.rebalance.epoch}: ${rebalanceText(m.rebalance)}`);
    if (m.memoryUsed !== undefined && m.memoryUsed >= MEMORY_WARNING_RATIO)
      out.push(
        `${m.id} holds ${percent(m.memoryUsed)} of its max_memory: it evicts the least recently used keys when full`,
      );
    if (m.hintsPending)
      out.push(`${m.id} holds ${m.hintsPending} writes (hints) for replicas that are behind`);
    if (m.clockRefusesWrites)
      out.push(
        `${m.id} refuses writes: its clock is further than half of cluster.max_clock_offset_ms from most members'` +
          (m.clockOffsetMs === undefined ? '' : ` (${clockText(m.clockOffsetMs)})`) +
          '; set it right (NTP) and it takes writes again',
      );
    if (m.epoch !== undefined && m.epoch !== epoch)
      out.push(
        `${m.id} is at ring epoch ${m.epoch}, not ${epoch}: the ring is changing, or the nodes disagree`,
      );
  }
  return out;
}

/** --interval: at least 100 ms, so that a watch never spins on the nodes. */
export function statusInterval(text: string): number {
  const ms = parseDuration(text, '--interval');
  if (ms < 100) throw new RingCacheError('CONFIG_INVALID', `--interval: at least 100ms, got "${text}"`);
  return ms;
}

export interface StatusRunOptions extends StatusSource {
  json: boolean;
  watch: boolean;
  /** Between the rounds of a single status (for rates), and between refreshes with watch. */
  intervalMs: number;
  out?: NodeJS.WriteStream;
}

/** Rounds a single status takes beyond its two for members that answered only the second. */
const EXTRA_ROUNDS = 2;

/** Whether a member answered the last round without rates: it did not answer the one before. */
const lacksRates = (m: MemberStatus): boolean => m.reachable && m.readsPerSecond === undefined;

/**
 * `ringcache status`: two rounds `intervalMs` apart (rates need both; up to EXTRA_ROUNDS more for a
 * member that missed the first), then the table or the JSON.
 * With `watch`, a new round every `intervalMs`, redrawn in place on a terminal (one JSON object a
 * line with --json), until interrupted.
 */
export async function runStatus(o: StatusRunOptions): Promise<void> {
  const out = o.out ?? process.stdout;
  const collector = new StatusCollector(o);
  const pause = () => new Promise((r) => setTimeout(r, o.intervalMs));
  const show = (s: ClusterStatus) => {
    if (o.json) out.write(`${JSON.stringify(s, null, o.watch ? undefined : 2)}\n`);
    else {
      const text = `${renderStatus(s)}${o.hot ? renderHotKeys(s) : ''}`;
      if (o.watch && out.isTTY) out.write(`\x1b[H\x1b[J${text}`);
      else out.write(`${text}${o.watch ? '\n' : ''}`);
    }
  };
  try {
    await collector.collect();
    await pause();
    let status = await collector.collect();
    // A member that answered this round but not the last (its first connection slow on a busy
    // machine, or a restart) has no rates yet: a round or two more give them.
    for (let more = 0; more < EXTRA_ROUNDS && !o.watch && status.members.some(lacksRates); more++) {
      await pause();
      status = await collector.collect();
    }
    show(status);
    while (o.watch) {
      await pause();
      try {
        show(await collector.collect());
      } catch (err) {
        // In watch mode a cluster briefly unreachable is something to see, not the end of the watch.
        out.write(
          `${o.json ? JSON.stringify({ at: new Date().toISOString(), error: describe(err) }) : `ringcache status: ${describe(err)}`}\n`,
        );
      }
    }
  } finally {
    collector.close();
  }
}
