import { NodeCore } from '../../src/cluster/node-core';
import type { PeerEndpoint } from '../../src/cluster/peer-transport';
import { DEFAULT_REQUEST_LOG } from '../../src/cluster/replication/request-log';
import { DEFAULT_LIMITS } from '../../src/config/defaults';
import type { Version } from '../../src/store/version';
import type { ClusterConfig, NodeConfig } from '../../src/config/types';
import pino from 'pino';
import { silentLogger } from '../../src/observability/logger';
import { seededRandom } from '../support/seeded-random';
import { copyKey } from './history';
import { SimNetwork } from './sim-network';
import { VirtualTime, WORLD } from './virtual-time';

/**
 * The simulator's cluster.max_clock_offset_ms unless a test sets its own: 2 s, a few times the shipped
 * 500 ms. A node refuses writes once its clock is off by more than half the bound from most peers;
 * the scenarios draw one node up to 500 ms off (or jumps of 250 ms), well within that, and every
 * bound that rests on it (a version too far ahead, a late replica write, the age of a copy release
 * sends) is judged as in production.
 */
export const SIM_MAX_CLOCK_OFFSET_MS = 2_000;

export interface SimClusterOptions {
  seed: number;
  nodes: number;
  factor: number;
  writeQuorum: number;
  readQuorum: number;
  /** Sloppy quorums (hints count toward W). Default false, as in cluster.yml. */
  sloppy?: boolean;
  /** Anti-entropy interval in virtual ms; 0 or absent = off (cluster.anti_entropy.interval_ms). */
  antiEntropyMs?: number;
  /** hints.max_age_ms; default 30 s. */
  hintMaxAgeMs?: number;
  /** tombstone_grace_ms; default 60 s. */
  tombstoneGraceMs?: number;
  /** cluster.max_clock_offset_ms; default SIM_MAX_CLOCK_OFFSET_MS. */
  maxClockOffsetMs?: number;
  /**
   * Pause between store sweeps (expired values, purged tombstones) in virtual ms; 0 or absent = off.
   * A sweep here has no time budget, so that it does the same work in every run of a seed.
   */
  sweepIntervalMs?: number;
  /** limits.max_memory; default 64 MiB, which the simulator's workload never fills. */
  maxMemoryBytes?: number;
  /**
   * How long and how many read-modify-write requests each node remembers, and how long it keeps a
   * ballot promise (NodeCoreOptions); the production defaults (120 s) when absent, which no run reaches.
   */
  requestWindowMs?: number;
  requestLogEntries?: number;
  promiseWindowMs?: number;
}

/** One node of the simulated cluster: its id, its current incarnation (undefined while down), its clock skew. */
interface SimNode {
  id: string;
  config: ClusterConfig;
  incarnation: number;
  core: NodeCore | undefined;
  owner: string;
  skewMs: number;
}

/** Fast gossip so failures are seen within a simulated second or two, as on a LAN. */
const GOSSIP = { probeIntervalMs: 200, probeTimeoutMs: 100, indirectProbes: 1, suspicionTimeoutMs: 600 };

export function nodeConfig(id: string, index: number): NodeConfig {
  const port = 7400 + index;
  return {
    id,
    address: `${id}.sim:${port}`,
    host: `${id}.sim`,
    port,
    http: `${id}.sim:${port + 1000}`,
    httpHost: `${id}.sim`,
    httpPort: port + 1000,
  };
}

/**
 * Whole clusters of real node cores (store, ring, membership, coordinator, hints, handoff, catch-up,
 * rebalance, release) in one process, over the simulated network, in virtual time. Faults are method
 * calls: crash (state lost), restart (empty), pause and resume, cuts and link faults, clock skew,
 * join and leave.
 */
export class SimCluster {
  readonly time = new VirtualTime();
  readonly net: SimNetwork;
  readonly #opts: SimClusterOptions;
  readonly #nodes = new Map<string, SimNode>();
  /** Every live value a node's store evicted for room, in the order they went. */
  readonly evictions: { node: string; key: string; atMs: number; version: Version }[] = [];
  /** Every tombstone a node's store shed or did not keep within its grace, with its version, in order. */
  readonly droppedTombstones: { node: string; key: string; atMs: number; version: Version }[] = [];
  /** Per version of a key (history.copyKey): when it was made, and when it first reached another node. */
  readonly copies = new Map<string, { madeAtMs?: number; copiedAtMs?: number }>();
  /** Cores of crashed incarnations, for dispose(). */
  readonly #crashed: NodeCore[] = [];
  readonly #baseConfig: ClusterConfig;

  constructor(opts: SimClusterOptions) {
    this.#opts = opts;
    this.net = new SimNetwork(this.time, seededRandom(opts.seed ^ 0x5eed));
    this.net.onCopy = (to, key, version) => this.#noteCopy(to, key, version);
    this.net.attach('client', {
      owner: WORLD,
      endpoint: undefined as unknown as PeerEndpoint,
      now: () => this.time.now(),
    });
    const nodes = Array.from({ length: opts.nodes }, (_, i) => nodeConfig(`n${i + 1}`, i + 1));
    this.#baseConfig = {
      name: 'sim',
      vnodes: 16,
      replication: {
        factor: opts.factor,
        writeQuorum: opts.writeQuorum,
        readQuorum: opts.readQuorum,
        sloppy: opts.sloppy ?? false,
      },
      gossip: GOSSIP,
      hints: { maxCount: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: opts.hintMaxAgeMs ?? 30_000 },
      tombstoneGraceMs: opts.tombstoneGraceMs ?? 60_000,
      maxClockOffsetMs: opts.maxClockOffsetMs ?? SIM_MAX_CLOCK_OFFSET_MS,
      antiEntropy: {
        intervalMs: opts.antiEntropyMs ?? 0,
        keysPerSecond: 1_000_000,
        bytesPerSecond: 1024 ** 3,
      },
      limits: {
        ...DEFAULT_LIMITS,
        maxKeyBytes: 250,
        maxValueBytes: 1024 * 1024,
        maxMemoryBytes: opts.maxMemoryBytes ?? 64 * 1024 * 1024,
      },
      nodes,
      source: '<simulator>',
    };
    for (const n of nodes) this.#add(n.id, this.#baseConfig);
  }

  get options(): SimClusterOptions {
    return this.#opts;
  }

  ids(): string[] {
    return [...this.#nodes.keys()];
  }

  /** The running core of `id`, or undefined while it is down. */
  core(id: string): NodeCore | undefined {
    return this.#nodes.get(id)?.core;
  }

  isUp(id: string): boolean {
    return this.#nodes.get(id)?.core !== undefined;
  }

  startAll(): void {
    for (const id of this.#nodes.keys()) this.#start(id);
  }

  /** SIGKILL: the process and its memory are gone; its timers and messages in flight with it. */
  crash(id: string): void {
    const node = this.#nodes.get(id);
    if (!node?.core) return;
    this.time.kill(node.owner);
    this.net.detach(id);
    this.#crashed.push(node.core);
    node.core = undefined;
  }

  /**
   * Once a run is over (its history judged): stops the cores that crashed during it, and closes every
   * transport. A crashed core never stops, and its waits that never end (a pause, a call) hold abort
   * listeners on signals made by AbortSignal.any, which Node keeps alive while they have listeners,
   * and with them the whole cluster: a process running thousands of seeds kept every cluster and ran
   * out of memory. Nothing of the run is judged after this.
   */
  dispose(): void {
    for (const core of this.#crashed.splice(0)) core.stop().catch(() => undefined);
    this.net.closeAll();
  }

  /** A new process with an empty store and the node's original configuration. */
  restart(id: string): void {
    const node = this.#nodes.get(id);
    if (!node || node.core) return;
    this.#start(id);
  }

  pause(id: string): void {
    const node = this.#nodes.get(id);
    if (node?.core) this.time.pause(node.owner);
  }

  resume(id: string): void {
    const node = this.#nodes.get(id);
    if (node?.core) this.time.resume(node.owner);
  }

  skew(id: string, skewMs: number): void {
    const node = this.#nodes.get(id);
    if (node) node.skewMs = skewMs;
  }

  /** A new node, `id`, started with the ring it knows plus itself, and joined through `via`. */
  join(id: string, via: string): Promise<unknown> {
    if (this.#nodes.has(id)) return Promise.resolve('already a node');
    const self = nodeConfig(id, this.#nodes.size + 1);
    const viaCore = this.core(via);
    const members = viaCore?.topology.snapshot().members ?? [];
    const known = this.#baseConfig.nodes.filter((n) => members.some((m) => m.id === n.id));
    this.#add(id, { ...this.#baseConfig, nodes: [...known, self] });
    this.#start(id);
    if (!viaCore) return Promise.resolve(`join of ${id}: ${via} is down`);
    return viaCore.join({ id, address: self.address, http: self.http }).catch((err: unknown) => err);
  }

  leave(id: string, via: string): Promise<unknown> {
    const viaCore = this.core(via);
    if (!viaCore) return Promise.resolve(`leave of ${id}: ${via} is down`);
    return viaCore.leave(id).catch((err: unknown) => err);
  }

  /** The owner of `id`'s current incarnation in virtual time (its timers and messages). */
  ownerOf(id: string): string {
    return this.#nodes.get(id)?.owner ?? '';
  }

  /** A graceful stop of one node (SIGTERM): its core stops; the node stays down until restarted. */
  async stop(id: string): Promise<void> {
    const node = this.#nodes.get(id);
    const core = node?.core;
    if (!node || !core) return;
    await core.stop();
    this.net.detach(id);
    node.core = undefined;
  }

  /** Resumes every paused node, heals every link and restarts every crashed node. */
  healAll(): void {
    for (const node of this.#nodes.values()) {
      if (node.core) this.time.resume(node.owner);
      else this.#start(node.id);
    }
    this.net.healAll();
  }

  /** Stops every running core as a graceful shutdown would; resolves once all have stopped. */
  async stopAll(): Promise<void> {
    const stops: Promise<void>[] = [];
    for (const n of this.#nodes.values()) if (n.core) stops.push(n.core.stop());
    await Promise.all(stops);
  }

  /** Owners with events still pending: empty once every core stopped cleanly. */
  leftovers(): string[] {
    return [...this.#nodes.values()].filter((n) => this.time.pendingFor(n.owner) > 0).map((n) => n.owner);
  }

  #add(id: string, config: ClusterConfig): void {
    this.#nodes.set(id, { id, config, incarnation: 0, core: undefined, owner: `${id}#0`, skewMs: 0 });
  }

  /**
   * Silent, unless SIM_LOG names a pino level (`SIM_LOG=debug npm run sim -- --replay F`): then each
   * node logs to stderr, stamped with virtual time, to follow a replayed trace.
   */
  #logger(id: string): ReturnType<typeof silentLogger> {
    const level = process.env['SIM_LOG'];
    if (!level) return silentLogger();
    return pino(
      { level, base: { node: id }, timestamp: () => `,"vt":${this.time.now()}` },
      pino.destination(2),
    );
  }

  /** `node` holds, or was handed, `version` of `key` (SimCluster.copies). */
  #noteCopy(node: string, key: string, version: Version): void {
    const name = copyKey(key, version);
    let copy = this.copies.get(name);
    if (!copy) this.copies.set(name, (copy = {}));
    if (node === version.node) copy.madeAtMs ??= this.time.now();
    else copy.copiedAtMs ??= this.time.now();
  }

  #start(id: string): void {
    const node = this.#nodes.get(id)!;
    node.incarnation++;
    node.owner = `${id}#${node.incarnation}`;
    const scheduler = this.time.schedulerFor(node.owner, () => node.skewMs);
    const core = new NodeCore({
      config: node.config,
      nodeId: id,
      logger: this.#logger(id),
      transport: () => this.net.transportFor(id),
      scheduler,
      random: seededRandom(this.#opts.seed * 131 + Number(id.slice(1)) * 17 + node.incarnation),
      sweepIntervalMs: this.#opts.sweepIntervalMs ?? 0,
      sweepBudgetMs: Number.POSITIVE_INFINITY,
      requestLog: {
        windowMs: this.#opts.requestWindowMs ?? DEFAULT_REQUEST_LOG.windowMs,
        maxEntries: this.#opts.requestLogEntries ?? DEFAULT_REQUEST_LOG.maxEntries,
      },
      promiseWindowMs: this.#opts.promiseWindowMs,
    });
    node.core = core;
    core.store.onDropped = (key, what, version) => {
      const atMs = this.time.now();
      (what === 'value' ? this.evictions : this.droppedTombstones).push({ node: id, key, atMs, version });
    };
    core.store.changes.listen((key, _kind, version) => this.#noteCopy(id, key, version));
    this.net.attach(id, { owner: node.owner, endpoint: core.peers, now: () => scheduler.now() });
    core.start();
  }
}
