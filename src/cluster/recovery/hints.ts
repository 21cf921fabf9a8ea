import { systemClock, wallMsOf, type Clock } from '../../store/hlc';
import type { StoreRecord } from '../../store/types';
import { compareVersions } from '../../store/version';
import type { AppliedRequest } from '../replication/request-log';

export interface HintLimits {
  /** Most hints held for all targets together. */
  maxCount: number;
  /** Most value+key bytes held for all targets together. */
  maxBytes: number;
  /**
   * A hint older than this is dropped, never handed back: shorter than the tombstone grace, so a late
   * hint cannot bring back a value deleted after it (the delete's tombstone may be purged already).
   * Config validation holds that relation. Its age is counted on this node's clock from when it was
   * kept, as tombstones count their grace on the clock of the node that holds them; see peek().
   */
  maxAgeMs?: number;
}

/**
 * A hint: the record, the requests whose read-modify-write accept made it (handed off with it:
 * ReplicaWrite.madeBy), and when this node kept it (its own clock, ms).
 */
interface Hint {
  record: StoreRecord;
  madeBy?: readonly AppliedRequest[];
  keptAtMs: number;
}

/** A hint to hand off: its key, record and the requests that made the record. */
export type HeldHint = [key: string, record: StoreRecord, madeBy?: readonly AppliedRequest[]];

/**
 * Writes a replica missed, kept until it is back (hinted handoff). One hint per (target, key): a newer
 * write replaces an older hint, so a key written a thousand times while its replica was down costs one
 * hint. Bounded in count, bytes and age; a hint that does not fit is dropped and counted, and read
 * repair or the catch-up Sync closes the gap later.
 */
export class HintStore {
  readonly #byTarget = new Map<string, Map<string, Hint>>();
  readonly #limits: HintLimits;
  #count = 0;
  #bytes = 0;
  readonly #clock: Clock;
  /** Hints refused because the store was full. */
  dropped = 0;
  /** Hints dropped unsent because they outlived maxAgeMs, or their target left and no replica took them. */
  expired = 0;
  readonly #isMember: (id: string) => boolean;
  readonly #replicasOf: (key: string) => readonly string[];

  /**
   * `isMember`: whether a node is on the current ring. `replicasOf`: the key's replicas on the
   * current ring, other than this node. A hint for a node that left goes to those instead: the write
   * it carries may have been counted on the ring before the change, after the new replicas pulled
   * the key from the others, and they would otherwise miss it until anti-entropy.
   */
  constructor(
    limits: HintLimits,
    clock: Clock = systemClock,
    isMember: (id: string) => boolean = () => true,
    replicasOf: (key: string) => readonly string[] = () => [],
  ) {
    this.#limits = limits;
    this.#clock = clock;
    this.#isMember = isMember;
    this.#replicasOf = replicasOf;
  }

  get count(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  targets(): string[] {
    return [...this.#byTarget.keys()];
  }

  countFor(target: string): number {
    return this.#byTarget.get(target)?.size ?? 0;
  }

  /**
   * Keeps `record` for `target`; false when it was dropped for lack of room. Every hint is admitted
   * here and nowhere else: one for a node that left the ring is kept for the key's replicas on the
   * current ring instead (a plain last-writer-wins write: those that hold it already ignore it).
   */
  add(target: string, key: string, record: StoreRecord, madeBy?: readonly AppliedRequest[]): boolean {
    return this.#add(target, key, { record, madeBy, keptAtMs: this.#clock.now() });
  }

  /** `hint.keptAtMs`: when the write was first kept as a hint, for whichever node: its age counts from then. */
  #add(target: string, key: string, hint: Hint): boolean {
    const { record } = hint;
    if (!this.#isMember(target)) return this.#rehome(key, hint);
    let hints = this.#byTarget.get(target);
    const held = hints?.get(key);
    if (held && compareVersions(held.record.version, record.version) >= 0) return true;
    const size = sizeOf(key, hint);
    const freed = held ? sizeOf(key, held) : 0;
    if (!held && this.#count + 1 > this.#limits.maxCount) return this.#drop();
    if (this.#bytes - freed + size > this.#limits.maxBytes) return this.#drop();
    if (!hints) {
      hints = new Map();
      this.#byTarget.set(target, hints);
    }
    // A newer write replacing a hint is a write made now: its age starts now.
    const own = compact(record);
    hints.set(key, own === record ? hint : { ...hint, record: own });
    if (!held) this.#count++;
    this.#bytes += size - freed;
    return true;
  }

  /**
   * Up to `max` hints for `target`, oldest first, left in place until `remove`d (a failed handoff keeps
   * them). Hints past maxAgeMs are dropped on the way.
   *
   * A hint's age is the longer of two: since this node kept it, on its own clock, and since its write,
   * by the version's HLC timestamp. The first is what bounds it: an HLC runs ahead of every wall clock
   * once a node with a fast clock (up to max_clock_offset_ms) has written or gossiped, so a write's
   * timestamp can make it look younger than it is by that much. The second only ever drops a hint
   * sooner (a write that reached this node late, or from a slow clock).
   */
  peek(target: string, max: number): HeldHint[] {
    const out: HeldHint[] = [];
    const hints = this.#byTarget.get(target);
    if (!hints) return out;
    const maxAgeMs = this.#limits.maxAgeMs;
    const now = this.#clock.now();
    for (const [key, hint] of hints) {
      if (maxAgeMs !== undefined && ageOf(hint, now) > maxAgeMs) {
        this.#forget(target, hints, key, hint);
        this.expired++;
        continue;
      }
      out.push(hint.madeBy ? [key, hint.record, hint.madeBy] : [key, hint.record]);
      if (out.length >= max) break;
    }
    return out;
  }

  /**
   * The ring changed: every hint for a node no longer on it goes to its key's replicas on the new
   * ring instead (add). Returns how many each such node had.
   */
  rehomeLeft(): { target: string; rehomed: number }[] {
    const out: { target: string; rehomed: number }[] = [];
    for (const [target, hints] of this.#byTarget) {
      if (this.#isMember(target)) continue;
      const n = hints.size;
      for (const [key, hint] of hints) {
        this.#forget(target, hints, key, hint);
        this.#rehome(key, hint);
      }
      out.push({ target, rehomed: n });
    }
    return out;
  }

  /** Forgets a hint once handed off, unless a newer one for the key arrived meanwhile. */
  remove(target: string, key: string, handedOff: StoreRecord): void {
    const hints = this.#byTarget.get(target);
    const held = hints?.get(key);
    if (!hints || !held || compareVersions(held.record.version, handedOff.version) !== 0) return;
    this.#forget(target, hints, key, held);
  }

  #forget(target: string, hints: Map<string, Hint>, key: string, held: Hint): void {
    hints.delete(key);
    this.#count--;
    this.#bytes -= sizeOf(key, held);
    if (hints.size === 0) this.#byTarget.delete(target);
  }

  /**
   * Keeps `record` for the key's replicas on the current ring, aged from when it was first kept (so
   * that a hint never outlives hints.max_age_ms by moving); with none to take it, it is dropped.
   */
  #rehome(key: string, hint: Hint): boolean {
    const replicas = this.#replicasOf(key).filter((id) => this.#isMember(id));
    if (replicas.length === 0) this.expired++;
    let kept = true;
    for (const replica of replicas) kept = this.#add(replica, key, hint) && kept;
    return kept;
  }

  #drop(): false {
    this.dropped++;
    return false;
  }
}

function ageOf(hint: Hint, nowMs: number): number {
  return Math.max(nowMs - hint.keptAtMs, nowMs - wallMsOf(hint.record.version.timestamp));
}

/**
 * The record with a value of its own: a value may be a view into the message it came in (a stand-in
 * hint taken from a peer's Replicate frame), and a hint kept for seconds would hold that whole
 * message, uncounted, where maxBytes counts the value alone. Small values (Node's pooled buffers)
 * are copied again, at no cost that matters: hints are kept while a replica is away.
 */
function compact(record: StoreRecord): StoreRecord {
  const { value } = record;
  if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) return record;
  return { ...record, value: Buffer.from(value) };
}

/** What a hint is counted as against maxBytes: key and value, and about 64 bytes per request. */
function sizeOf(key: string, hint: Hint): number {
  return Buffer.byteLength(key) + hint.record.value.length + (hint.madeBy?.length ?? 0) * 64;
}
