import type { StoreRecord } from '../../store/types';
import { compareVersions } from '../../store/version';

export interface HintLimits {
  /** Most hints held for all targets together. */
  maxCount: number;
  /** Most value+key bytes held for all targets together. */
  maxBytes: number;
}

/**
 * Writes a replica missed, kept until it is back (hinted handoff). One hint per (target, key): a newer
 * write replaces an older hint, so a key written a thousand times while its replica was down costs one
 * hint. Bounded in count and bytes; a hint that does not fit is dropped and counted, and read repair or
 * the catch-up Sync closes the gap later.
 */
export class HintStore {
  readonly #byTarget = new Map<string, Map<string, StoreRecord>>();
  readonly #limits: HintLimits;
  #count = 0;
  #bytes = 0;
  /** Hints refused because the store was full. */
  dropped = 0;

  constructor(limits: HintLimits) {
    this.#limits = limits;
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

  /** Up to `max` hints for `target`, oldest first, left in place until `remove`d (a failed handoff keeps them). */
  peek(target: string, max: number): [string, StoreRecord][] {
    const out: [string, StoreRecord][] = [];
    const hints = this.#byTarget.get(target);
    if (!hints) return out;
    for (const entry of hints) {
      out.push(entry);
      if (out.length >= max) break;
    }
    return out;
  }

  /** Forgets a hint once handed off, unless a newer one for the key arrived meanwhile. */
  remove(target: string, key: string, handedOff: StoreRecord): void {
    const hints = this.#byTarget.get(target);
    const held = hints?.get(key);
    if (!hints || !held || compareVersions(held.version, handedOff.version) !== 0) return;
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
