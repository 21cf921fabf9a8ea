import { systemClock, wallMsOf, type Clock } from '../../store/hlc';
import type { StoreRecord } from '../../store/types';
import { compareVersions } from '../../store/version';

export interface HintLimits {
  /** Most hints held for all targets together. */
  maxCount: number;
  /** Most value+key bytes held for all targets together. */
  maxBytes: number;
  /**
   * A hint whose write is older than this (by its version's clock) is dropped, never handed back:
   * shorter than the tombstone grace, so a late hint cannot bring back a value deleted after it (the
   * delete's tombstone may be purged already). Config validation holds that relation.
   */
  maxAgeMs?: number;
}

/**
 * Writes a replica missed, kept until it is back (hinted handoff). One hint per (target, key): a newer
 * write replaces an older hint, so a key written a thousand times while its replica was down costs one
 * hint. Bounded in count, bytes and age; a hint that does not fit is dropped and counted, and read
 * repair or the catch-up Sync closes the gap later.
 */
export class HintStore {
  readonly #byTarget = new Map<string, Map<string, StoreRecord>>();
  readonly #limits: HintLimits;
  #count = 0;
  #bytes = 0;
  readonly #clock: Clock;
  /** Hints refused because the store was full. */
  dropped = 0;
  /** Hints dropped unsent because they outlived maxAgeMs, or their target left the ring. */
  expired = 0;

  constructor(limits: HintLimits, clock: Clock = systemClock) {
    this.#limits = limits;
    this.#clock = clock;
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

  /** Keeps `record` for `target`; false when it was dropped for lack of room. */
  add(target: string, key: string, record: StoreRecord): boolean {
    let hints = this.#byTarget.get(target);
    const held = hints?.get(key);
    if (held && compareVersions(held.version, record.version) >= 0) return true;
    const size = sizeOf(key, record);
    const freed = held ? sizeOf(key, held) : 0;
    if (!held && this.#count + 1 > this.#limits.maxCount) return this.#drop();
    if (this.#bytes - freed + size > this.#limits.maxBytes) return this.#drop();
    if (!hints) {
      hints = new Map();
      this.#byTarget.set(target, hints);
    }
    hints.set(key, record);
    if (!held) this.#count++;
    this.#bytes += size - freed;
    return true;
  }

  /**
   * Up to `max` hints for `target`, oldest first, left in place until `remove`d (a failed handoff keeps
   * them). Hints past maxAgeMs are dropped on the way.
   */
  peek(target: string, max: number): [string, StoreRecord][] {
    const out: [string, StoreRecord][] = [];
    const hints = this.#byTarget.get(target);
    if (!hints) return out;
    const maxAgeMs = this.#limits.maxAgeMs;
    const now = this.#clock.now();
    for (const entry of hints) {
      if (maxAgeMs !== undefined && now - wallMsOf(entry[1].version.timestamp) > maxAgeMs) {
        this.#forget(target, hints, entry[0], entry[1]);
        this.expired++;
        continue;
      }
      out.push(entry);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Drops every hint for `target` (it left the ring: they have nowhere to go). Returns how many. */
  dropTarget(target: string): number {
    const hints = this.#byTarget.get(target);
    if (!hints) return 0;
    const n = hints.size;
    for (const [key, record] of hints) this.#forget(target, hints, key, record);
    this.expired += n;
    return n;
  }

  /** Forgets a hint once handed off, unless a newer one for the key arrived meanwhile. */
  remove(target: string, key: string, handedOff: StoreRecord): void {
    const hints = this.#byTarget.get(target);
    const held = hints?.get(key);
    if (!hints || !held || compareVersions(held.version, handedOff.version) !== 0) return;
    this.#forget(target, hints, key, held);
  }

  #forget(target: string, hints: Map<string, StoreRecord>, key: string, held: StoreRecord): void {
    hints.delete(key);
    this.#count--;
    this.#bytes -= sizeOf(key, held);
    if (hints.size === 0) this.#byTarget.delete(target);
  }

  #drop(): false {
    this.dropped++;
    return false;
  }
}

function sizeOf(key: string, record: StoreRecord): number {
  return Buffer.byteLength(key) + record.value.length;
}
