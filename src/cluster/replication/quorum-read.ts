import { RingCacheError } from '../../errors';
import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import { compareVersions } from '../../store/version';
import { ownCopyCounts, type ClusterView } from '../cluster-view';
import { NewerRing, type ReplicaWrite } from '../peer-transport';
import { askReplica } from './ask-replica';
import { copyHolders } from './copy-holders';
import { recordToGetResult } from './local-ops';
import type { Outcome } from './operation';
import type { RecordCopies } from './record-copies';
import type { ReplicaWriter } from './replica-write';
import type { AppliedRequest } from './request-log';

interface ReplicaCopy {
  replica: string;
  record: StoreRecord | undefined;
  /** The requests that made `record`, as its replica sent them (RecordCopies); unset for this node's own. */
  madeBy?: readonly AppliedRequest[];
}

/**
 * Reads that consult several replicas: quorum Gets (newest version wins, stale copies repaired in the
 * background). The catch-up before a read-modify-write is read-modify-write.ts.
 */
export class QuorumReader {
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #copies: RecordCopies;
  readonly #writer: ReplicaWriter;

  constructor(view: ClusterView, store: Store, copies: RecordCopies, writer: ReplicaWriter) {
    this.#view = view;
    this.#store = store;
    this.#copies = copies;
    this.#writer = writer;
  }

  /**
   * `ringEpoch`: the epoch of the ring `preferenceList` was taken from. A replica that answers
   * holding a newer ring counts for nothing, and makes the whole read NewerRing (this node's ring is
   * out of date, so its R replicas may miss a write acknowledged on the newer one): the coordinator
   * fetches that ring and reads again on it.
   */
  async get(
    key: string,
    preferenceList: readonly string[],
    needed: number,
    deadlineMs: number,
    ringEpoch?: number,
  ): Promise<Outcome | NewerRing> {
    const self = this.#view.selfId;
    const drops = this.#view.drops();
    const local: ReplicaCopy = { replica: self, record: this.#store.readRecord(key) };
    const others = copyHolders(this.#view, key, preferenceList);
    // Only the key's replicas vote: a former holder adds its copy (newest wins), but it took none of
    // the writes acknowledged on this ring, so it must not stand in for a replica that did.
    const voter = (id: string) => preferenceList.includes(id);
    const voters = others.filter(voter).length;
    // A node still catching up holds an incomplete store, one whose ring may be behind may no
    // longer be a replica, and one that is none of the key (a get forwarded to it on an older
    // ring) took none of its writes: its own copy is kept (newest wins) but does not count as an
    // answer, so `needed` other replicas must answer.
    const own = ownCopyCounts(this.#view, key, preferenceList) ? 1 : 0;
    if (voters + own < needed) {
      return new RingCacheError(
        'QUORUM_NOT_MET',
        `read of key '${key}' needs ${needed} replicas but only ${voters + own} of ${preferenceList.join(', ')} can answer` +
          (own === 0 ? ` (${self} ${this.#whyNotOwn(key, preferenceList)})` : ''),
      );
    }
    const { copies, all, newer } = await this.#ask(key, others, voter, needed - own, deadlineMs, ringEpoch);
    if (newer) return newer;
    const votes = copies.filter((c) => voter(c.replica)).length;
    if (votes + own < needed) {
      return new RingCacheError(
        'QUORUM_NOT_MET',
        `read of key '${key}' got ${votes + own} of the ${needed} replica answers it needs before the deadline`,
      );
    }
    const newest = newestOf([local, ...copies]);
    this.#repairLater(key, preferenceList, newest, local, all, deadlineMs, drops);
    return recordToGetResult(newest?.record, this.#view.scheduler.now());
  }

  /** Why this node's own copy of `key` is no answer (see get). */
  #whyNotOwn(key: string, preferenceList: readonly string[]): string {
    if (!preferenceList.includes(this.#view.selfId)) return 'is no replica of it';
    if (this.#view.catchingUp()) return 'is catching up';
    // The owed peers may be no replicas of the key now: a ring change moved it off them.
    const owed = this.#view.owedFor(key);
    if (owed.length > 0) return `has yet to pull the copies of ${owed.join(', ')}`;
    return 'waits to hear its ring from a peer';
  }

  /**
   * Asks every replica in `replicas` and resolves once `wanted` of those that vote answered (the
   * rest keep coming in `all`, for read repair), or once every voter answered or failed, or at once
   * when one answered holding a newer ring than `ringEpoch` (`newer`).
   */
  #ask(
    key: string,
    replicas: string[],
    voter: (id: string) => boolean,
    wanted: number,
    deadlineMs: number,
    ringEpoch: number | undefined,
  ): Promise<{ copies: ReplicaCopy[]; all: Promise<ReplicaCopy[]>; newer?: NewerRing }> {
    const copies: ReplicaCopy[] = [];
    let votes = 0;
    let outstanding = replicas.length;
    let outstandingVoters = replicas.filter(voter).length;
    return new Promise((resolve) => {
      let resolveAll: (c: ReplicaCopy[]) => void = () => undefined;
      const all = new Promise<ReplicaCopy[]>((r) => (resolveAll = r));
      let answered = false;
      let newer: NewerRing | undefined;
      const check = () => {
        if (!answered && (newer || votes >= wanted || outstandingVoters === 0)) {
          answered = true;
          resolve({ copies: [...copies], all, newer });
        }
        if (outstanding === 0) resolveAll(copies);
      };
      const clock = this.#view.scheduler;
      for (const replica of replicas) {
        const read = () => this.#view.transport.read(replica, key, deadlineMs, ringEpoch);
        void askReplica(clock, deadlineMs, read, () => answered).then((out) => {
          outstanding--;
          if (voter(replica)) outstandingVoters--;
          if (out instanceof NewerRing) newer ??= out;
          else if (!(out instanceof RingCacheError)) {
            copies.push({ replica, record: out?.record, madeBy: out?.madeBy });
            if (voter(replica)) votes++;
          }
          check();
        });
      }
      check();
    });
  }

  /**
   * Once every replica answered, sends the newest record to those holding an older one (read repair).
   * Only the key's replicas on this node's ring are repaired, this node included: the former holders
   * a catching-up read asks too (copy-holders.ts), and this node when a peer on another ring forwarded
   * the read here, are no replicas. A copy sent there would stay for good: release passes run on the
   * old replicas of a ring change, and such a node may be none (it lacked the key when the ring changed).
   */
  #repairLater(
    key: string,
    preferenceList: readonly string[],
    answered: ReplicaCopy | undefined,
    local: ReplicaCopy,
    all: Promise<ReplicaCopy[]>,
    deadlineMs: number,
    drops: number,
  ): void {
    const replica = (id: string) => preferenceList.includes(id);
    const selfReplica = replica(this.#view.selfId);
    // A read that began before this node dropped its data after a long absence (or set it aside)
    // repairs nothing: its copies, its own above all, predate deletes whose tombstones the others
    // may have purged since, and writing them back, here or to a replica, would bring the deleted
    // values back everywhere (a read sent its calls before the node was paused, and their answers
    // come in after the drop). Anti-entropy repairs what needs it.
    const sinceDrop = () => this.#view.drops() !== drops;
    if (sinceDrop()) return;
    if (selfReplica && answered?.record && isOlder(local.record, answered.record))
      this.#copies.take(this.#copyOf(key, answered));
    // Judged on every answer, not only the first R: a later answer may be newer than
    // what the caller got, or the only one that holds the key at all.
    void all.then((copies) => {
      if (sinceDrop()) return;
      const newest = newestOf([local, ...copies]);
      const record = newest?.record;
      if (!newest || !record) return;
      // Built only for a repair: most reads find every replica up to date.
      let copy: ReplicaWrite | undefined;
      if (selfReplica && isOlder(this.#store.readRecord(key), record))
        this.#copies.take((copy ??= this.#copyOf(key, newest)));
      for (const c of copies) {
        if (replica(c.replica) && isOlder(c.record, record))
          this.#writer.repair(
            c.replica,
            (copy ??= this.#copyOf(key, newest)),
            Math.max(deadlineMs, this.#view.scheduler.now() + 1000),
          );
      }
    });
  }

  /** `held`'s record (set) as a copy to take or send, with the requests that made it (RecordCopies). */
  #copyOf(key: string, held: ReplicaCopy): ReplicaWrite {
    const record = held.record as StoreRecord;
    if (held.replica === this.#view.selfId) return this.#copies.with(key, record);
    return held.madeBy ? { key, record, madeBy: held.madeBy } : { key, record };
  }
}

function isOlder(record: StoreRecord | undefined, than: StoreRecord): boolean {
  return !record || compareVersions(record.version, than.version) < 0;
}

/**
 * The copy with the highest version (last writer wins); tombstones take part so a delete stays
 * deleted. Undefined when no copy holds a record.
 */
export function newestOf(copies: ReplicaCopy[]): ReplicaCopy | undefined {
  let newest: ReplicaCopy | undefined;
  for (const copy of copies) {
    const { record } = copy;
    if (!record) continue;
    const order = newest?.record ? compareVersions(record.version, newest.record.version) : 1;
    // On a tie, the copy that says which requests made the record: a repair passes them on.
    if (order > 0 || (order === 0 && copy.madeBy && !newest?.madeBy)) newest = copy;
  }
  return newest;
}
