import { RingCacheError } from '../../errors';
import type { Store } from '../../store/store';
import { formatVersion } from '../../store/version';
import type { Lookup, Prepare, ReplicaWrite } from '../peer-transport';
import type { BallotFence } from './ballots';
import type { AppliedRequest, RequestLog } from './request-log';

/**
 * A replica's answers to a read-modify-write round (ballots.ts): the prepare (its copy, the
 * outcomes it holds of the round's requests, or the fence that refuses the ballot) and the accept.
 */
export class ReadModifyWriteReplica {
  readonly #nodeId: string;
  readonly #store: Store;
  readonly #ballots: BallotFence;
  readonly #requests: RequestLog;
  readonly #now: () => number;

  constructor(nodeId: string, store: Store, ballots: BallotFence, requests: RequestLog, now: () => number) {
    this.#nodeId = nodeId;
    this.#store = store;
    this.#ballots = ballots;
    this.#requests = requests;
    this.#now = now;
  }

  prepare(key: string, prepare: Prepare): Lookup {
    const now = this.#now();
    const record = this.#store.readRecord(key);
    const known: AppliedRequest[] = [];
    let heard: AppliedRequest[] | undefined;
    for (const id of prepare.requestIds) {
      // What it took firsthand: the coordinator counts each answer as a replica that remembers.
      const outcome = this.#requests.getFirsthand(id, key, now);
      if (outcome) known.push({ id, outcome });
      else {
        // Heard of only (RequestLog.hear): the request was applied, which the coordinator must know
        // lest it apply it again, but this replica took no accept with it and counts for none.
        const heardOf = this.#requests.get(id, key, now);
        if (heardOf) (heard ??= []).push({ id, outcome: heardOf });
      }
    }
    const answer: Lookup = heard ? { record: undefined, known, heard } : { record: undefined, known };
    const refused = this.#ballots.prepare(key, prepare.ballot, record?.version, now);
    if (refused) return { ...answer, refused };
    answer.record = record;
    const madeBy = record && this.#requests.madeBy(key, record.version, now);
    if (madeBy && madeBy.length > 0) answer.madeBy = madeBy;
    return answer;
  }

  /** An accept: refused (ABORTED) below the key's fence; the requests' outcomes are remembered. */
  accept(write: ReplicaWrite, requests: readonly AppliedRequest[]): RingCacheError | undefined {
    // Promises made before a restart are gone until the fences are re-established (ballots.ts). The
    // coordinator keeps a hint for this replica, which brings it the value as a plain write later.
    if (!this.#ballots.settled) {
      return new RingCacheError(
        'ABORTED',
        `node ${this.#nodeId}: catching up, it takes no read-modify-write until its ballot fences are back`,
      );
    }
    const now = this.#now();
    const fence = this.#ballots.accepts(write.key, write.record.version, this.#store.versionOf(write.key));
    if (fence) {
      // The same accept again (its request sent twice), after this replica promised a higher ballot:
      // it took this very record before that promise, and says so. Refused, it would hide that the
      // record is here, and a coordinator whose other replicas refused would take the round for one
      // that left nothing anywhere, so that a retry of its requests applied them again. Only if it
      // held the record when it promised (BallotFence.heldWhenPromised): its prepare answer then
      // carried it, and the round it promised counted it.
      if (
        this.#ballots.heldWhenPromised(write.key, write.record.version) &&
        this.#requests.tookAccept(write.key, requests, write.record.version, now)
      )
        return undefined;
      return new RingCacheError(
        'ABORTED',
        `node ${this.#nodeId}: key '${write.key}' is at ballot ${formatVersion(fence)}, above this write's ${formatVersion(write.record.version)}`,
      );
    }
    this.#store.applyRecord(write.key, write.record);
    this.#ballots.reached(write.key, write.record.version, now);
    for (const request of requests) this.#requests.remember(write.key, request, now, write.record.version);
    return undefined;
  }
}
