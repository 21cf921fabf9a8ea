import { compareVersions, type Version } from '../../store/version';

/**
 * How long a promise is kept when no accept follows it (its coordinator died or gave up): far longer
 * than any read-modify-write's deadline, so a slow coordinator's late accept still meets it.
 */
export const PROMISE_WINDOW_MS = 120_000;

/** Most promises held at once; the oldest go first (each is one key in flight, not one per write). */
const MAX_PROMISES = 100_000;

interface Promised {
  ballot: Version;
  atMs: number;
}

/**
 * A replica's side of the read-modify-write protocol (issue 11 §1), CASPaxos-style (Rystsov, 2018):
 * one Paxos round per change of a key, with the record's version as the ballot.
 * - prepare(b): the coordinator's catch-up read. Granted when b is above the key's fence, the higher
 *   of the ballot last promised and the version held; the replica then promises b and answers its copy.
 * - accept(record at version b): the coordinator's replica write. Taken when b is at least the fence,
 *   so a coordinator that lost the key to a higher ballot cannot finish its write, even where the
 *   record it carries is newer by the clock than what the replica holds.
 * Two coordinators that both believe they own a key (a restart, a false suspicion) then cannot both
 * succeed: a prepare reads N - W + 1 replicas and an accept needs W, so each pair meets at one replica,
 * which answers only the higher ballot. The version doubling as the ballot is what keeps this safe
 * with last-writer-wins everywhere else (hints, read repair, handoff): a value accepted at a higher
 * ballot was built on every value acknowledged at a lower one.
 *
 * Only promises still waiting for their accept are kept; once the record reaches the ballot it is
 * the fence itself. Lost on a restart, as the store is: a restarted replica catches up before it
 * answers prepares (its copy counts for nothing while it does).
 */
export class BallotFence {
  readonly #promises = new Map<string, Promised>();

  get size(): number {
    return this.#promises.size;
  }

  /** Grants `ballot` for `key` (and promises it) or returns the fence it must exceed. */
  prepare(key: string, ballot: Version, held: Version | undefined, nowMs: number): Version | undefined {
    this.#expire(nowMs);
    const fence = this.#fence(key, held);
    if (fence && compareVersions(ballot, fence) <= 0) return fence;
    this.#promises.delete(key); // re-inserted at the end: the Map stays ordered by time
    this.#promises.set(key, { ballot, atMs: nowMs });
    if (this.#promises.size > MAX_PROMISES) {
      const oldest = this.#promises.keys().next();
      if (!oldest.done) this.#promises.delete(oldest.value);
    }
    return undefined;
  }

  /**
   * Whether an accept of a record at `version` may be applied: at or above the fence (equal to the
   * held version is the same accept again, answered as done). Returns the fence when it may not.
   */
  accepts(key: string, version: Version, held: Version | undefined): Version | undefined {
    const fence = this.#fence(key, held);
    return fence && compareVersions(version, fence) < 0 ? fence : undefined;
  }

  /** The record of `key` reached `version`: a promise at or below it is no longer needed. */
  reached(key: string, version: Version): void {
    const p = this.#promises.get(key);
    if (p && compareVersions(p.ballot, version) <= 0) this.#promises.delete(key);
  }

  #fence(key: string, held: Version | undefined): Version | undefined {
    const promised = this.#promises.get(key)?.ballot;
    if (!promised) return held;
    if (!held) return promised;
    return compareVersions(promised, held) >= 0 ? promised : held;
  }

  #expire(nowMs: number): void {
    const cutoff = nowMs - PROMISE_WINDOW_MS;
    for (const [key, p] of this.#promises) {
      if (p.atMs > cutoff) break;
      this.#promises.delete(key);
    }
  }
}
