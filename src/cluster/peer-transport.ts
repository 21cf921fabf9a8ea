import { RingCacheError } from '../errors';
import type { StoreRecord } from '../store/types';
import type { Version } from '../store/version';
import type { MemberUpdate } from './membership/types';
import type { RangeDiff, RangeDigests } from './recovery/anti-entropy';
import type { Operation, OperationContext, Outcome } from './replication/operation';
import type { AppliedRequest } from './replication/request-log';
import type { RingState } from './ring-change/topology';

/**
 * How the core reaches other nodes, in domain types (memberlist's Transport). Its gRPC implementation
 * lives at the server edge (src/server/grpc-peer-transport.ts); the simulator and the unit tests use an
 * in-memory one (test/sim/). Calls that a node makes in bulk (replicate, read, forward) never reject:
 * a failure is an error value, so a replication fan-out costs no extra promise per replica.
 */
export interface PeerTransport {
  /**
   * Sends a record to `to`. Undefined once it holds it (applied, or it held a newer version).
   * NewerRing when `write.ringEpoch` is set and `to` answered holding a newer ring: it may hold the
   * record, but its answer counts toward no quorum counted on the older ring.
   */
  replicate(to: string, write: ReplicaWrite, deadlineMs: number): Promise<RingCacheError | undefined>;
  /**
   * `to`'s copy of `key`, tombstones included, with the requests that made it (RecordCopies): a copy
   * to take or to send on as it is. Undefined when `to` holds none. NotCaughtUp when `to` may lack
   * the key (it catches up): no answer, which no quorum may count. With `ringEpoch` (the epoch of the
   * ring the read is counted on), NewerRing when `to` answered holding a newer ring.
   */
  read(
    to: string,
    key: string,
    deadlineMs: number,
    ringEpoch?: number,
  ): Promise<ReplicaWrite | undefined | RingCacheError>;
  /**
   * A read-modify-write's prepare (replication/ballots.ts): `to` promises the ballot and sends its copy
   * of `key` and the outcomes it holds of the requests named, or refuses with the fence it holds.
   * NotCaughtUp, as for read, when `to` catches up: it promised nothing and its copy proves nothing.
   * NewerRing, as for read, when `prepare.ringEpoch` is set and `to` holds a newer ring.
   */
  lookup(to: string, key: string, prepare: Prepare, deadlineMs: number): Promise<Lookup | RingCacheError>;
  /** Anti-entropy: `to` compares our digests with its own and sends its records where they differ. */
  compare(to: string, digests: RangeDigests, deadlineMs: number): Promise<RangeDiff | RingCacheError>;
  /**
   * Runs `op` on `to` as its coordinator (`to` never forwards it again). `notAfterMs`, in `to`'s
   * clock: past it `to` refuses the write instead of applying it (its sender gave up on it).
   */
  forward(to: string, op: Operation, deadlineMs: number, notAfterMs?: number): Promise<Outcome>;
  /**
   * Streams every record `to` holds whose preference list includes `forNode`, in batches handed to
   * `onRecords`. Resolves at the end of the stream with what `to` owes (SyncDebt), rejects when it
   * breaks or `signal` aborts.
   */
  sync(
    to: string,
    forNode: string,
    onRecords: (records: readonly ReplicaWrite[]) => void,
    signal: AbortSignal,
    ring?: RingState,
  ): Promise<SyncDebt>;
  /** SWIM direct ping; rejects when no ack came in `timeoutMs` or `signal` aborted. */
  ping(to: string, ping: Ping, timeoutMs: number, signal: AbortSignal): Promise<PingReply>;
  /** Asks `via` to ping `target` for us; its deadline covers a full probe of its own. */
  pingReq(
    via: string,
    target: string,
    ping: Ping,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }>;
  /** Offers our ring; the answer is `to`'s ring after it considered ours. Rejects on failure. */
  applyRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState>;
  /**
   * Asks `to` to delete the keys it holds that start with `prefix`: with `fence` (cluster/flush.ts)
   * those written up to it, and to refuse their late copies. Resolves to how many. Rejects on failure.
   */
  flush(to: string, prefix: string, timeoutMs: number, fence?: number): Promise<number>;
  /** Shows `to` a ring change before it is made; the answer is `to`'s ring, unchanged. Rejects on failure. */
  proposeRing(to: string, ring: RingState, timeoutMs: number): Promise<RingState>;
  /** The member at `id` changed address or left: drop what is open to it. */
  forget(id: string): void;
  /** Closes every connection. */
  close(): void;
}

/**
 * A replica's answer when it may lack the key it was asked about, so its copy proves nothing: it
 * restarted empty (or dropped its data after a long absence) and still pulls its keys from its peers,
 * or a ring change just gave it the key. It also makes no read-modify-write promise then (ballots.ts).
 * The asker counts it as no answer, asks the other replicas, and never asks it again for that call.
 */
export class NotCaughtUp extends RingCacheError {
  constructor(nodeId: string) {
    super('UNAVAILABLE', `node ${nodeId} is catching up: its copy of the key is not counted`);
  }
}

/**
 * A replica's answer to a call counted on an older ring than the one it holds (ring-change/): its
 * copy, acknowledgement or promise counts toward no quorum of that call, since the call's replicas
 * were chosen on a ring that is no longer current, and a write acknowledged on the newer ring may be
 * on none of them. The asker fetches the newer ring from `nodeId` and runs the call again on it, or
 * fails it with a status the SDK retries. Like NotCaughtUp, not asked again within the call.
 */
export class NewerRing extends RingCacheError {
  constructor(
    readonly nodeId: string,
    readonly epoch: number,
    askedEpoch: number,
  ) {
    super(
      'UNAVAILABLE',
      `node ${nodeId} holds ring epoch ${epoch}, newer than the epoch ${askedEpoch} the call was counted on: its answer is not counted`,
    );
  }
}

/**
 * The rule of NewerRing, applied by each transport to a replica's answer: `answer` as it is, unless
 * the call was counted on `askedEpoch` (0 or undefined: not counted on a ring, no rule) and the
 * replica answered holding `replicaEpoch` above it (0: a release that does not say, as before).
 * Failures stay what they are: they count for nothing already.
 */
export function onAskedRing<T>(
  answer: T,
  askedEpoch: number | undefined,
  replicaEpoch: number,
  nodeId: string,
): T | NewerRing {
  if (!askedEpoch || replicaEpoch <= askedEpoch || answer instanceof RingCacheError) return answer;
  return new NewerRing(nodeId, replicaEpoch, askedEpoch);
}

/** One record as replicas exchange it; `hintFor` names the dead replica a stand-in holds it for. */
export interface ReplicaWrite {
  key: string;
  record: StoreRecord;
  hintFor?: string;
  /**
   * Set on a read-modify-write round's accept: the requests that made this record, whose outcomes
   * replicas remember (RequestLog). The record's version is the round's ballot: a replica that
   * promised a higher one refuses it (ABORTED). On a catch-up's records (sync): the requests of the
   * key the sending replica remembers, which the node catching up remembers too (catch-up.ts).
   */
  requests?: readonly AppliedRequest[];
  /**
   * Set on a hint handed off (a plain write, never fenced): the requests whose accept made this
   * record, which the replica remembers as if it had taken that accept, once it holds the record.
   * Without them a replica holding the record of a round that missed its quorum would answer a
   * retry's prepare that it never saw the request, and the retry would apply it a second time. Set
   * on every copy of a record sent outside a write's own fan-out (RecordCopies), and on the record a
   * round that wrote nothing decided its requests on (ReplicaWriter.share).
   */
  madeBy?: readonly AppliedRequest[];
  /**
   * The epoch of the ring a coordinator counts this write's acknowledgements on; unset for writes
   * that count toward no quorum (hints handed off, read repair, rebalance). Stays on this node: the
   * replica says which ring it holds in its answer (PeerTransport.replicate).
   */
  ringEpoch?: number;
}

/** A read-modify-write round's prepare: its ballot, and the requests it carries. */
export interface Prepare {
  ballot: Version;
  requestIds: readonly string[];
  /** The epoch of the ring the round counts its promises on (as ReplicaWrite.ringEpoch). */
  ringEpoch?: number;
}

/** A replica's answer to a prepare. */
export interface Lookup {
  record: StoreRecord | undefined;
  /**
   * The requests whose accept made `record` (RecordCopies): a coordinator that takes the record
   * from this answer, and builds its round on it, must carry them on in its accept.
   */
  madeBy?: readonly AppliedRequest[];
  /** The requests asked about that this replica holds the outcome of: they were applied. */
  known: AppliedRequest[];
  /**
   * The requests asked about that this replica only heard of (RequestLog.hear): they were applied,
   * but it took no accept with them, and the coordinator counts it as none of the replicas that
   * remember them. Older nodes send none.
   */
  heard?: AppliedRequest[];
  /** Set when the replica promised a higher ballot or holds a newer version: the prepare failed. */
  refused?: Version;
}

export interface Ping {
  from: string;
  updates: MemberUpdate[];
  /** The sender's ring epoch: a member that missed a join or leave learns of it from pings. */
  ringEpoch: number;
  /** The sender's ring digest (ring-state.ts): tells rings of the same epoch apart. 0: not sent. */
  ringDigest?: number;
  /** The sender's HLC (highest timestamp issued or seen); 0 when unknown. */
  clock?: number;
}

/**
 * What the sender of a catch-up stream still owes: the peers it took for dead during its own
 * catch-up and has not pulled from since, and the member lists of the rings on which they replicate
 * keys its copies may lack. The records it sent may lack their writes: the receiver owes them too,
 * unless it pulled from them itself. Empty nearly always.
 */
export interface SyncDebt {
  peers: string[];
  rings: string[][];
}

/** A sender that owes nothing (and a release that says nothing of it). */
export const NO_DEBT: SyncDebt = Object.freeze({ peers: [], rings: [] });

/**
 * Two debts of one sender in one: it is asked before and after it sends its records, and it may
 * have owed a peer more, or pulled from one, meanwhile (its copies sent before may lack either).
 */
export function joinDebts(a: SyncDebt, b: SyncDebt): SyncDebt {
  if (b.peers.length === 0) return a;
  if (a.peers.length === 0) return b;
  const rings = new Map<string, string[]>();
  for (const ring of [...a.rings, ...b.rings]) rings.set([...ring].sort().join(','), ring);
  return { peers: [...new Set([...a.peers, ...b.peers])], rings: [...rings.values()] };
}

export interface PingReply {
  updates: MemberUpdate[];
  ringEpoch: number;
  ringDigest?: number;
  /** The answering node's HLC. */
  clock?: number;
  /** The answering node's wall clock (ms) when it answered: peers measure their offsets to it. 0: unknown. */
  wallClockMs?: number;
}

/**
 * What a node answers its peers: the other half of PeerTransport. The gRPC Peer service translates
 * calls into these; the in-memory transport calls them directly.
 */
export interface PeerEndpoint {
  /** The epoch of the ring this node holds, which every answer to a replica call states (NewerRing). */
  ringEpoch(): number;
  /**
   * Applies a replica write (or keeps it as a hint for `hintFor`); an error when refused. With
   * `deadlineMs` (its sender's deadline for it), refused once past it by more than the clock bound:
   * its sender gave up on it and counted other replicas, and a copy held that long (in the socket of
   * a paused node) may be of a value deleted since, whose tombstone the others may have purged.
   */
  replicate(write: ReplicaWrite, deadlineMs?: number): RingCacheError | undefined;
  /** This node's copy of `key` with its requests, or NotCaughtUp while it may lack it (PeerTransport.read). */
  read(key: string): ReplicaWrite | undefined | NotCaughtUp;
  /** A read-modify-write's prepare, or NotCaughtUp (PeerTransport.lookup). */
  lookup(key: string, prepare: Prepare): Lookup | NotCaughtUp;
  /**
   * The records whose preference list includes `forNode`, for a catch-up: on `ring` when given (the
   * asker's, maybe newer than this node's), else on this node's ring; each with the requests of its
   * key this node remembers.
   */
  syncRecords(forNode: string, ring?: RingState): IterableIterator<ReplicaWrite>;
  /** What this node owes (CatchUpState): asked before and after syncRecords, and both sent. */
  syncDebt(): SyncDebt;
  /** Anti-entropy: this node's side of a peer's comparison. */
  compare(digests: RangeDigests): Promise<RangeDiff>;
  /** A forwarded operation, run here as its coordinator. */
  execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome>;
  /** Throws a RingCacheError ('UNAVAILABLE') while gossip has not started. */
  ping(ping: Ping): PingReply;
  pingReq(
    from: string,
    target: string,
    updates: MemberUpdate[],
  ): Promise<{ ack: boolean; updates: MemberUpdate[] }>;
  applyRing(ring: RingState): RingState;
  /** Deletes the keys this node holds that start with `prefix`, up to `fence` if given (cluster/flush.ts); how many. */
  flush(prefix: string, fence?: number): number;
  /** A proposed ring change: the ring held, which the proposal does not change. */
  proposeRing(ring: RingState): RingState;
}
