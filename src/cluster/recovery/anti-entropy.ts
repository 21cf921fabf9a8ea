import { RingCacheError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import type { VersionCursor } from '../../store/types';
import { compareVersions, type Version } from '../../store/version';
import type { ClusterView } from '../cluster-view';
import type { RecordCopies } from '../replication/record-copies';
import { RangeDigestTable, type RangeDigest } from './range-digest-table';

export type { RangeDigest } from './range-digest-table';

/** What a node sends a peer to compare: its digests of the ranges both replicate. */
export interface RangeDigests {
  from: string;
  epoch: number;
  ranges: [range: number, digest: RangeDigest][];
  /**
   * What the answer holds. 'records' (or left out): the records of every range that differs, for
   * which the peer reads its store. 'ranges': only which ranges differ (held here, not sent, counts),
   * no read. 'listed': only the ranges sent are compared, with the records of those that differ.
   */
  want?: 'records' | 'ranges' | 'listed';
}

/** A record as a range's digest counts it: key, version, tombstone. */
export interface RangeEntry {
  key: string;
  version: Version;
  tombstone: boolean;
}

/** The peer's answer: its records of every range whose digest differs from the one sent. */
export interface RangeDiff {
  /** The peer's ring epoch differs: ranges do not line up, nothing was compared. */
  epochMismatch: boolean;
  /**
   * The peer's digests are being built for its ring (epochMismatch is set as well, for members that
   * do not know this field): nothing was compared, ask again soon.
   */
  building: boolean;
  /**
   * The answer lists the differing ranges without their records (asked want 'ranges'). False from a
   * member that does not know 'want': it always sends records.
   */
  rangesOnly: boolean;
  /** The peer evicted entries lately: a key it lacks may be one it dropped for room. */
  evicting: boolean;
  differing: [range: number, entries: RangeEntry[]][];
}

export interface AntiEntropyOptions {
  view: ClusterView;
  store: Store;
  /** Copies pulled and pushed go with the requests that made them. */
  copies: RecordCopies;
  factor: number;
  logger: Logger;
  /** One comparison with one peer every this many ms; 0 = off. */
  intervalMs: number;
  /** Most keys a scan reads per second. */
  keysPerSecond: number;
  /** Most bytes (keys and values, pulled and pushed) repairs move per second. */
  bytesPerSecond: number;
}

/** Keys a scan reads between two yields to the event loop. */
const SLICE = 2000;
/** Most slots a sweep before a comparison visits between two yields (its time budget may stop it sooner). */
const SWEEP_SLICE = 100_000;
/** Most keys one comparison repairs; the rest are repaired by the next. */
const MAX_REPAIRS_PER_ROUND = 100_000;
/** Keys in flight at once in a repair, which bytesPerSecond paces. */
const REPAIR_CONCURRENCY = 64;
/** Each key's repair gets this long. */
const REPAIR_DEADLINE_MS = 5000;
/** What a repair expects a record to weigh before it has moved one. */
const ESTIMATED_RECORD_BYTES = 1024;
/** A store that evicted within this long is "evicting". */
const EVICTING_FOR_MS = 60_000;
/** A member seen alive again is compared with this long after (hinted handoff goes first). */
const RETURNED_DELAY_MS = 2000;
/**
 * Ranges found differing are compared again this much later, those alone, before either side reads
 * its store: a write still on its way to one replica, or a record one side's sweep removed a moment
 * before the other's, makes a range differ for a few milliseconds.
 */
const RECHECK_DELAY_MS = 1000;
/** Comparisons with a returned member put off while the two rings differ, before it waits for its turn. */
const RINGS_DIFFER_TRIES = 3;

/** A comparison's end: done (or nothing to compare with), or not possible yet for one of three reasons. */
type RoundOutcome = 'done' | 'catching up' | 'building' | 'rings differ';

/**
 * Anti-entropy: what heals a replica that missed writes when nothing else did (no
 * hint was kept or it expired, no read at R > 1 touched the key). Every interval a node takes the
 * next alive peer and the ring ranges both replicate (a range is the arc before one ring point: all
 * its keys share one preference list). It sends the digests of those ranges' records (key and
 * version), kept up to date on every write (RangeDigestTable), and the peer compares them with its
 * own: ranges in sync cost nothing more. Only for ranges whose digests differ does each side read its
 * store (one budgeted pass) for their keys, and they exchange only the keys that differ: the newer
 * version wins on both sides, tombstones included.
 *
 * A member seen alive again after it was dead (a pause, a partition) is compared with at once,
 * out of turn (compareSoon), instead of waiting for its turn among the peers: a replica that missed
 * writes past the hints' age converges within seconds of its return, not within intervals.
 *
 * The cache's own forgetting is respected: a key one side lacks is not copied to it while that side
 * evicts for room (it may have dropped it on purpose), but newer versions and tombstones always are.
 */
export class AntiEntropy {
  readonly #opts: AntiEntropyOptions;
  #timer: unknown;
  #running = false;
  /** Ends the wait before a recheck at once (stop). */
  #wake: (() => void) | undefined;
  #round: Promise<void> | undefined;
  #peerIndex = 0;
  /** Peers to compare with out of turn (compareSoon), and the timer that will. */
  readonly #due = new Set<string>();
  #dueTimer: unknown;
  /** Per due peer, the comparisons put off so far because its ring and this node's differed. */
  readonly #ringsDifferTries = new Map<string, number>();
  #evictions = 0;
  #evictedAtMs = -Infinity;
  readonly #table: RangeDigestTable;
  /** Passes over the store for the records of differing ranges. */
  #entryPasses = 0;
  /** Metrics. Comparisons this node asked for and had answered. */
  comparisons = 0;
  rangesCompared = 0;
  /** Comparisons (asked or answered) in which no range differed: no pass over the store. */
  scansSaved = 0;
  rangesDiffering = 0;
  keysPulled = 0;
  keysPushed = 0;
  bytesSent = 0;
  bytesReceived = 0;

  constructor(opts: AntiEntropyOptions) {
    this.#opts = opts;
    this.#table = new RangeDigestTable(opts.store, opts.view.scheduler, opts.keysPerSecond);
  }

  /** Passes over the store: the digest table's builds, and reads of differing ranges' records. */
  get scans(): number {
    return this.#table.builds + this.#entryPasses;
  }

  start(): void {
    if (this.#running || this.#opts.intervalMs <= 0) return;
    this.#running = true;
    this.#table.start(this.#opts.view.ring(), this.#opts.view.epoch());
    this.#arm();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#wake?.();
    this.#table.stop();
    this.#opts.view.scheduler.clearTimeout(this.#timer);
    this.#opts.view.scheduler.clearTimeout(this.#dueTimer);
    this.#due.clear();
    this.#ringsDifferTries.clear();
    await this.#round;
  }

  /** `peer` came back (dead, now alive): compare with it soon, out of turn. */
  compareSoon(peer: string): void {
    if (!this.#running || peer === this.#opts.view.selfId) return;
    this.#due.add(peer);
    if (this.#dueTimer === undefined)
      this.#dueTimer = this.#opts.view.scheduler.setTimeout(() => this.#runDue(), RETURNED_DELAY_MS);
  }

  #runDue(): void {
    this.#dueTimer = undefined;
    // One comparison at a time: after the round in progress, if any.
    const previous = this.#round ?? Promise.resolve();
    this.#round = previous
      .then(async () => {
        for (const peer of [...this.#due]) {
          this.#due.delete(peer);
          if (!this.#running) return;
          const outcome = await this.round(peer).catch((err: unknown) => {
            this.#opts.logger.warn({ err, peer }, 'anti-entropy with a returned member failed');
            return 'done' as const;
          });
          // Not yet possible: this node still pulls its copies (a restart's catch-up ran into a ring
          // change's), a digest table is being built for a new ring, or the two rings differ while a
          // change spreads. All pass, and the comparison is still owed: a restarted node's hints died
          // with it, and the interval may be a minute away. Rings that differ may never agree (a
          // member that left), so they get a few tries only.
          const tries = (this.#ringsDifferTries.get(peer) ?? 0) + 1;
          if (outcome === 'done' || (outcome === 'rings differ' && tries > RINGS_DIFFER_TRIES)) {
            this.#ringsDifferTries.delete(peer);
          } else {
            if (outcome === 'rings differ') this.#ringsDifferTries.set(peer, tries);
            this.compareSoon(peer);
          }
        }
      })
      .finally(() => (this.#round = undefined));
  }

  #arm(): void {
    this.#timer = this.#opts.view.scheduler.setTimeout(() => {
      const previous = this.#round ?? Promise.resolve();
      this.#round = previous
        .then(async () => void (await this.round()))
        .catch((err: unknown) => this.#opts.logger.warn({ err }, 'anti-entropy round failed'))
        .finally(() => {
          this.#round = undefined;
          if (this.#running) this.#arm();
        });
    }, this.#opts.intervalMs);
  }

  /**
   * One comparison with `peer`, or else with the next alive peer that shares ranges with this node.
   * None while this node is catching up: that brings its copies in first.
   */
  async round(peer?: string): Promise<RoundOutcome> {
    const { view } = this.#opts;
    if (view.catchingUp()) return 'catching up';
    const ring = view.ring();
    const peers = ring.nodeIds.filter((id) => id !== view.selfId && view.isAlive(id));
    // A peer that is down or off the ring is owed nothing: one seen alive again is asked for anew.
    if (peer !== undefined && !peers.includes(peer)) return 'done';
    if (peers.length === 0) return 'done';
    const epoch = view.epoch();
    // Asked before a peer is taken: a round put off for a build does not use up the next peer's turn.
    if (!this.#table.digestsOf(ring, epoch)) return 'building';
    peer ??= peers[this.#peerIndex++ % peers.length]!;
    await this.#sweepDue();
    // After each wait the ring may be another: its ranges are not these (and asking the table about
    // this one again would build it anew).
    if (!this.#ringIs(ring, epoch)) return 'rings differ';
    const ranges = this.#sharedDigests(ring, epoch, peer)!;
    const first = await view.transport.compare(
      peer,
      { from: view.selfId, epoch, ranges, want: 'ranges' },
      this.#compareDeadlineMs(),
    );
    if (first instanceof RingCacheError) return 'done';
    if (first.building) return 'building';
    if (first.epochMismatch || !this.#ringIs(ring, epoch)) return 'rings differ';
    this.rangesCompared += ranges.length;
    let diff = first;
    // A member that does not know 'want' sends records at once. Otherwise the differing ranges are
    // compared again, alone, a moment later (RECHECK_DELAY_MS).
    if (first.rangesOnly && first.differing.length > 0) {
      if (this.#running) {
        await new Promise<void>((resume) => {
          const timer = view.scheduler.setTimeout(resume, RECHECK_DELAY_MS);
          this.#wake = () => {
            view.scheduler.clearTimeout(timer);
            resume();
          };
        });
        this.#wake = undefined;
      }
      if (!this.#running) return 'done';
      await this.#sweepDue();
      const digests = this.#ringIs(ring, epoch) ? this.#table.digestsOf(ring, epoch) : undefined;
      if (!digests) return 'rings differ';
      const listed: [number, RangeDigest][] = [];
      for (const [range] of first.differing) {
        if (Number.isInteger(range) && range >= 0 && range < ring.rangeCount)
          listed.push([range, [digests.a[range]!, digests.b[range]!]]);
      }
      const again = await view.transport.compare(
        peer,
        { from: view.selfId, epoch, ranges: listed, want: 'listed' },
        this.#compareDeadlineMs(),
      );
      if (again instanceof RingCacheError) return 'done';
      if (again.building) return 'building';
      if (again.epochMismatch || !this.#ringIs(ring, epoch)) return 'rings differ';
      diff = again;
    }
    this.comparisons++;
    this.rangesDiffering += diff.differing.length;
    if (diff.differing.length === 0) {
      this.scansSaved++;
      return 'done';
    }
    // A range differs: its keys are needed, read in a pass over the store.
    const mine = await this.#entriesOf(ring, new Set(diff.differing.map(([range]) => range)));
    await this.#reconcile(peer, mine, diff);
    return 'done';
  }

  /** Whether the view still holds `ring` at `epoch`. */
  #ringIs(ring: Ring, epoch: number): boolean {
    return this.#opts.view.ring() === ring && this.#opts.view.epoch() === epoch;
  }

  /**
   * Where a range differs the peer reads its store for the range's records: it is allowed as long as a
   * pass over every key held here takes, and then some.
   */
  #compareDeadlineMs(): number {
    const { view, store, keysPerSecond } = this.#opts;
    return view.scheduler.now() + 2000 + (1500 * store.stats().keys) / keysPerSecond;
  }

  /** The peer's side of a comparison: its digests of the same ranges, and its records where they differ. */
  async compare(request: RangeDigests): Promise<RangeDiff> {
    const { view } = this.#opts;
    const evicting = this.#evicting();
    // A node whose anti-entropy is off (or stopping) keeps no digests: it has nothing to compare, as
    // when rings differ, and the asker gives up after a few tries.
    const mismatch = { epochMismatch: true, building: false, rangesOnly: false, evicting, differing: [] };
    if (request.epoch !== view.epoch() || !this.#table.running) return mismatch;
    await this.#sweepDue();
    if (request.epoch !== view.epoch() || !this.#table.running) return mismatch;
    const ring = view.ring();
    const mine = this.#sharedDigests(ring, request.epoch, request.from);
    if (!mine) return { ...mismatch, building: true };
    const want = request.want ?? 'records';
    // Listed: the asker sent only the ranges to look at again.
    const ranges = differingRanges(mine, request.ranges, want !== 'listed');
    const answer = { epochMismatch: false, building: false, rangesOnly: want === 'ranges', evicting };
    if (ranges.length === 0) {
      this.scansSaved++;
      return { ...answer, differing: [] };
    }
    if (want === 'ranges') return { ...answer, differing: ranges.map((range) => [range, []]) };
    // One pass over this store for the records of every differing range: the asker's deadline allows
    // about one (round).
    const entries = await this.#entriesOf(ring, new Set(ranges));
    const differing = ranges.map((range): [number, RangeEntry[]] => [range, entries.get(range) ?? []]);
    return { ...answer, differing };
  }

  /**
   * Expires and purges everything due in the whole store, in slices (Store.sweepSlots), before its
   * digests are compared: the periodic sweep removes tombstones and expired values past their purge
   * time at its own pace (a full pass over a large store takes many of its ticks), at other moments on
   * each replica, and ranges holding them would differ and be read for nothing. Both sides sweep just
   * before comparing, so only what comes due between the two moments differs. Slices of the store's
   * sweep budget (2 ms) with a yield between: about 5 ms of CPU per million slots when little is due,
   * more to clear a backlog (the periodic sweep's work, done sooner), nothing where nothing expires.
   */
  async #sweepDue(): Promise<void> {
    const { store, view } = this.#opts;
    // Slots are numbered from 1.
    for (let left = store.slotsEnd - 1; left > 0;) {
      left -= store.sweepSlots(Math.min(left, SWEEP_SLICE));
      if (left > 0) await new Promise<void>((resume) => view.scheduler.setTimeout(resume, 0));
    }
  }

  /**
   * The digests of the ranges this node and `peer` both replicate, those that hold anything, from the
   * digest table; undefined while the table is built for `epoch`'s ring.
   */
  #sharedDigests(
    ring: Ring,
    epoch: number,
    peer: string,
  ): [range: number, digest: RangeDigest][] | undefined {
    const digests = this.#table.digestsOf(ring, epoch);
    if (!digests) return undefined;
    const { factor, view } = this.#opts;
    const out: [number, RangeDigest][] = [];
    for (let range = 0; range < ring.rangeCount; range++) {
      const a = digests.a[range]!;
      const b = digests.b[range]!;
      if (a === 0 && b === 0) continue;
      const list = ring.preferenceListOfRange(range, factor);
      if (list.includes(view.selfId) && list.includes(peer)) out.push([range, [a, b]]);
    }
    return out;
  }

  /** Exchanges the keys that differ, paced by bytesPerSecond (#transfer). */
  async #reconcile(peer: string, mine: Map<number, RangeEntry[]>, diff: RangeDiff): Promise<void> {
    const { view, store, copies } = this.#opts;
    // A pull answered after this node dropped its data (a long absence) is not taken: the peer may
    // have read it before a delete whose tombstones are purged since (QuorumReader's read repair alike).
    const drops = view.drops();
    const iEvict = this.#evicting();
    const pulls: string[] = [];
    const pushes: string[] = [];
    for (const [range, theirs] of diff.differing) {
      const remote = new Map(theirs.map((e) => [e.key, e]));
      for (const e of theirs) {
        const held = store.versionOf(e.key);
        if (held ? compareVersions(e.version, held) > 0 : !(iEvict && !e.tombstone)) pulls.push(e.key);
      }
      for (const e of mine.get(range) ?? []) {
        const held = store.versionOf(e.key); // now: it may have changed since the scan
        if (!held) continue;
        const other = remote.get(e.key);
        if (other ? compareVersions(held, other.version) > 0 : !(diff.evicting && !e.tombstone))
          pushes.push(e.key);
      }
    }
    const budget = MAX_REPAIRS_PER_ROUND;
    await this.#transfer(
      pulls.slice(0, budget),
      async (key, deadlineMs) => {
        const copy = await view.transport.read(peer, key, deadlineMs);
        if (!copy || copy instanceof RingCacheError || view.drops() !== drops) return 0;
        // Refused by this node's limits, it is left out: the next round tries again.
        if (copies.take(copy)) this.keysPulled++;
        return key.length + copy.record.value.length;
      },
      (bytes) => (this.bytesReceived += bytes),
    );
    await this.#transfer(
      pushes.slice(0, budget),
      async (key, deadlineMs) => {
        const copy = copies.of(key);
        if (!copy) return 0;
        const refused = await view.transport.replicate(peer, copy, deadlineMs);
        if (refused) return 0;
        this.keysPushed++;
        return key.length + copy.record.value.length;
      },
      (bytes) => (this.bytesSent += bytes),
    );
    if (pulls.length + pushes.length > 0) {
      this.#opts.logger.info(
        { peer, pulled: Math.min(pulls.length, budget), pushed: Math.min(pushes.length, budget) },
        'anti-entropy repaired keys',
      );
    }
  }

  /**
   * Moves `keys` (`move` returns the bytes it moved; `onMoved` counts them as they go), at most
   * REPAIR_CONCURRENCY at a time, each with its own deadline. A key starts only while the bytes
   * moved so far, plus those in flight (estimated at the mean so far), are within bytesPerSecond.
   */
  async #transfer(
    keys: string[],
    move: (key: string, deadlineMs: number) => Promise<number>,
    onMoved: (bytes: number) => void,
  ): Promise<void> {
    const { view } = this.#opts;
    const started = view.scheduler.now();
    let moved = 0;
    let done = 0;
    let inFlight = 0;
    let next = 0;
    const worker = async () => {
      while (next < keys.length && this.#running) {
        const mean = done > 0 ? moved / done : ESTIMATED_RECORD_BYTES;
        const dueMs =
          started + ((moved + inFlight * mean) / this.#opts.bytesPerSecond) * 1000 - view.scheduler.now();
        if (dueMs > 0) {
          await new Promise<void>((resume) => view.scheduler.setTimeout(resume, dueMs));
          continue; // others may have moved meanwhile: look again
        }
        const key = keys[next++];
        if (key === undefined) return;
        inFlight++;
        const bytes = await move(key, view.scheduler.now() + REPAIR_DEADLINE_MS);
        inFlight--;
        done++;
        moved += bytes;
        onMoved(bytes);
      }
    };
    await Promise.all(Array.from({ length: Math.min(REPAIR_CONCURRENCY, keys.length) }, worker));
  }

  /** Whether this node's store evicted for room lately. */
  #evicting(): boolean {
    const { store, view } = this.#opts;
    const evictions = store.stats().evictions;
    if (evictions !== this.#evictions) {
      this.#evictions = evictions;
      this.#evictedAtMs = view.scheduler.now();
    }
    return view.scheduler.now() - this.#evictedAtMs < EVICTING_FOR_MS;
  }

  /** The records of `ranges`, in one budgeted pass over the store: only for ranges whose digests differ. */
  async #entriesOf(ring: Ring, ranges: ReadonlySet<number>): Promise<Map<number, RangeEntry[]>> {
    this.#entryPasses++;
    const out = new Map<number, RangeEntry[]>();
    await this.#eachPaced((c) => {
      const range = ring.rangeOfHash(ring.hashOf(c.key));
      if (ranges.has(range)) addEntry(out, range, c);
    });
    return out;
  }

  /**
   * Every record and tombstone held, to `visit` (its cursor is valid only during the call), paced at
   * keysPerSecond in slices, with other work let run between them.
   */
  async #eachPaced(visit: (cursor: VersionCursor) => void): Promise<void> {
    const { store, view, keysPerSecond } = this.#opts;
    let inSlice = 0;
    let sliceStart = view.scheduler.now();
    for (const cursor of store.versions()) {
      visit(cursor);
      if (++inSlice < SLICE) continue;
      const dueMs = (SLICE / keysPerSecond) * 1000 - (view.scheduler.now() - sliceStart);
      await new Promise<void>((resume) => view.scheduler.setTimeout(resume, Math.max(0, dueMs)));
      inSlice = 0;
      sliceStart = view.scheduler.now();
    }
  }
}

/** The cursor's record, copied, into its range's list. */
function addEntry(out: Map<number, RangeEntry[]>, range: number, c: VersionCursor): void {
  const entry = { key: c.key, version: { timestamp: c.timestamp, node: c.node }, tombstone: c.tombstone };
  const entries = out.get(range);
  if (entries) entries.push(entry);
  else out.set(range, [entry]);
}

const EMPTY_DIGEST: RangeDigest = [0, 0];

/**
 * The ranges whose digests differ between `mine` and the asker's (a range not held here digests to
 * 0, 0); with `unsent`, also those held here that it did not send (it holds nothing of them).
 */
function differingRanges(
  mine: readonly [number, RangeDigest][],
  theirs: readonly [number, RangeDigest][],
  unsent: boolean,
): number[] {
  const held = new Map(mine);
  const ranges: number[] = [];
  for (const [range, digest] of theirs) {
    const d = held.get(range) ?? EMPTY_DIGEST;
    if (d[0] !== digest[0] || d[1] !== digest[1]) ranges.push(range);
    held.delete(range);
  }
  if (unsent) for (const range of held.keys()) ranges.push(range);
  return ranges;
}
