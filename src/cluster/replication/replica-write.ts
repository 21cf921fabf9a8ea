import type { Logger } from '../../observability/logger';
import type { StoreRecord } from '../../store/types';
import type { ClusterView } from '../cluster-view';
import type { HintStore } from '../recovery/hints';
import { RingCacheError } from '../../errors';
import { NewerRing, type ReplicaWrite } from '../peer-transport';
import { askReplica, RETRY_UNAVAILABLE_MS } from './ask-replica';
import type { CopiesInFlight } from './copies-in-flight';
import type { AppliedRequest } from './request-log';

export interface WriteAcks {
  /** Replicas that hold the write, the coordinator included (stand-ins' hints only with sloppy quorums). */
  acknowledged: number;
  holders: string[];
  /** Replicas that did not acknowledge before the answer (they get hints). */
  missing: string[];
  /**
   * Set when a replica answered holding a newer ring than `ringEpoch`: the acknowledgements were
   * counted on an out-of-date ring, and the write must be counted again on the newer one.
   */
  newer?: NewerRing;
  /**
   * With hints 'unlessAllRefuse': every other replica refused the record (ABORTED), or one did and
   * none of the others took it, so no replica holds it but perhaps one whose answer was lost, and
   * none will from here (its hints were dropped).
   */
  abandoned?: boolean;
}

/**
 * Sends a record the coordinator just wrote to the other replicas of its preference list, in parallel,
 * and resolves once `needed` replicas (the coordinator's own copy counts as one) hold it, or once every
 * replica has answered or the deadline passed. Replicas that fail keep going in the background and
 * become hints: a dead replica's write goes to the next alive node after the preference list as a hint
 * for it, or, when no such node exists, stays here as a hint. A stand-in's hint counts toward W only
 * with sloppy quorums (`sloppy`): otherwise a W-acknowledged write might be on fewer than W of the
 * key's replicas, and a read of R of them (W + R > N) could miss it. Nor does a replica that holds a
 * newer ring than the one `preferenceList` was taken from (`ringEpoch`): its answer ends the count at
 * once (WriteAcks.newer), since the write's replicas on the newer ring may be others.
 */
export class ReplicaWriter {
  readonly #view: ClusterView;
  readonly #hints: HintStore;
  readonly #log: Logger;
  readonly #sloppy: boolean;
  readonly #copies: CopiesInFlight | undefined;

  /** `copies`: where each copy sent is counted until its replica answers (CopiesInFlight). */
  constructor(view: ClusterView, hints: HintStore, log: Logger, sloppy = false, copies?: CopiesInFlight) {
    this.#view = view;
    this.#hints = hints;
    this.#log = log;
    this.#sloppy = sloppy;
    this.#copies = copies;
  }

  replicate(
    key: string,
    record: StoreRecord,
    preferenceList: readonly string[],
    needed: number,
    deadlineMs: number,
    requests?: readonly AppliedRequest[],
    ringEpoch?: number,
    hints: 'always' | 'unlessAllRefuse' = 'always',
  ): Promise<WriteAcks> {
    const self = this.#view.selfId;
    // 'unlessAllRefuse' (a read-modify-write's accept): when every other replica refuses the record
    // (ABORTED: each promised a higher ballot), it is nowhere and must reach no replica later, so
    // hints wait here for the answer, and are dropped then (WriteAcks.abandoned). So too when one
    // refused it and none of the others took it: a round of a higher ballot is deciding the key,
    // perhaps differently (an ifAbsent that found the key held, and wrote nothing), and this node's
    // copy, or a hint replayed later as a plain write, brought the lost round's value back over that
    // decision (leases with two coordinators, seed 261,391).
    const deferHints = hints === 'unlessAllRefuse';
    const deferred: string[] = [];
    let refusals = 0;
    let keepHints: boolean | undefined;
    const hint = (replica: string) => {
      if (!deferHints || keepHints) this.#keepHint(replica, key, record, requests);
      else if (keepHints === undefined) deferred.push(replica);
    };
    // The coordinator's own copy counts only where it is a replica of the key: a node that coordinates
    // a key it is no replica of (it left the ring, and a node on an older ring sent it the call) holds
    // a copy no read of the key's replicas will ask, and counted, a write at W = 2 was acknowledged
    // with one replica holding it.
    const isReplica = preferenceList.includes(self);
    // Nor while its ring may be behind (ring-contact.ts): the key may have other replicas now, which
    // answer with their newer ring.
    const counted = isReplica && !this.#view.ringUnconfirmed();
    const acks: WriteAcks = {
      acknowledged: counted ? 1 : 0,
      holders: isReplica ? [self] : [],
      missing: [],
    };
    const others = preferenceList.filter((id) => id !== self);
    // Computed only when a replica is down: it hashes the key's whole walk of the ring.
    let standIns: string[] | undefined;
    return new Promise<WriteAcks>((resolve) => {
      let outstanding = others.length;
      let answered = false;
      const answer = () => {
        if (answered) return;
        answered = true;
        const tookIt = acks.acknowledged - (counted ? 1 : 0);
        acks.abandoned =
          deferHints &&
          others.length > 0 &&
          (refusals === others.length || (refusals > 0 && tookIt === 0 && acks.acknowledged < needed));
        keepHints = !acks.abandoned;
        if (keepHints) for (const replica of deferred) this.#keepHint(replica, key, record, requests);
        // A snapshot: replicas that acknowledge later must not change what the caller was told.
        resolve({
          acknowledged: acks.acknowledged,
          holders: [...acks.holders],
          missing: [...acks.missing],
          newer: acks.newer,
          abandoned: acks.abandoned,
        });
      };
      const settle = (replica: string, holder: string | undefined) => {
        if (holder === replica || (holder !== undefined && this.#sloppy)) {
          acks.acknowledged++;
          acks.holders.push(holder === replica ? replica : `${holder} (hint for ${replica})`);
        } else acks.missing.push(holder === undefined ? replica : `${replica} (hint on ${holder})`);
        outstanding--;
        if (acks.acknowledged >= needed || outstanding === 0) answer();
      };
      for (const replica of others) {
        const standIn = this.#view.isAlive(replica)
          ? undefined
          : (standIns ??= this.#standIns(key, preferenceList)).shift();
        const target = standIn ?? replica;
        if (!this.#view.isAlive(target)) {
          hint(replica);
          settle(replica, undefined);
          continue;
        }
        const write: ReplicaWrite = standIn
          ? { key, record, hintFor: replica, requests, ringEpoch }
          : { key, record, requests, ringEpoch };
        const done = (refused: RingCacheError | undefined) => {
          if (!refused) return settle(replica, target);
          if (refused instanceof NewerRing) {
            // It holds the record (no hint needed), but counts on no older ring: the count ends here.
            acks.newer ??= refused;
            acks.missing.push(`${replica} (on ring epoch ${refused.epoch})`);
            outstanding--;
            return answer();
          }
          // Also when a replica refused an accept below a higher ballot (ABORTED): the round that
          // promised it may write nothing (a cas that conflicts), and the hint, replayed as a plain
          // last-writer-wins write, is then what brings this replica the acknowledged value.
          if (refused.code === 'ABORTED' && !answered) refusals++;
          hint(replica);
          settle(replica, undefined);
        };
        // Counted from the send until the copy is answered, asked again included (CopiesInFlight).
        const copyBytes = record.value.length;
        this.#copies?.add(copyBytes);
        const copyAnswered = (refused: RingCacheError | undefined) => {
          this.#copies?.settle(copyBytes);
          done(refused);
        };
        void this.#view.transport.replicate(target, write, deadlineMs).then((refused) => {
          if (refused?.code !== 'UNAVAILABLE' || refused instanceof NewerRing || !this.#view.isAlive(target))
            return copyAnswered(refused);
          // Asked again while the replica refuses at once and is still taken for alive: right after
          // nodes start together (or one restarts), a channel waits in reconnect backoff for up to a
          // second while its peer already serves; a write at ALL must not fail for that. (Only
          // here, off the path of the writes that succeed at once.)
          const again = () => this.#view.transport.replicate(target, write, deadlineMs);
          const givenUp = () => !this.#view.isAlive(target);
          const clock = this.#view.scheduler;
          clock.setTimeout(
            () => void askReplica(clock, deadlineMs, again, givenUp).then(copyAnswered),
            RETRY_UNAVAILABLE_MS,
          );
        });
      }
      if (acks.acknowledged >= needed) answer();
    });
  }

  /**
   * Sends `record` as it is held, with the requests decided on it (ReplicaWrite.madeBy), to the
   * other alive replicas of `preferenceList`, unawaited; failures are ignored. A replica remembers
   * those that wrote nothing whatever it holds (RecordCopies.remember), and takes
   * the record if it lacked it, as from read repair.
   */
  share(
    key: string,
    record: StoreRecord,
    preferenceList: readonly string[],
    madeBy: readonly AppliedRequest[],
    deadlineMs: number,
  ): void {
    for (const replica of preferenceList) {
      if (replica === this.#view.selfId || !this.#view.isAlive(replica)) continue;
      void this.#view.transport.replicate(replica, { key, record, madeBy }, deadlineMs);
    }
  }

  /** Sends `copy` to one replica whose copy is stale (read repair); failures are ignored, a later read retries. */
  repair(replica: string, copy: ReplicaWrite, deadlineMs: number): void {
    void this.#view.transport.replicate(replica, copy, deadlineMs).then((refused) => {
      if (refused) this.#log.warn({ err: refused.message, replica }, 'read repair failed');
    });
  }

  /** Alive nodes after the preference list on the ring, in ring order: where a dead replica's writes go. */
  #standIns(key: string, preferenceList: readonly string[]): string[] {
    const ring = this.#view.ring();
    const all = ring.preferenceList(key, ring.nodeIds.length);
    return all
      .slice(preferenceList.length)
      .filter((id) => id !== this.#view.selfId && this.#view.isAlive(id));
  }

  /**
   * `requests`: those of a read-modify-write's accept, handed off with the record (ReplicaWrite.madeBy),
   * so that the replica knows which requests the record holds.
   */
  #keepHint(replica: string, key: string, record: StoreRecord, requests?: readonly AppliedRequest[]): void {
    // A replica that left meanwhile (its stream closed by the ring change) gets none (HintStore.add).
    if (!this.#hints.add(replica, key, record, requests)) {
      this.#log.warn(
        { replica, dropped: this.#hints.dropped },
        'hint store full; hint dropped (repair will close the gap)',
      );
    }
  }
}
