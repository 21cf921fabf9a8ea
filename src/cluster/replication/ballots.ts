import { compareVersions, type Version } from '../../store/version';

/**
 * How long a promise is kept when no accept follows it (its coordinator died or gave up): far longer
 * than any read-modify-write's deadline, so a slow coordinator's late accept still meets it.
 */
export const PROMISE_WINDOW_MS = 120_000;

/**
 * Most promises held at once, the oldest going first: one per key a round prepared or changed here
 * within the window (about 15 MB at most), not one per write. A promise dropped for room leaves a
 * floor at its ballot (#promise).
 */
const MAX_PROMISES = 100_000;

interface Promised {
  ballot: Version;
  atMs: number;
  /**
   * The version this replica held when it promised (the copy its prepare answer carried), or the
   * promised ballot's own once its accept was applied here.
   */
  held: Version | undefined;
}

/**
 * A replica's side of the read-modify-write protocol, CASPaxos-style (Rystsov, 2018):
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
 * A promise is kept for the window whether or not its accept came: once the record reaches the
 * ballot, the record is the fence too, but the record may go first (evicted, or a tombstone purged).
 *
 * Promises live in memory only, and the held versions with the store: a restart (or a store dropped
 * after a long absence) erases both. Fences are re-established, not remembered: until settle(), the
 * node answers no peer's prepare (NotCaughtUp) and takes no peer's accept; settle() comes at the end
 * of its catch-up and sets a floor, the highest HLC timestamp the node has seen by then, below which
 * it refuses every ballot from then on. Why the catch-up's end: by then the held versions are back
 * (pulled from the peers), and the node has observed the clock of every peer it reached (catch-up
 * pings them) and the version of every record pulled. A promise made before the restart was for a
 * ballot some peer's HLC had reached, so it is at or below the floor, and a round of a lower ballot
 * that was still in flight can no longer be accepted here. A coordinator refused at the floor learns
 * it from the answer and its next ballot is above it. (A coordinator unreachable for the whole
 * catch-up is not covered; a round of its own lives no longer than its deadline.) The floor costs
 * one comparison per prepare and accept.
 */
export class BallotFence {
  readonly #promises = new Map<string, Promised>();
  readonly #windowMs: number;
  /** Keys whose round this node coordinates is in its accept, each with the round's ballot (see hold). */
  readonly #accepting = new Map<string, Version>();
  /** Ballots at or below this one's timestamp are refused; undefined until the first settle(). */
  #floor: Version | undefined;
  /**
   * The highest ballot of a promise dropped for room within its window (#promise): a prepare at or
   * below it and an accept below it are refused, like the floor's, and every version below it is
   * taken as outbid (promisedAbove).
   */
  #droppedFloor: Version | undefined;
  #settled = false;

  /** `windowMs`: how long a promise is kept (PROMISE_WINDOW_MS; the simulator shortens it). */
  constructor(windowMs = PROMISE_WINDOW_MS) {
    this.#windowMs = windowMs;
  }

  get size(): number {
    return this.#promises.size;
  }

  /** False from start (or unsettle()) until settle(): this node must answer no prepare or accept of a peer. */
  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Fences are re-established: every ballot whose timestamp is at or below `floor`'s (the highest HLC
   * timestamp this node has seen, with its own id: the refusal names it) is refused from now on.
   */
  settle(floor: Version): void {
    if (!this.#floor || floor.timestamp > this.#floor.timestamp) this.#floor = floor;
    this.#settled = true;
  }

  /** The held versions are gone (the store was dropped): no peer's prepare or accept until settle(). */
  unsettle(): void {
    this.#settled = false;
  }

  /**
   * This node's own round of `key`, at `ballot`, sends its accept. The node counts as one of the
   * replicas that take it, but its store takes the record only once the others answered
   * (read-modify-write.ts): until release(key) no prepare of the key is granted here, since a
   * promise of a higher ballot meanwhile would come before this node's own accept of a lower one,
   * and a round granted here would read the older copy. A refusal costs the other coordinator a
   * pause and a new ballot, as any contention does.
   */
  hold(key: string, ballot: Version): void {
    this.#accepting.set(key, ballot);
  }

  release(key: string): void {
    this.#accepting.delete(key);
  }

  /** Grants `ballot` for `key` (and promises it) or returns the fence it must exceed. */
  prepare(key: string, ballot: Version, held: Version | undefined, nowMs: number): Version | undefined {
    this.#expire(nowMs);
    const floor = this.#belowFloor(ballot);
    if (floor) return floor;
    const accepting = this.#accepting.get(key);
    if (accepting) return accepting;
    const fence = this.#fence(key, held);
    if (fence && compareVersions(ballot, fence) <= 0) return fence;
    this.#promise(key, ballot, nowMs, held);
    return undefined;
  }

  /**
   * Whether an accept of a record at `version` may be applied: at or above the fence (equal to the
   * held version is the same accept again, answered as done). Returns the fence when it may not.
   */
  accepts(key: string, version: Version, held: Version | undefined): Version | undefined {
    const floor = this.#belowFloor(version, true);
    if (floor) return floor;
    const fence = this.#fence(key, held);
    return fence && compareVersions(version, fence) < 0 ? fence : undefined;
  }

  /**
   * An accept of `key` at `version` was applied here. The fence stays at least `version` for the
   * window, held as a promise rather than left to the record: the record may be evicted, or its
   * tombstone purged, while a round of a lower ballot is still in flight, and that round's accept
   * must be refused then too (a round lives no longer than its deadline, well within the window).
   */
  reached(key: string, version: Version, nowMs: number): void {
    const p = this.#promises.get(key);
    if (p && compareVersions(p.ballot, version) > 0) return; // a higher promise stands
    // The promise of this very ballot, made before the record came, now holds it (heldWhenPromised):
    // a copy of this accept seen again, once a newer copy came by, is one it took.
    this.#promise(key, version, nowMs, version);
  }

  /**
   * Whether this replica held the record at `version` when it made its standing promise for `key`
   * (or has none): an accept of that record seen again below the promise is then one it took before
   * promising, which the round it promised read (ReadModifyWriteReplica.accept). One it came to hold
   * only after, through its own round's read of another replica's copy, it did not take: that round
   * counted this node among those without it, and will write the record again at its own ballot.
   */
  heldWhenPromised(key: string, version: Version): boolean {
    const p = this.#promises.get(key);
    return p === undefined || (p.held !== undefined && compareVersions(p.held, version) === 0);
  }

  /**
   * Whether this replica promised, for `key`, a ballot above `version`: a round it granted never
   * read a record at `version` and will write over it, so a copy of that record reaching it now
   * comes from a round it would refuse (RecordCopies.remember). A promise past its window still
   * answers true until the next prepare expires it: the cautious side.
   */
  promisedAbove(key: string, version: Version): boolean {
    const promised = this.#promises.get(key)?.ballot;
    if (promised !== undefined && compareVersions(promised, version) > 0) return true;
    // A dropped promise may have been this key's: every version below it is taken as below one.
    const dropped = this.#droppedFloor;
    return dropped !== undefined && compareVersions(dropped, version) > 0;
  }

  #promise(key: string, ballot: Version, nowMs: number, held: Version | undefined): void {
    this.#promises.delete(key); // re-inserted at the end: the Map stays ordered by time
    this.#promises.set(key, { ballot, atMs: nowMs, held });
    if (this.#promises.size > MAX_PROMISES) {
      const oldest = this.#promises.entries().next();
      if (!oldest.done) {
        const [dropped, { ballot: droppedBallot }] = oldest.value;
        this.#promises.delete(dropped);
        // Dropped within its window, that key's fence falls back to its held version, and a round
        // below the promised ballot could finish here. A floor takes the ballot instead, for every
        // key: a round refused at it learns a ballot to pass, as after a restart.
        const floor = this.#droppedFloor;
        if (!floor || compareVersions(droppedBallot, floor) > 0) this.#droppedFloor = droppedBallot;
      }
    }
  }

  /**
   * The floor as a fence when `ballot` is at or below it, or the ballot of a promise dropped for room
   * when `ballot` is below it (or equal, for a prepare); undefined otherwise (the common case).
   */
  #belowFloor(ballot: Version, accept = false): Version | undefined {
    if (this.#floor && ballot.timestamp <= this.#floor.timestamp) return this.#floor;
    // The dropped promise's own round may still send its accept: taken at its ballot, as a promise is.
    const dropped = this.#droppedFloor;
    if (!dropped) return undefined;
    const order = compareVersions(ballot, dropped);
    return order < 0 || (order === 0 && !accept) ? dropped : undefined;
  }

  #fence(key: string, held: Version | undefined): Version | undefined {
    const promised = this.#promises.get(key)?.ballot;
    if (!promised) return held;
    if (!held) return promised;
    return compareVersions(promised, held) >= 0 ? promised : held;
  }

  #expire(nowMs: number): void {
    const cutoff = nowMs - this.#windowMs;
    for (const [key, p] of this.#promises) {
      if (p.atMs > cutoff) break;
      this.#promises.delete(key);
    }
  }
}
