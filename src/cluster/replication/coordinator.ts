import { RingCacheError, type ErrorCode } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { Store } from '../../store/store';
import type { StoredValue } from '../../store/types';
import { checkKey } from '../../store/validation';
import { ownCopyCounts, type ClusterView } from '../cluster-view';
import { NewerRing } from '../peer-transport';
import type { HintStore } from '../recovery/hints';
import { retryWhileRefused } from './ask-replica';
import { applyLocal } from './local-ops';
import {
  isReadModifyWrite,
  UnacknowledgedWrite,
  type Consistency,
  type Operation,
  type OperationContext,
  type OperationResult,
  type Outcome,
} from './operation';
import { requiredReplicas, type ReplicationSettings } from './quorum';
import { QuorumReader } from './quorum-read';
import { ReadModifyWriter } from './read-modify-write';
import { ReplicaWriter } from './replica-write';
import type { BallotFence } from './ballots';
import type { RequestLog } from './request-log';
import type { CopiesInFlight } from './copies-in-flight';
import type { RecordCopies } from './record-copies';

/**
 * Errors on which a forward moves on to the next replica: the node was not reached or is stopping, so
 * it applied nothing. Not QUORUM_NOT_MET or DEADLINE_EXCEEDED: the write may have been applied there
 * (a re-forward after QUORUM_NOT_MET counted an incr twice).
 */
const NODE_DOWN: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAVAILABLE', 'SHUTTING_DOWN']);

function isNodeDown(outcome: Outcome | undefined): outcome is RingCacheError {
  return outcome instanceof RingCacheError && NODE_DOWN.has(outcome.code);
}

/**
 * A few of gRPC's reconnect backoffs between peers (at most 1 s plus 20% jitter,
 * transport/pipeline-connection.ts), with room for a busy machine's late timers.
 */
const FORWARD_RETRY_FOR_MS = 5000;

export interface CoordinatorOptions {
  view: ClusterView;
  store: Store;
  hints: HintStore;
  /** Outcomes of read-modify-writes by request id, shared with the node's replica-write handler. */
  requests: RequestLog;
  /** How read repair's copies carry the requests that made them. */
  recordCopies: RecordCopies;
  /** Promised ballots of read-modify-write rounds, shared with the node's prepare and accept handlers. */
  ballots: BallotFence;
  /** Default Math.random; the simulator passes a seeded generator. */
  random?: () => number;
  replication: ReplicationSettings;
  logger: Logger;
  /** limits.max_key_bytes. */
  maxKeyBytes: number;
  /**
   * What this node measured of a peer's clock (its offset from ours, within `errorMs`), to pass a
   * write's bound on in the peer's clock when forwarding it; undefined before the first measure.
   */
  peerClock?: (peer: string) => { offsetMs: number; errorMs: number } | undefined;
  /** Where copies sent to other replicas are counted until answered (CopiesInFlight). */
  copies?: CopiesInFlight;
}

/**
 * Runs one Cache operation on this node, Dynamo-style (DESIGN.md "Data path"): a key outside this
 * node's preference list is forwarded to the first alive node of it; otherwise this node coordinates:
 * writes apply locally then go to the other replicas (answering once W acknowledged), reads consult R
 * replicas and return the newest version. Never throws: every outcome is a result or a RingCacheError.
 * Returns synchronously when nothing remote is needed (R=1 reads, N=1 writes): no promise on the hot path.
 */
export class Coordinator {
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #rep: ReplicationSettings;
  readonly #log: Logger;
  readonly #writer: ReplicaWriter;
  readonly #reader: QuorumReader;
  readonly #rmw: ReadModifyWriter;
  readonly #maxKeyBytes: number;
  readonly #peerClock: CoordinatorOptions['peerClock'];
  /** Request ids this node gives read-modify-writes that came without one: unique across restarts. */
  readonly #requestPrefix: string;
  #requestSeq = 0;
  /** Operations forwarded because this node is not a replica of the key (stale client rings). */
  forwardedCount = 0;

  constructor(opts: CoordinatorOptions) {
    this.#view = opts.view;
    this.#store = opts.store;
    this.#rep = opts.replication;
    this.#log = opts.logger;
    this.#maxKeyBytes = opts.maxKeyBytes;
    this.#peerClock = opts.peerClock;
    this.#writer = new ReplicaWriter(
      opts.view,
      opts.hints,
      opts.logger,
      opts.replication.sloppy,
      opts.copies,
    );
    this.#reader = new QuorumReader(opts.view, opts.store, opts.recordCopies, this.#writer);
    this.#rmw = new ReadModifyWriter({
      view: opts.view,
      store: opts.store,
      replication: opts.replication,
      writer: this.#writer,
      requests: opts.requests,
      copies: opts.recordCopies,
      fence: opts.ballots,
      random: opts.random,
    });
    this.#requestPrefix = `${opts.view.selfId}.${opts.view.scheduler.now().toString(36)}.`;
  }

  /**
   * The common read on its own: a get this node answers from its store at once, because it is a
   * replica of the key and one copy is enough (R = 1). Returns the value, or null when the key is
   * absent; undefined means "not that simple" (a bad key, a key owned elsewhere, R > 1): use execute(),
   * which also reports errors. Lets a packed frame answer gets without building operation objects.
   * Forwarded or not: a node that another forwarded a get to on an older ring, and is no replica of
   * the key on its own (it left, say), holds no copy the key's replicas keep up to date.
   */
  localGet(key: string, consistency: Consistency): StoredValue | null | undefined {
    if (requiredReplicas(consistency, 'read', this.#rep) > 1) return undefined;
    try {
      checkKey(key, this.#maxKeyBytes);
    } catch {
      return undefined;
    }
    if (!ownCopyCounts(this.#view, key, this.#preferenceList(key))) return undefined;
    return this.#store.get(key) ?? null;
  }

  /**
   * Bytes of the value this node's copy of `key` holds, where that copy is one a read may answer with
   * (a replica's, counted as localGet counts it), else 0: a copy kept for a key this node no longer
   * replicates says nothing of what a read would return. Read without a copy (Store.valueBytesOf).
   */
  localValueBytes(key: string): number {
    return ownCopyCounts(this.#view, key, this.#preferenceList(key)) ? this.#store.valueBytesOf(key) : 0;
  }

  /**
   * The key's replicas, for gets, sets and deletes. When every node holds every key (N >= nodes,
   * e.g. 3 of 3), their order changes nothing this node does with them, so the key is not hashed.
   */
  #preferenceList(key: string): readonly string[] {
    const ring = this.#view.ring();
    return this.#rep.factor >= ring.nodeIds.length
      ? ring.nodeIds
      : ring.preferenceList(key, this.#rep.factor);
  }

  /** `again`: the read runs a second time, on the newer ring a replica answered on (#read). */
  execute(op: Operation, ctx: OperationContext, again = false): Outcome | Promise<Outcome> {
    try {
      // Checked before routing: a bad key is refused here, never forwarded.
      checkKey(op.key, this.#maxKeyBytes);
      // In the same synchronous step as #write's applyLocal, which gives the version: a write checked
      // in time cannot be stamped after its notAfter. A read-modify-write decides on the newest
      // version a quorum holds, yet it too may not start once its caller has given up on it.
      if (op.kind !== 'get' && ctx.notAfterMs !== undefined) {
        const lateMs = this.#view.scheduler.now() - ctx.notAfterMs;
        if (lateMs > 0) {
          return new RingCacheError(
            'DEADLINE_EXCEEDED',
            `${op.kind} of key '${op.key}' reached node ${this.#view.selfId} ${lateMs} ms after the ` +
              `last instant its client allowed for it (its deadline); not applied`,
          );
        }
      }
      if (isReadModifyWrite(op)) {
        // One coordinator per key decides these (the first alive replica in the key's own order, the
        // node the SDK sends them to); the others forward to it. Hashed even when every node holds
        // every key: in ring order one node would coordinate them all, and the SDK's choice would be
        // forwarded to it two times in three (3 nodes, N=3).
        const preferenceList = this.#view.ring().preferenceList(op.key, this.#rep.factor);
        // An id now, so that this node's own re-forwards and the replicas' retries apply it once.
        const rmw = {
          ...op,
          requestId: op.requestId || this.#requestPrefix + (++this.#requestSeq).toString(36),
        };
        const coordinator = preferenceList.find((id) => this.#view.isAlive(id)) ?? preferenceList[0];
        if (!ctx.forwarded && coordinator !== this.#view.selfId) {
          this.forwardedCount++;
          return this.#forward(rmw, preferenceList, ctx);
        }
        const outcome = this.#rmw.run(rmw, preferenceList, ctx.deadlineMs);
        return outcome instanceof Promise ? outcome.catch((err: unknown) => this.#failed(err)) : outcome;
      }
      const preferenceList = this.#preferenceList(op.key);
      if (!ctx.forwarded && !preferenceList.includes(this.#view.selfId)) {
        this.forwardedCount++;
        return this.#forward(op, preferenceList, ctx);
      }
      if (op.kind === 'get') {
        const r = requiredReplicas(op.consistency, 'read', this.#rep);
        // Its own copy answers alone only where it is a replica of the key: a forwarded get reaches a
        // node that is none when the sender's ring is older (nemesis mix seed 104152: a node that had
        // left and restarted empty answered "not found" for a key set at ALL).
        if (r <= 1 && ownCopyCounts(this.#view, op.key, preferenceList))
          return applyLocal(this.#store, op).result;
        return this.#read(op, preferenceList, r, ctx, again).catch((err: unknown) => this.#failed(err));
      }
      return this.#write(op, preferenceList, ctx.deadlineMs).catch((err: unknown) => this.#failed(err));
    } catch (err) {
      return this.#failed(err);
    }
  }

  /**
   * A read of R replicas. One that answers holding a newer ring than this node's makes it run once
   * more, from the start, once that ring is fetched (it may then be forwarded: this node may be no
   * replica on it); a second time, or when the ring could not be fetched, it fails UNAVAILABLE.
   */
  async #read(
    op: Extract<Operation, { kind: 'get' }>,
    preferenceList: readonly string[],
    r: number,
    ctx: OperationContext,
    again: boolean,
  ): Promise<Outcome> {
    const epoch = this.#view.epoch();
    const outcome = await this.#reader.get(op.key, preferenceList, r, ctx.deadlineMs, epoch);
    if (!(outcome instanceof NewerRing)) return outcome;
    if (!again && (await this.#fetchRing(outcome, epoch, ctx.deadlineMs)))
      return this.execute(op, { ...ctx, forwarded: false }, true);
    return this.#staleRing(op, outcome, epoch);
  }

  /** A write that decides nothing from the value it finds (set, delete): any replica coordinates it. */
  async #write(
    op: Exclude<Operation, { kind: 'get' }>,
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<Outcome> {
    const local = applyLocal(this.#store, op);
    if (!local.written || this.#rep.factor === 1) return local.result;
    const w = requiredReplicas(op.consistency, 'write', this.#rep);
    const epoch = this.#view.epoch();
    let acks = await this.#writer.replicate(
      op.key,
      local.written,
      preferenceList,
      w,
      deadlineMs,
      undefined,
      epoch,
    );
    if (acks.newer) {
      // Counted on an out-of-date ring: the same record is counted once more on the newer one, when
      // this node is a replica on it (else its client's retry reaches one, and writes it there).
      const newer = acks.newer;
      if (!(await this.#fetchRing(newer, epoch, deadlineMs)))
        return this.#staleRing(op, newer, epoch, local.result);
      const list = this.#preferenceList(op.key);
      if (!list.includes(this.#view.selfId)) return this.#staleRing(op, newer, epoch, local.result);
      acks = await this.#writer.replicate(
        op.key,
        local.written,
        list,
        w,
        deadlineMs,
        undefined,
        this.#view.epoch(),
      );
      if (acks.newer) return this.#staleRing(op, acks.newer, epoch, local.result);
    }
    if (acks.acknowledged < w) {
      return new UnacknowledgedWrite(
        local.result,
        `write of key '${op.key}' was acknowledged by ${acks.acknowledged} of the ${w} replicas it needs ` +
          `(write quorum ${w}, replication factor ${this.#rep.factor}; unreachable: ${acks.missing.join(', ') || 'none'}). ` +
          `It is kept on ${acks.holders.join(', ')} and will reach the others through hints; retry or lower consistency.`,
      );
    }
    return local.result;
  }

  /**
   * Sends `op` to a replica that serves it in place. Any alive replica will do for a set or delete;
   * a read-modify-write goes only to its coordinator (the first alive replica), since the replica
   * that serves a forwarded one coordinates it: sent on to a second one while the coordinator only
   * refused at once, it would make two coordinators of one key contend.
   */
  async #forward(op: Operation, preferenceList: readonly string[], ctx: OperationContext): Promise<Outcome> {
    const { deadlineMs, notAfterMs } = ctx;
    const clock = this.#view.scheduler;
    const rmw = isReadModifyWrite(op);
    /** One pass over the replicas: the first answer that is not a node down, else the last. */
    const pass = async (): Promise<Outcome | undefined> => {
      // Taken anew each pass: a coordinator that died meanwhile gives way to the next replica.
      const candidates = preferenceList.filter((id) => this.#view.isAlive(id));
      if (candidates.length === 0) candidates.push(...preferenceList);
      let last: Outcome | undefined;
      for (const id of rmw ? candidates.slice(0, 1) : candidates) {
        last = await this.#view.transport.forward(
          id,
          op,
          deadlineMs,
          notAfterMs === undefined ? undefined : this.#notAfterAt(id, notAfterMs),
        );
        if (!isNodeDown(last)) return last;
      }
      return last;
    };
    // Every replica refused at once (a peer channel in reconnect backoff, right after the peers
    // started, or longer on a busy machine, fails calls at once while the peer serves): nothing was
    // applied, and the pass is made again for a few backoffs.
    const retryUntilMs = Math.min(deadlineMs, clock.now() + FORWARD_RETRY_FOR_MS);
    const outcome = await retryWhileRefused(clock, retryUntilMs, pass, isNodeDown);
    if (outcome !== undefined && !isNodeDown(outcome)) return outcome;
    return new RingCacheError(
      'UNAVAILABLE',
      `no replica of the key answered (${preferenceList.join(', ')}): ${outcome?.message ?? 'all down'}`,
    );
  }

  /**
   * A write's bound, `notAfterMs` in this node's clock, in `peer`'s: moved by the peer's measured
   * offset and made earlier by the measure's error, so that the peer refuses rather than applies a
   * write its client may have given up on. Unmeasured (the first second after a start), the clocks
   * are taken as equal: they are within cluster.max_clock_offset_ms of each other, or refuse writes.
   */
  #notAfterAt(peer: string, notAfterMs: number): number {
    const clock = this.#peerClock?.(peer);
    return clock ? Math.round(notAfterMs + clock.offsetMs - clock.errorMs) : notAfterMs;
  }

  /**
   * Fetches the newer ring a replica answered on, until the call's deadline at the latest. True once
   * this node holds a ring newer than `epoch` (the one the call was counted on).
   */
  async #fetchRing(newer: NewerRing, epoch: number, deadlineMs: number): Promise<boolean> {
    const clock = this.#view.scheduler;
    let timer: unknown;
    const late = new Promise<void>((resolve) => {
      timer = clock.setTimeout(resolve, Math.max(0, deadlineMs - clock.now()));
    });
    await Promise.race([this.#view.fetchRing(newer.nodeId, newer.epoch), late]);
    clock.clearTimeout(timer);
    return this.#view.epoch() > epoch;
  }

  /**
   * A call counted on an out-of-date ring that could not be counted on the newer one: UNAVAILABLE,
   * which the SDK retries (on its own topology, or this node's once it has the ring). A write was
   * applied here and may be on other replicas: its outcome is unknown, as after a missed quorum.
   */
  #staleRing(op: Operation, newer: NewerRing, epoch: number, applied?: OperationResult): RingCacheError {
    const message =
      `${op.kind} of key '${op.key}' was counted on ring epoch ${epoch}, but node ${newer.nodeId} ` +
      `holds epoch ${newer.epoch} (node ${this.#view.selfId} now holds ${this.#view.epoch()}); retry`;
    return applied ? new UnacknowledgedWrite(applied, message) : new RingCacheError('UNAVAILABLE', message);
  }

  #failed(err: unknown): RingCacheError {
    if (err instanceof RingCacheError) return err;
    this.#log.error({ err }, 'unexpected error in coordinator');
    return new RingCacheError('INTERNAL', 'internal error (logged on the node)');
  }
}
