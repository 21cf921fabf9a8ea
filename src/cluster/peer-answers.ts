import type { ClusterConfig } from '../config/types';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import { Ring } from '../ring/ring';
import type { Store } from '../store/store';
import type { Membership } from './membership/membership';
import type { MemberUpdate, Scheduler } from './membership/types';
import {
  NotCaughtUp,
  type Lookup,
  type Ping,
  type PingReply,
  type PeerEndpoint,
  type Prepare,
  type ReplicaWrite,
  type SyncDebt,
} from './peer-transport';
import type { AntiEntropy, RangeDiff, RangeDigests } from './recovery/anti-entropy';
import type { CatchUpState } from './recovery/catch-up-state';
import type { HintStore } from './recovery/hints';
import type { BallotFence } from './replication/ballots';
import type { Operation, OperationContext, Outcome } from './replication/operation';
import { ReadModifyWriteReplica } from './replication/replica-side';
import type { RecordCopies } from './replication/record-copies';
import type { RequestLog } from './replication/request-log';
import { checkRingState, ringEpochInBounds } from './ring-change/ring-bounds';
import type { RingChanges } from './ring-change/ring-changes';
import type { RingState, Topology } from './ring-change/topology';

/** The parts of a node's core that its answers to peers read and change. */
export interface PeerAnswersParts {
  id: string;
  config: ClusterConfig;
  store: Store;
  hints: HintStore;
  requests: RequestLog;
  /** This node's records as copies for its peers, and theirs taken here, with their requests. */
  copies: RecordCopies;
  ballots: BallotFence;
  topology: Topology;
  membership: Membership;
  antiEntropy: AntiEntropy;
  ringChanges: RingChanges;
  catchUp: CatchUpState;
  scheduler: Scheduler;
  logger: Logger;
  /** AbsenceWatch.checkPause: a pause past the absence limit is acted on before a request is served. */
  checkPause: () => void;
  /** The core's own execute: a forwarded operation runs as any other, clock refusal included. */
  execute: (op: Operation, ctx: OperationContext) => Outcome | Promise<Outcome>;
  /** A peer's HLC reading, from a ping: the core's store observes it (or refuses and logs it). */
  observePeerClock: (peer: string, clock: number) => void;
}

/**
 * What a node answers its peers (PeerEndpoint): replica writes and accepts, reads and prepares,
 * comparisons, catch-up records, pings and ring changes. Everything a peer sends is checked here or
 * in the part it reaches (versions, expiries, ballots, ring epochs), and a node that may lack a key
 * (catching up, or its ballot fences not back yet) answers NotCaughtUp rather than an empty store.
 * The gRPC Peer service and the simulator's network both call this, and nothing else of the core.
 */
export class PeerAnswers implements PeerEndpoint {
  readonly #p: PeerAnswersParts;
  readonly #rmwReplica: ReadModifyWriteReplica;
  readonly #notCaughtUp: NotCaughtUp;

  /** Replica writes refused as late since the last log line about them, and when that was. */
  #lateRefused = 0;
  #lateLoggedAtMs = -Infinity;

  constructor(parts: PeerAnswersParts) {
    this.#p = parts;
    this.#rmwReplica = new ReadModifyWriteReplica(parts.id, parts.store, parts.ballots, parts.requests, () =>
      parts.scheduler.now(),
    );
    this.#notCaughtUp = new NotCaughtUp(parts.id);
  }

  ringEpoch(): number {
    return this.#p.topology.epoch;
  }

  execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome> {
    return this.#p.execute(op, ctx);
  }

  replicate(write: ReplicaWrite, deadlineMs?: number): RingCacheError | undefined {
    this.#p.checkPause();
    const { id, store, hints, copies, logger, config, scheduler } = this.#p;
    if (deadlineMs !== undefined && scheduler.now() > deadlineMs + config.maxClockOffsetMs) {
      this.#refusedLate(deadlineMs);
      return new RingCacheError('DEADLINE_EXCEEDED', `node ${id}: the replica write came after its deadline`);
    }
    try {
      // A stand-in for a dead replica holds the write as a hint, not in its own store (sloppy quorum).
      if (write.hintFor && write.hintFor !== id) {
        // Held unapplied, so checked here as applyRecord checks what it applies (versions, expiries).
        store.checkPeerRecord(write.record);
        return hints.add(write.hintFor, write.key, write.record, write.requests ?? write.madeBy)
          ? undefined
          : new RingCacheError('OUT_OF_MEMORY', `node ${id}: hint store full`);
      }
      if (write.requests) return this.#rmwReplica.accept(write, write.requests);
      copies.apply(write);
      return undefined;
    } catch (err) {
      if (err instanceof RingCacheError) {
        logger.warn({ key: write.key, err: err.message }, 'replica write refused');
        return err;
      }
      logger.error({ err }, 'unexpected error applying a replica write');
      return new RingCacheError('INTERNAL', 'internal error (logged on the node)');
    }
  }

  /**
   * A paused node reads every copy that waited in its sockets at once: one log line a second, with
   * how many were refused since the last and how late the latest came, not one per write.
   */
  #refusedLate(deadlineMs: number): void {
    const { logger, scheduler } = this.#p;
    const now = scheduler.now();
    this.#lateRefused++;
    if (now - this.#lateLoggedAtMs < 1000) return;
    logger.info(
      { refused: this.#lateRefused, lateMs: now - deadlineMs },
      'replica write refused: too late (its sender gave up on it)',
    );
    this.#lateRefused = 0;
    this.#lateLoggedAtMs = now;
  }

  compare(digests: RangeDigests): Promise<RangeDiff> {
    this.#p.checkPause();
    return this.#p.antiEntropy.compare(digests);
  }

  /** NotCaughtUp while this node may lack the key: a peer's quorum must not count an empty store. */
  read(key: string): ReplicaWrite | undefined | NotCaughtUp {
    this.#p.checkPause();
    if (this.#p.catchUp.mayLack(key)) return this.#notCaughtUp;
    return this.#p.copies.of(key);
  }

  /**
   * A prepare whose ballot is too far ahead of this clock throws INVALID_ARGUMENT: it would fence the
   * key. NotCaughtUp, promising nothing, while this node may lack the key or its ballot fences are
   * not re-established yet (ballots.ts).
   */
  lookup(key: string, prepare: Prepare): Lookup | NotCaughtUp {
    this.#p.checkPause();
    this.#p.store.checkPeerVersion('ballot', prepare.ballot);
    if (!this.#p.ballots.settled || this.#p.catchUp.mayLack(key)) return this.#notCaughtUp;
    return this.#rmwReplica.prepare(key, prepare);
  }

  /**
   * The records `forNode` replicates (on `on`, the ring it catches up on, or this node's), each with
   * the requests this node remembers of its key: it must know them too before it votes, and counts
   * itself for those whose outcome names the record it ends up holding (catch-up.ts).
   * A ring of a later epoch sent with the pull is taken in first, as if gossip had brought it: a
   * node that hands its copies to a joining node holds the ring that joined it, so a flush that asks
   * every member's ring once it is done sees the join (flush.ts). Served on a ring only the joining
   * node held, the copies of writes a flush deleted meanwhile were kept on it. (Rings of one epoch
   * that differ are for gossip's exchange to merge, which leaves first rings apart.)
   */
  *syncRecords(forNode: string, on?: RingState): IterableIterator<ReplicaWrite> {
    this.#p.checkPause();
    if (on && on.epoch > this.#p.topology.epoch) this.#p.ringChanges.apply(on);
    const { topology, config, store, requests, scheduler } = this.#p;
    const current = topology.ring;
    const ids = on?.members.map((m) => m.id);
    const same =
      !ids || (ids.length === current.nodeIds.length && ids.every((id) => current.nodeIds.includes(id)));
    const ring = same ? current : new Ring(ids, { vnodes: config.vnodes });
    const factor = config.replication.factor;
    const remembered = requests.byKey(scheduler.now());
    for (const [key, record] of store.records()) {
      if (!ring.preferenceList(key, factor).includes(forNode)) continue;
      const applied = remembered.get(key);
      yield applied ? { key, record, requests: applied } : { key, record };
    }
  }

  syncDebt(): SyncDebt {
    return this.#p.catchUp.debt();
  }

  ping(ping: Ping): PingReply {
    const { membership, ringChanges, store, topology, scheduler } = this.#p;
    const updates = membership.handlePing(ping.from, ping.updates);
    if (ringEpochInBounds(ping.ringEpoch))
      ringChanges.onRingSeen(ping.from, ping.ringEpoch, ping.ringDigest ?? 0);
    else store.refusedInputs.count('ring_epoch');
    if (ping.clock) this.#p.observePeerClock(ping.from, ping.clock);
    return {
      updates,
      ringEpoch: topology.epoch,
      ringDigest: topology.digest,
      clock: store.hlc.last,
      wallClockMs: scheduler.now(),
    };
  }

  pingReq(
    from: string,
    target: string,
    updates: MemberUpdate[],
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }> {
    return this.#p.membership.handlePingReq(from, target, updates);
  }

  /** Throws INVALID_ARGUMENT, changing nothing, for a ring with absurd epochs (ring-bounds.ts). */
  applyRing(ring: RingState): RingState {
    this.#checkRing(ring);
    this.#p.ringChanges.apply(ring);
    return this.#p.ringChanges.state();
  }

  proposeRing(ring: RingState): RingState {
    this.#checkRing(ring);
    return this.#p.ringChanges.state();
  }

  flush(prefix: string, fence?: number): number {
    const { store, logger } = this.#p;
    if (fence) store.checkPeerVersion('fence', { timestamp: fence, node: this.#p.id });
    const deleted = fence ? store.fencePrefix(prefix, fence) : store.deletePrefix(prefix);
    logger.warn({ prefix, deleted, fence }, 'flushed keys');
    return deleted;
  }

  #checkRing(ring: RingState): void {
    try {
      checkRingState(ring);
    } catch (err) {
      this.#p.store.refusedInputs.count('ring_epoch');
      throw err;
    }
  }
}
