import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import { compareVersions, type Version } from '../../store/version';
import type { ReplicaWrite } from '../peer-transport';
import type { BallotFence } from './ballots';
import type { AppliedRequest, RequestLog } from './request-log';

export interface CopyOptions {
  /**
   * The copy is one that a read-modify-write round this node coordinates at this ballot read in its
   * prepare (round-prepare.ts): a promise here up to that ballot is that round's own, which builds on
   * the record. One above it is another coordinator's, granted before the copy came: that round
   * never read the record and will write over it, and this node's own round can no longer win.
   */
  ownRoundBallot?: Version;
}

/**
 * A record as it moves from one replica to another outside a write's own fan-out: the answer to a
 * peer's read (and so anti-entropy's pulls and read repair), anti-entropy's pushes, read repair, a
 * ring change's rebalance and release, a hint handed off. Every such copy carries the requests whose
 * read-modify-write accept made the record (ReplicaWrite.madeBy), and the node that takes it
 * remembers them with it. Without them, a replica that holds the record of a round that missed its
 * quorum would answer a retry's prepare that it never saw the request, and the retry would apply it a
 * second time (an increment counted twice). The write fan-out, the accepts and the catch-up's sync
 * carry their requests themselves (ReplicaWrite.requests).
 */
export class RecordCopies {
  readonly #store: Store;
  readonly #requests: RequestLog;
  readonly #now: () => number;
  readonly #fence: BallotFence | undefined;

  /** `fence`: this node's ballot promises, which a copy's requests must not go past (remember). */
  constructor(store: Store, requests: RequestLog, now: () => number, fence?: BallotFence) {
    this.#store = store;
    this.#requests = requests;
    this.#now = now;
    this.#fence = fence;
  }

  /** This node's copy of `key`, with the requests that made it; undefined when it holds none. */
  of(key: string): ReplicaWrite | undefined {
    const record = this.#store.readRecord(key);
    return record && this.with(key, record);
  }

  /** `record` (this node's copy of `key`, already read) with the requests that made it. */
  with(key: string, record: StoreRecord): ReplicaWrite {
    const madeBy = this.#requests.madeBy(key, record.version, this.#now());
    return madeBy.length > 0 ? { key, record, madeBy } : { key, record };
  }

  /**
   * Takes a copy from another node into this store (newer versions win, as Store.applyRecord
   * decides), then remembers the requests it carries (remember). Whether the store took it; throws
   * what applyRecord throws (this node's limits refuse the copy).
   */
  apply(copy: ReplicaWrite, opts?: CopyOptions): boolean {
    const applied = this.#store.applyRecord(copy.key, copy.record);
    if (copy.madeBy) this.remember(copy.key, copy.record.version, copy.madeBy, opts);
    return applied;
  }

  /**
   * apply, for a copy that is one of several a read or round hears: one this node's limits refuse
   * (a value larger than its max_value_bytes, say) is left out, and its own copy stays. Whether the
   * store took it.
   */
  take(copy: ReplicaWrite, opts?: CopyOptions): boolean {
    try {
      return this.apply(copy, opts);
    } catch {
      return false;
    }
  }

  /**
   * Remembers `madeBy`, the requests whose accept made `key`'s record at `version`, as that accept
   * would have, if this node holds that record now (a newer one it holds instead holds them or not:
   * that is for its own) and has promised no higher ballot for the key: the round it promised never
   * read that record and will write over it, and a request of it, whose round may have missed its
   * quorum, counted here as one more replica that took it, would look chosen while no record keeps
   * its effect (its retry answered as applied: an acknowledged increment lost). Those it does not
   * take it keeps as heard of (RequestLog.hear), so that its own rounds do not apply them again.
   * Requests that wrote nothing (ReplicaWriter.share) are remembered whatever it holds: their first
   * outcome is the one a retry must get. A copy this node's own round read counts its own promise
   * as no higher one, but not another coordinator's above it (late retries seed 302,518: a round
   * here, already outbid by a promise to another coordinator whose round had read the older record,
   * took a copy of an unchosen increment's record and counted itself among the replicas that took
   * it; its retry was answered as applied after that other round wrote over it).
   */
  remember(key: string, version: Version, madeBy: readonly AppliedRequest[], opts?: CopyOptions): void {
    const held = this.#store.versionOf(key);
    const takes =
      held !== undefined &&
      compareVersions(held, version) === 0 &&
      this.#fence?.promisedAbove(key, opts?.ownRoundBallot ?? version) !== true;
    const now = this.#now();
    for (const request of madeBy) this.#requests.takeCopied(key, request, now, takes ? version : undefined);
  }
}
