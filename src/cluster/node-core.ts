import type { ClusterConfig } from '../config/types';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import { Store } from '../store/store';
import type { StoreRecord, StoredValue } from '../store/types';
import { checkKey } from '../store/validation';
import { explainKey, type KeyExplanation } from './explain';
import { BackgroundTasks } from './background-tasks';
import type { ClusterView } from './cluster-view';
import { ClockWatch } from './membership/clock-watch';
import { Membership } from './membership/membership';
import { PeerGossip } from './membership/peer-gossip';
import { realScheduler } from './membership/scheduler';
import type { Scheduler } from './membership/types';
import { PeerAnswers } from './peer-answers';
import type { PeerTransport } from './peer-transport';
import { AbsenceWatch, absenceLimitMs } from './recovery/absence';
import { CatchUpState } from './recovery/catch-up-state';
import { flushCluster } from './flush';
import { AntiEntropy } from './recovery/anti-entropy';
import { HintedHandoff } from './recovery/handoff';
import { HintStore } from './recovery/hints';
import { Coordinator } from './replication/coordinator';
import { BallotFence } from './replication/ballots';
import { RequestLog, type RequestLogLimits } from './replication/request-log';
import type { Consistency, Operation, OperationContext, Outcome } from './replication/operation';
import type { CatchUpProgress } from './recovery/catch-up';
import type { RebalanceProgress } from './ring-change/rebalance';
import { RingChanges } from './ring-change/ring-changes';
import { copyAgeLimitOf } from './ring-change/release';
import { RingContact } from './ring-change/ring-contact';
import { Topology, type RingMember } from './ring-change/topology';
import { Ring } from '../ring/ring';
import { CopiesInFlight } from './replication/copies-in-flight';
import { RecordCopies } from './replication/record-copies';

export interface NodeCoreOptions {
  config: ClusterConfig;
  /** This node's id; `config.nodes` must hold it (a joining node's config lists it too). */
  nodeId: string;
  /** Built by the caller, which may need this core to resolve addresses (`addressOf`). */
  transport: (core: NodeCore) => PeerTransport;
  logger: Logger;
  /** Clock and timers for everything the core does. Default: real time, unref'd timers. */
  scheduler?: Scheduler;
  /** Default Math.random; the simulator passes a seeded generator. */
  random?: () => number;
  /**
   * Pause between store sweep ticks (expired entries, purged tombstones), in ms; 0 turns the sweep
   * off. Default 1000.
   */
  sweepIntervalMs?: number;
  /**
   * Real CPU time one sweep may take (Store.sweep); default the store's 2 ms. The simulator passes
   * Infinity, so that a sweep does the same work in every run of a seed.
   */
  sweepBudgetMs?: number;
  /**
   * How long, and how many of, the read-modify-write requests this node remembers (RequestLog), and
   * how long it keeps a ballot promise (BallotFence): 120 s and 200,000, and 120 s, by default, longer
   * than any client retries a call. The simulator shortens them, so that they expire within a run.
   */
  requestLog?: RequestLogLimits;
  promiseWindowMs?: number;
}

/**
 * One node's whole core, without a wire (DESIGN.md "The core and its edges"): the store, membership
 * (the one source of liveness), the ring's topology, the coordinator, hints and handoff, ring changes
 * with their rebalances, and catch-up. It reaches other nodes only through its PeerTransport and reads
 * time only from its scheduler, so the server runs it over gRPC and the simulator runs many in one
 * process. It answers its peers through `peers` (peer-answers.ts). start() and stop() bring every part up and down,
 * stop in reverse order, and a stopped core leaves no timer or task behind.
 */
export class NodeCore {
  readonly id: string;
  readonly store: Store;
  readonly topology: Topology;
  readonly membership: Membership;
  /** This node's clock offsets to its peers, and whether it may issue versions (clock-watch.ts). */
  readonly clock: ClockWatch;
  readonly hints: HintStore;
  /** Outcomes of the read-modify-writes this node applied or replicated, by request id. */
  readonly requests: RequestLog;
  /** Values this node sent to other replicas as a coordinator, not yet answered: clients' budget counts them. */
  readonly copiesInFlight = new CopiesInFlight();
  /** Promised ballots of read-modify-write rounds in flight (replication/ballots.ts). */
  readonly ballots: BallotFence;
  /** This node's records as copies for other nodes, and theirs taken here, with their requests. */
  readonly #copies: RecordCopies;
  readonly handoff: HintedHandoff;
  readonly antiEntropy: AntiEntropy;
  readonly coordinator: Coordinator;
  readonly transport: PeerTransport;
  readonly view: ClusterView;
  readonly #config: ClusterConfig;
  readonly #log: Logger;
  readonly #scheduler: Scheduler;
  readonly #ringChanges: RingChanges;
  readonly #tasks: BackgroundTasks;
  /** Every address a member was known at, kept past a leave: the ring change is still told to it. */
  readonly #addresses = new Map<string, string>();
  readonly #sweepIntervalMs: number;
  readonly #sweepBudgetMs: number | undefined;
  #sweepTimer: unknown;
  #running = false;
  readonly #catchUp: CatchUpState;
  /** Sets aside or drops this node's data after a long absence (recovery/absence.ts). */
  readonly absence: AbsenceWatch;
  /** This node's records while set aside after being cut off (#setAside), out of every peer's reach. */
  #asideRecords: Map<string, StoreRecord> | undefined;
  #stopping: Promise<void> | undefined;
  /** This node's answer to a peer's read or prepare while it catches up: one instance, no stack per call. */
  /** What this node answers its peers: the gRPC Peer service and the simulator call it. */
  readonly peers: PeerAnswers;

  constructor(opts: NodeCoreOptions) {
    const { config } = opts;
    if (!config.nodes.some((n) => n.id === opts.nodeId)) {
      const known = config.nodes.map((n) => n.id).join(', ');
      throw new RingCacheError(
        'CONFIG_INVALID',
        `node id '${opts.nodeId}' is not in ${config.source} (known: ${known})`,
      );
    }
    this.id = opts.nodeId;
    this.#config = config;
    this.#log = opts.logger;
    this.#scheduler = opts.scheduler ?? realScheduler;
    this.#sweepIntervalMs = opts.sweepIntervalMs ?? 1000;
    this.#sweepBudgetMs = opts.sweepBudgetMs;
    this.#tasks = new BackgroundTasks(this.#log.child({ component: 'tasks' }));
    const scheduler = this.#scheduler;
    this.requests = new RequestLog(opts.requestLog);
    this.ballots = new BallotFence(opts.promiseWindowMs);
    this.store = new Store({
      nodeId: this.id,
      maxMemoryBytes: config.limits.maxMemoryBytes,
      maxKeyBytes: config.limits.maxKeyBytes,
      maxValueBytes: config.limits.maxValueBytes,
      maxTombstoneBytes: config.limits.maxTombstoneBytes,
      tombstoneGraceMs: config.tombstoneGraceMs,
      maxClockOffsetMs: config.maxClockOffsetMs,
      // Every sweep of this store keeps to it, anti-entropy's before a comparison included.
      ...(opts.sweepBudgetMs === undefined ? {} : { sweepBudgetMs: opts.sweepBudgetMs }),
      clock: { now: () => scheduler.now() },
    });
    this.#copies = new RecordCopies(this.store, this.requests, () => scheduler.now(), this.ballots);
    for (const n of config.nodes) this.#addresses.set(n.id, n.address);
    this.transport = opts.transport(this);
    this.topology = new Topology(
      config.nodes,
      config.vnodes,
      { member: (id) => this.membership.member(id) },
      this.#log.child({ component: 'topology' }),
    );
    const contact = new RingContact({
      scheduler,
      limitMs:
        config.gossip.probeIntervalMs + config.gossip.probeTimeoutMs + config.gossip.suspicionTimeoutMs,
      peerAlive: () => this.topology.ring.nodeIds.some((id) => id !== this.id && this.membership.isAlive(id)),
    });
    this.view = {
      selfId: this.id,
      ring: () => this.topology.ring,
      epoch: () => this.topology.epoch,
      isAlive: (id) => id === this.id || this.membership.isAlive(id),
      catchingUp: () => this.#catchUp.catchingUp,
      ringUnconfirmed: () => contact.unconfirmed,
      sourceRings: () => this.#catchUp.sourceRings,
      drops: () => this.#catchUp.drops,
      owedFor: (key) => this.#catchUp.owedFor(key),
      fetchRing: (peer, epoch) => this.#ringChanges.fetchFrom(peer, epoch),
      transport: this.transport,
      scheduler,
    };
    this.#ringChanges = new RingChanges({
      topology: this.topology,
      view: this.view,
      store: this.store,
      copies: this.#copies,
      factor: config.replication.factor,
      copyAgeLimitMs: copyAgeLimitOf(config.tombstoneGraceMs, config.maxClockOffsetMs),
      logger: this.#log.child({ component: 'rebalance' }),
      tasks: this.#tasks,
      onAdopted: (members, before) => this.#adopted(members, before),
      contact,
    });
    this.membership = new Membership({
      selfId: this.id,
      memberIds: config.nodes.map((n) => n.id),
      config: config.gossip,
      transport: new PeerGossip(this.id, this.transport, config.gossip.probeTimeoutMs, {
        epoch: () => this.topology.epoch,
        digest: () => this.topology.digest,
        onRingSeen: (peer, epoch, digest) => this.#ringChanges.onRingSeen(peer, epoch, digest),
        clock: () => this.store.hlc.last,
        onPeerClock: (peer, clock) => this.#observePeerClock(peer, clock),
        now: () => scheduler.now(),
        onPeerWallClock: (peer, sentAtMs, ackedAtMs, wallMs) =>
          this.clock.sampled(peer, sentAtMs, ackedAtMs, wallMs),
      }),
      logger: this.#log.child({ component: 'gossip' }),
      scheduler,
      random: opts.random,
      onUpdateRefused: () => this.store.refusedInputs.count('incarnation'),
    });
    this.clock = new ClockWatch({
      selfId: this.id,
      maxClockOffsetMs: config.maxClockOffsetMs,
      livePeers: () =>
        this.topology.ring.nodeIds.filter((id) => id !== this.id && this.membership.isAlive(id)),
      logger: this.#log.child({ component: 'clock' }),
    });
    this.hints = new HintStore(
      config.hints,
      { now: () => scheduler.now() },
      (id) => this.topology.ring.nodeIds.includes(id),
      (key) =>
        this.topology.ring.preferenceList(key, config.replication.factor).filter((id) => id !== this.id),
    );
    this.antiEntropy = new AntiEntropy({
      view: this.view,
      store: this.store,
      copies: this.#copies,
      factor: config.replication.factor,
      logger: this.#log.child({ component: 'anti-entropy' }),
      intervalMs: config.antiEntropy.intervalMs,
      keysPerSecond: config.antiEntropy.keysPerSecond,
      bytesPerSecond: config.antiEntropy.bytesPerSecond,
    });
    this.handoff = new HintedHandoff({
      view: this.view,
      hints: this.hints,
      logger: this.#log.child({ component: 'handoff' }),
    });
    this.coordinator = new Coordinator({
      view: this.view,
      store: this.store,
      recordCopies: this.#copies,
      hints: this.hints,
      requests: this.requests,
      ballots: this.ballots,
      random: opts.random,
      replication: config.replication,
      logger: this.#log.child({ component: 'coordinator' }),
      maxKeyBytes: config.limits.maxKeyBytes,
      peerClock: (peer) => this.clock.offsets.estimate(peer),
      copies: this.copiesInFlight,
    });
    this.#catchUp = new CatchUpState({
      view: this.view,
      store: this.store,
      requests: this.requests,
      topology: this.topology,
      tasks: this.#tasks,
      logger: this.#log,
      adopt: (ring) => void this.#ringChanges.apply(ring),
      observePeerClock: (peer, clock) => this.#observePeerClock(peer, clock),
      factor: config.replication.factor,
      // Fences are re-established once the held versions are back (ballots.ts).
      onCaughtUp: () => {
        this.ballots.settle({ timestamp: this.store.hlc.last, node: this.id });
        // Compared with every peer now, from the copies just pulled, rather than at the regular
        // interval (a minute by default): after a restart, the hints this node held died with its
        // last process, so a write it coordinated that a replica missed is only on the others; after
        // its records were set aside and restored, members that restarted empty meanwhile caught up
        // without them. Not a node that holds nothing now: it pulled nothing, so its peers hold
        // nothing of what it replicates either (every node of a cluster's first start).
        const { keys, tombstones } = this.store.stats();
        if (keys + tombstones === 0) return;
        for (const id of this.topology.ring.nodeIds) if (id !== this.id) this.antiEntropy.compareSoon(id);
      },
    });
    this.absence = new AbsenceWatch({
      selfId: this.id,
      scheduler,
      limitMs: absenceLimitMs({
        tombstoneGraceMs: config.tombstoneGraceMs,
        hintMaxAgeMs: config.hints.maxAgeMs,
        antiEntropy: config.antiEntropy.intervalMs > 0,
        members: config.nodes.length,
        gossip: config.gossip,
      }),
      maxClockOffsetMs: config.maxClockOffsetMs,
      members: () => this.topology.ring.nodeIds,
      isAlive: (id) => this.membership.isAlive(id),
      incarnation: (id) => this.membership.member(id)?.incarnation,
      setAside: (awayMs) => this.#setAside(awayMs),
      restore: (restarted) => this.#restore(restarted),
      discard: (awayMs) => this.#discard(awayMs),
      drop: (awayMs) => this.#dropData(awayMs),
      back: () => this.#catchUp.rejoin(),
    });
    this.peers = new PeerAnswers({
      id: this.id,
      config,
      store: this.store,
      hints: this.hints,
      requests: this.requests,
      copies: this.#copies,
      ballots: this.ballots,
      topology: this.topology,
      membership: this.membership,
      antiEntropy: this.antiEntropy,
      ringChanges: this.#ringChanges,
      catchUp: this.#catchUp,
      scheduler,
      logger: this.#log,
      checkPause: () => this.absence.checkPause(),
      execute: (op, ctx) => this.execute(op, ctx),
      observePeerClock: (peer, clock) => this.#observePeerClock(peer, clock),
    });
    this.membership.onChange((m, from, to) => {
      this.topology.membersChanged(m.id);
      // First: data set aside is restored or dropped before handoff or anti-entropy reach the member.
      this.absence.changed();
      if (to === 'alive') this.handoff.kick();
      if (to === 'alive' && from === 'dead') this.antiEntropy.compareSoon(m.id);
      if (to === 'dead' || to === 'left') this.clock.forget(m.id);
      else this.clock.judge();
    });
  }

  /** The latest rebalance, for metrics and tests. */
  get rebalance(): RebalanceProgress | undefined {
    return this.#ringChanges.progress;
  }

  /** True from start() until this node holds what its peers hold for it. */
  get catchingUp(): boolean {
    return this.#catchUp.catchingUp;
  }

  /**
   * Peers this node has yet to pull from (CatchUpState): taken for dead in its catch-up, or owed for
   * keys it took from a peer that owed them. For metrics and status; which keys that affects is
   * ClusterView.owedFor's answer.
   */
  get owedPeers(): ReadonlySet<string> {
    return this.#catchUp.owedPeers;
  }

  /** The catch-up of this start: records received and applied, bytes, and whether it finished. */
  get catchUp(): CatchUpProgress {
    return this.#catchUp.progress;
  }

  /** Resolves once the catch-up of start() finished (at once for a node with nothing to catch up). */
  caughtUp(): Promise<void> {
    return this.#catchUp.caughtUp();
  }

  /** Background tasks (catch-up, rebalances) not yet settled: 0 once a stop has finished. */
  get backgroundTasks(): number {
    return this.#tasks.size;
  }

  addressOf(id: string): string | undefined {
    return this.topology.member(id)?.address ?? this.#addresses.get(id);
  }

  /** Starts gossip, handoff and the sweep, then pulls this node's data from its peers in the background. */
  start(): void {
    if (this.#running || this.#stopping) return;
    this.#running = true;
    this.membership.start();
    this.handoff.start();
    this.antiEntropy.start();
    this.absence.start();
    if (this.#sweepIntervalMs > 0) this.#armSweep();
    this.#catchUp.start();
  }

  /** Says goodbye to gossip: peers mark this node left at once instead of suspecting it. */
  leaveGossip(): void {
    this.membership.leave();
  }

  /** Stops everything start() started, in reverse order, and awaits it. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #stop(): Promise<void> {
    this.#running = false;
    this.#scheduler.clearTimeout(this.#sweepTimer);
    this.absence.stop();
    this.#tasks.abort();
    await this.membership.stop();
    await this.handoff.stop();
    // Closing the transport first fails the compare an anti-entropy round may wait on.
    const antiEntropy = this.antiEntropy.stop();
    // Closing the transport fails the calls the tasks still wait on, so they notice the abort at once.
    this.transport.close();
    await antiEntropy;
    await this.#tasks.settled();
  }

  /** Writes are refused, before anything is applied, while this node's clock is out of bounds. */
  execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome> {
    this.absence.checkPause();
    if (op.kind !== 'get') {
      const refusal = this.clock.refusal;
      if (refusal) return refusal;
    }
    return this.coordinator.execute(op, ctx);
  }

  localGet(key: string, consistency: Consistency): StoredValue | null | undefined {
    // No pause check here, on the commonest call of all: a read at ONE that this node answers alone
    // promises no latest value (W + R <= N) and writes nothing back; execute() checks every other.
    return this.coordinator.localGet(key, consistency);
  }

  /** Bytes of the value this node's copy of `key` holds, where a read may answer with it, else 0 (Coordinator.localValueBytes). */
  localValueBytes(key: string): number {
    return this.coordinator.localValueBytes(key);
  }

  /** Where `key` lives and what each of its replicas holds (see explain.ts); a bad key rejects. */
  async explain(key: string, deadlineMs: number): Promise<KeyExplanation> {
    checkKey(key, this.#config.limits.maxKeyBytes);
    const members = this.topology.snapshot().members;
    return await explainKey(this.view, this.store, members, this.#config.replication.factor, key, deadlineMs);
  }

  join(member: RingMember): Promise<void> {
    return this.#ringChanges.join(member);
  }

  leave(id: string): Promise<void> {
    return this.#ringChanges.leave(id);
  }

  /** Cluster/Flush: every member deletes the keys it holds that start with `prefix` (flush.ts). */
  flushCluster(prefix: string): Promise<{ deleted: number; nodes: string[] }> {
    return flushCluster(
      {
        view: this.view,
        ringHere: () => ({ epoch: this.topology.epoch, digest: this.topology.digest }),
        clockHere: () => this.store.hlc.last,
        askMember: async (member, timeoutMs) => {
          const ping = {
            from: this.id,
            updates: [],
            ringEpoch: this.topology.epoch,
            ringDigest: this.topology.digest,
            clock: this.store.hlc.last,
          };
          // Bounded by timeoutMs; nothing else ends it.
          const reply = await this.transport.ping(member, ping, timeoutMs, new AbortController().signal);
          return { clock: reply.clock ?? 0, ring: { epoch: reply.ringEpoch, digest: reply.ringDigest ?? 0 } };
        },
        flushHere: (p, fence) => this.peers.flush(p, fence),
        sleep: (ms) => new Promise<void>((resolve) => this.#scheduler.setTimeout(resolve, ms)),
      },
      prefix,
    );
  }

  #adopted(members: RingMember[], before: Ring): void {
    this.#catchUp.ringChanged(
      before,
      members.some((m) => m.id === this.id),
    );
    for (const { target, rehomed } of this.hints.rehomeLeft()) {
      this.#log.info({ target, rehomed }, "hints for a member that left kept for its keys' new replicas");
    }
    for (const m of members) {
      const known = this.#addresses.get(m.id);
      if (known !== undefined && known !== m.address) this.transport.forget(m.id);
      this.#addresses.set(m.id, m.address);
    }
    this.membership.setMembers(members.map((m) => m.id));
    this.absence.changed();
  }

  /**
   * Cut off past the absence limit (recovery/absence.ts): the others may have deleted keys this node
   * holds and purged the tombstones since. Its records are moved out of the store, where no peer's
   * read, comparison, catch-up or rebalance can reach them, until the absence watch decides (restore
   * or drop). Meanwhile it catches up as after a restart: it takes replica writes, and counts for
   * nothing in any quorum. Its ballot fences go with the held versions (ballots.ts). Hints it holds
   * for others are kept: each is a write that was made, and expires on its own.
   */
  #setAside(awayMs: number): void {
    this.ballots.unsettle();
    this.#catchUp.dropped();
    const aside = new Map<string, StoreRecord>();
    for (const [key, record] of [...this.store.records()]) {
      if (this.store.release(key, record.version)) aside.set(key, record);
    }
    for (const key of [...this.store.keys()]) {
      const version = this.store.versionOf(key);
      if (version) this.store.release(key, version); // past its purge time: nothing to keep
    }
    this.#asideRecords = aside;
    this.#log.warn(
      { awayMs, setAside: aside.size, tombstoneGraceMs: this.#config.tombstoneGraceMs },
      'cut off from most members for too long: every key held is set aside until they are reached again',
    );
  }

  /**
   * Most of the other members restarted, empty, while this node was cut off: none that stayed up can
   * have forgotten a delete, and this node may hold the only copies. Its records go back into the
   * store (a newer write that reached it meanwhile wins), then it catches up and serves again.
   */
  #restore(restarted: readonly string[]): void {
    const aside = this.#asideRecords;
    this.#asideRecords = undefined;
    let restored = 0;
    for (const [key, record] of aside ?? []) {
      try {
        if (this.store.applyRecord(key, record)) restored++;
      } catch {
        // Expired meanwhile, or refused by this node's limits: lost as it would be on a peer.
      }
    }
    this.#log.warn(
      { restored, restarted },
      'most members restarted while this node was cut off: the keys set aside are kept, and served again',
    );
  }

  /**
   * Cut off, and half the other members or more stayed up meanwhile: they may have deleted keys set
   * aside here and purged the tombstones since, so those copies are dropped (the keys live on where
   * they were not deleted). What reached the store since it was set aside was written during the
   * absence, and stays. It catches up again now (AbsenceWatch.back).
   */
  #discard(awayMs: number): void {
    const dropped = this.#asideRecords?.size ?? 0;
    this.#asideRecords = undefined;
    this.#log.warn(
      { awayMs, why: 'cut off', dropped, tombstoneGraceMs: this.#config.tombstoneGraceMs },
      'away from the cluster for too long: deletes made meanwhile may be forgotten, so every key held was dropped; catching up again on return',
    );
  }

  /**
   * Paused past the absence limit: the others may have deleted keys this node holds and purged the
   * tombstones since, so its copies (and any set aside) are dropped, without tombstones, and it
   * catches up again once it reaches most members. Ballot fences and hints as in #setAside.
   */
  #dropData(awayMs: number): void {
    this.ballots.unsettle();
    this.#catchUp.dropped();
    let dropped = this.#asideRecords?.size ?? 0;
    this.#asideRecords = undefined;
    for (const key of [...this.store.keys()]) {
      const version = this.store.versionOf(key);
      if (version && this.store.release(key, version)) dropped++;
    }
    this.#log.warn(
      { awayMs, why: 'paused', dropped, tombstoneGraceMs: this.#config.tombstoneGraceMs },
      'away from the cluster for too long: deletes made meanwhile may be forgotten, so every key held was dropped; catching up again on return',
    );
  }

  #observePeerClock(peer: string, clock: number): void {
    try {
      this.store.observePeerClock(clock, peer);
    } catch (err) {
      this.#log.warn({ peer, err: (err as Error).message }, 'peer clock refused');
    }
  }

  #armSweep(): void {
    this.#sweepTimer = this.#scheduler.setTimeout(() => {
      if (!this.#running) return;
      this.store.sweep(this.#sweepBudgetMs);
      this.#armSweep();
    }, this.#sweepIntervalMs);
  }
}
