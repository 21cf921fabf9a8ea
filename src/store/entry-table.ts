import { RingCacheError } from '../errors';
import { KeyIndex } from './key-index';
import { FLAGS_MASK, NodeIds, SlotTable, TOMBSTONE_BIT, USED_BIT } from './slot-table';
import type { StoreRecord, ValueFlags } from './types';
import { heldBytesOf, LARGE_VALUE_BYTES, ValueArena } from './value-arena';
import type { Version } from './version';

/**
 * Bytes charged per entry on top of its key and value bytes, tombstones included: what an entry
 * costs the process besides them, so that a store at max_memory takes about max_memory.
 * - 48: the store's own metadata (a 32-byte slot row, the node index, the slot -> key pointer, and
 *   their arrays' growth slack);
 * - 56: the key index's buckets (4 bytes each, at most 3/4 of them used, and doubling) and the key
 *   string's header and padding in V8's heap.
 * Measured (heap + external after a collection) at 194 bytes for an 11-byte key and a 100-byte value
 * with 1M entries (bench:store), 206 with 200k; charged 219 (a test keeps it within 10%), the
 * cautious side: a store at max_memory takes a little less. Before the index was in typed arrays (a
 * Map's entry took about 28 bytes) the figures were 210 and 230. Left uncharged, the index and the
 * string were taken back by the memory guard alone.
 */
export const ENTRY_OVERHEAD_BYTES = 104;

/**
 * Told of what a store lets go of before its time, by key and version: 'value', a live value
 * evicted for room; 'tombstone', a delete's tombstone shed or not kept within its grace
 * (limits.max_tombstone_bytes, or a store full of live values and a key it does not hold). Called
 * in the middle of the change: a listener must not call back into the store.
 */
export type DroppedListener = (key: string, what: 'value' | 'tombstone', version: Version) => void;

/**
 * Told each time the table starts or stops holding a record, as its slot, key and version: a write
 * (a tombstone's included) replaces one pair by another, a removal ends one. An expiry or a new TTL
 * keeps the pair. Called in the middle of the change: a listener must not call back into the table.
 */
export type RecordListener = (slot: number, key: string, timestamp: number, node: string) => void;

/**
 * The most entries a store holds (the LRU entry makes room instead): far past any max_memory a node
 * is given, and within what the key index's shards and the slot table's rows are sized for.
 */
const MAX_ENTRIES = 2 ** 24 - 1;
const EMPTY = Buffer.alloc(0);

/**
 * The mechanics under Store: key -> slot index, slot metadata (SlotTable), value bytes (ValueArena),
 * byte accounting and LRU eviction. It knows live entries and tombstones but not why they are
 * written: validation, versions, set modes and last-writer-wins are Store's.
 *
 * Slot numbers handed out stay valid until remove(), or an eviction or a shed tombstone inside put(),
 * putTombstone() or expire() (never the slot they are given); callers look a key up, decide, and
 * write within one synchronous call.
 */
export class EntryTable {
  readonly #maxBytes: number;
  /** What the store may hold now: #maxBytes, less what the process needs beyond it (setLimit). */
  #limit: number;
  readonly #graceMs: number;
  /** limits.max_tombstone_bytes: what tombstones may take of the bytes charged. */
  readonly #maxTombstoneBytes: number;
  /**
   * Tombstones in the order they were written, oldest first, to shed past #maxTombstoneBytes: each
   * as its slot and version timestamp (an entry whose slot no longer holds that tombstone is stale
   * and skipped). Read from #tombstoneHead; compacted when stale entries pile up.
   */
  #tombstoneSlots: number[] = [];
  #tombstoneStamps: number[] = [];
  #tombstoneHead = 0;
  readonly #index = new KeyIndex((slot) => this.#slots.key(slot));
  readonly #slots = new SlotTable();
  readonly #arena = new ValueArena();
  readonly #nodes = new NodeIds();
  #sweepCursor = 1;
  bytes = 0;
  /** The part of `bytes` charged to tombstones. */
  tombstoneBytes = 0;
  live = 0;
  tombstones = 0;
  evictions = 0;
  expirations = 0;
  /** Told of each value evicted and each tombstone shed or not kept, as it goes (Store.onDropped). */
  onDropped: DroppedListener | undefined;
  /** Told of every (key, version) pair held or let go, for digests kept up to date (RecordListener). */
  onRecord: RecordListener | undefined;
  /** Tombstones dropped before their grace to stay within #maxTombstoneBytes, or never stored. */
  tombstonesShed = 0;
  /**
   * Slots in use with an expiry (a value with a TTL, or a tombstone and its purge time): with none,
   * a sweep has nothing to visit.
   */
  #expiring = 0;

  constructor(maxBytes: number, graceMs: number, maxTombstoneBytes = Math.floor(maxBytes / 10)) {
    this.#maxBytes = maxBytes;
    this.#limit = maxBytes;
    this.#graceMs = graceMs;
    this.#maxTombstoneBytes = maxTombstoneBytes;
  }

  /** Interns `node` now: this store's own id, so that its own writes are never refused (NodeIds). */
  reserveNode(node: string): void {
    this.#nodes.intern(node);
  }

  slotOf(key: string): number | undefined {
    return this.#index.get(key);
  }

  isTombstone(slot: number): boolean {
    return (this.#slots.bits(slot) & TOMBSTONE_BIT) !== 0;
  }

  /** Whether the slot holds a live value at `now`; one past its TTL turns into a tombstone here. */
  isLive(slot: number, now: number): boolean {
    if (this.isTombstone(slot)) return false;
    const expiresAtMs = this.#slots.expiresAtMs(slot);
    if (expiresAtMs === 0 || expiresAtMs > now) return true;
    this.expire(slot);
    return false;
  }

  /** Live -> tombstone at the same version, purged a grace period after the expiry. The slot stays. */
  expire(slot: number): void {
    const s = this.#slots;
    this.#arena.free(s.valueAddr(slot), s.valueLength(slot));
    this.bytes -= heldBytesOf(s.valueLength(slot));
    s.setValue(slot, 0, 0, s.bits(slot) | TOMBSTONE_BIT);
    this.#setExpiry(slot, s.expiresAtMs(slot) + this.#graceMs);
    this.live--;
    this.tombstones++;
    this.expirations++;
    this.tombstoneBytes += Buffer.byteLength(s.key(slot), 'utf8') + ENTRY_OVERHEAD_BYTES;
    this.#queueTombstone(slot);
    this.#shedTombstones(this.#maxTombstoneBytes, slot);
  }

  flagsOf(slot: number): ValueFlags {
    return (this.#slots.bits(slot) & FLAGS_MASK) as ValueFlags;
  }

  expiresAtMs(slot: number): number {
    return this.#slots.expiresAtMs(slot);
  }

  setExpiresAtMs(slot: number, ms: number): void {
    this.#setExpiry(slot, ms);
  }

  /** Sets a used slot's expiry (0: none), keeping #expiring. */
  #setExpiry(slot: number, ms: number): void {
    const before = this.#slots.expiresAtMs(slot);
    if (before !== 0) this.#expiring--;
    if (ms !== 0) this.#expiring++;
    this.#slots.setExpiresAtMs(slot, ms);
  }

  /** How many slots in use have an expiry: a number tests check against a count of the slots. */
  get expiring(): number {
    return this.#expiring;
  }

  /** Bytes of the value the slot holds (0 for a tombstone), without reading it. */
  valueLength(slot: number): number {
    return this.#slots.valueLength(slot);
  }

  /** A copy of the value the caller owns. */
  readValue(slot: number): Buffer {
    return this.#arena.read(this.#slots.valueAddr(slot), this.#slots.valueLength(slot));
  }

  /** The value in place, valid only until the next write: for parsing without a copy. */
  viewValue(slot: number): Buffer {
    return this.#arena.view(this.#slots.valueAddr(slot), this.#slots.valueLength(slot));
  }

  versionAt(slot: number): Version {
    return {
      timestamp: this.#slots.versionTimestamp(slot),
      node: this.#nodes.nameOf(this.#slots.versionNode(slot)),
    };
  }

  /** versionAt's two parts, with no object made. */
  versionTimestampAt(slot: number): number {
    return this.#slots.versionTimestamp(slot);
  }

  versionNodeAt(slot: number): string {
    return this.#nodes.nameOf(this.#slots.versionNode(slot));
  }

  setVersion(slot: number, version: Version): void {
    const node = this.#nodes.intern(version.node); // may throw: before anything changes
    this.#tellRecord(slot);
    this.#slots.setVersion(slot, version.timestamp, node);
    this.#tellRecord(slot);
  }

  /** onRecord of the record in `slot` (used): once as it comes, once as it goes. */
  #tellRecord(slot: number): void {
    const listener = this.onRecord;
    if (listener === undefined) return;
    const s = this.#slots;
    listener(slot, s.key(slot), s.versionTimestamp(slot), this.#nodes.nameOf(s.versionNode(slot)));
  }

  /** One past the highest slot ever used: records are in used slots of [1, slotsEnd). */
  get slotsEnd(): number {
    return this.#slots.highWater;
  }

  /** Tells `visit` the record in every used slot of [from, to), as onRecord would. */
  recordsIn(from: number, to: number, visit: RecordListener): void {
    const s = this.#slots;
    const end = Math.min(to, s.highWater);
    for (let slot = Math.max(1, from); slot < end; slot++) {
      if ((s.bits(slot) & USED_BIT) === 0) continue;
      visit(slot, s.key(slot), s.versionTimestamp(slot), this.#nodes.nameOf(s.versionNode(slot)));
    }
  }

  /** Marks the slot most recently used. */
  bump(slot: number): void {
    this.#slots.moveToHead(slot);
  }

  /**
   * Writes an entry over `slot` (any state) or into a new one, evicting LRU entries to fit (never a
   * tombstone still in its grace at `now`). Throws OUT_OF_MEMORY, before changing anything, for an
   * entry larger than the whole bound (before changing anything), or when only such tombstones are
   * left to evict (the entries evicted until then stay evicted).
   */
  put(
    key: string,
    keyBytes: number,
    slot: number | undefined,
    value: Uint8Array,
    flags: ValueFlags,
    version: Version,
    expiresAtMs: number,
    tombstone: boolean,
    now: number,
  ): void {
    const s = this.#slots;
    const valueLength = tombstone ? 0 : value.length;
    const size = keyBytes + heldBytesOf(valueLength) + ENTRY_OVERHEAD_BYTES;
    if (size > this.#maxBytes) {
      throw new RingCacheError(
        'OUT_OF_MEMORY',
        `entry is ${size} bytes (key + value + ${ENTRY_OVERHEAD_BYTES} overhead); limits.max_memory is ${this.#maxBytes} bytes`,
      );
    }
    const node = this.#nodes.intern(version.node); // may throw: before anything changes
    let oldSize = 0;
    const wasTombstone = slot !== undefined && this.isTombstone(slot);
    if (slot !== undefined) {
      oldSize = keyBytes + heldBytesOf(s.valueLength(slot)) + ENTRY_OVERHEAD_BYTES;
      s.moveToHead(slot); // so the eviction below cannot pick the entry being written
    } else if (this.#index.size >= MAX_ENTRIES) {
      this.#evictTail(now, slot);
    }
    if (tombstone) this.#shedTombstones(this.#maxTombstoneBytes - size + (wasTombstone ? oldSize : 0), slot);
    while (this.bytes - oldSize + size > this.#limit) this.#evictTail(now, slot);
    const addr = this.#arena.alloc(valueLength);
    if (slot !== undefined) this.#tellRecord(slot); // the pair it held goes
    if (slot === undefined) {
      slot = s.allocate(key);
      s.linkAtHead(slot);
      this.#index.set(key, slot);
    } else {
      this.#arena.free(s.valueAddr(slot), s.valueLength(slot));
      if (wasTombstone) {
        this.tombstones--;
        this.tombstoneBytes -= oldSize;
      } else this.live--;
    }
    if (!tombstone) this.#arena.write(addr, value);
    s.setValue(slot, addr, valueLength, USED_BIT | flags | (tombstone ? TOMBSTONE_BIT : 0));
    this.#setExpiry(slot, expiresAtMs);
    this.#slots.setVersion(slot, version.timestamp, node);
    this.#tellRecord(slot);
    if (tombstone) {
      this.tombstones++;
      this.tombstoneBytes += size;
      this.#queueTombstone(slot);
    } else this.live++;
    this.bytes += size - oldSize;
  }

  /**
   * A tombstone already past its purge time, or one that cannot fit at all, only removes what is
   * held. Tombstones take at most max_tombstone_bytes, the oldest shed first; and one for a key this
   * table does not hold never evicts a live value: it takes free room or an older tombstone's, or is
   * not stored (returns false; the cost is in README "Limits").
   */
  putTombstone(
    key: string,
    keyBytes: number,
    slot: number | undefined,
    version: Version,
    purgeAtMs: number,
    now: number,
  ): boolean {
    const size = keyBytes + ENTRY_OVERHEAD_BYTES;
    if (purgeAtMs <= now || size > this.#maxBytes || size > this.#maxTombstoneBytes) {
      if (purgeAtMs > now) this.onDropped?.(key, 'tombstone', version);
      if (slot !== undefined) this.remove(slot);
      return false;
    }
    if (slot === undefined && this.bytes + size > this.#limit) {
      this.#shedTombstones(this.tombstoneBytes - (this.bytes + size - this.#limit));
      if (this.bytes + size > this.#limit) {
        this.tombstonesShed++;
        this.onDropped?.(key, 'tombstone', version);
        return false;
      }
    }
    this.put(key, keyBytes, slot, EMPTY, 0, version, purgeAtMs, true, now);
    return true;
  }

  /** Notes a slot that just became a tombstone, for #shedTombstones. */
  #queueTombstone(slot: number): void {
    this.#tombstoneSlots.push(slot);
    this.#tombstoneStamps.push(this.#slots.versionTimestamp(slot));
    // Entries go stale as tombstones are overwritten, purged or shed: drop them now and then.
    const queued = this.#tombstoneSlots.length - this.#tombstoneHead;
    if (queued > 2 * this.tombstones + 1024) this.#compactTombstoneQueue();
  }

  /**
   * Removes the oldest tombstones (never `keep`) until they take at most `targetBytes`. Shedding one
   * early lets a replica that missed its delete hand the value back; the budget is what keeps deletes
   * from taking a node's memory from its values.
   */
  #shedTombstones(targetBytes: number, keep?: number): void {
    const slots = this.#tombstoneSlots;
    const stamps = this.#tombstoneStamps;
    const s = this.#slots;
    while (this.tombstoneBytes > targetBytes && this.#tombstoneHead < slots.length) {
      const i = this.#tombstoneHead++;
      const slot = slots[i]!;
      if (
        slot !== keep &&
        (s.bits(slot) & USED_BIT) !== 0 &&
        this.isTombstone(slot) &&
        s.versionTimestamp(slot) === stamps[i]
      ) {
        this.onDropped?.(s.key(slot), 'tombstone', this.versionAt(slot));
        this.remove(slot);
        this.tombstonesShed++;
      }
    }
    if (this.#tombstoneHead > 4096 && this.#tombstoneHead * 2 > slots.length) this.#compactTombstoneQueue();
  }

  #compactTombstoneQueue(): void {
    const s = this.#slots;
    const slots: number[] = [];
    const stamps: number[] = [];
    const seen = new Set<number>();
    // Newest first, so a slot queued twice keeps its latest entry; then back to oldest first.
    for (let i = this.#tombstoneSlots.length - 1; i >= this.#tombstoneHead; i--) {
      const slot = this.#tombstoneSlots[i]!;
      const stamp = this.#tombstoneStamps[i]!;
      if (seen.has(slot)) continue;
      seen.add(slot);
      if ((s.bits(slot) & USED_BIT) === 0 || !this.isTombstone(slot) || s.versionTimestamp(slot) !== stamp)
        continue;
      slots.push(slot);
      stamps.push(stamp);
    }
    this.#tombstoneSlots = slots.reverse();
    this.#tombstoneStamps = stamps.reverse();
    this.#tombstoneHead = 0;
  }

  /** The bytes the store may hold now (at most limits.max_memory). */
  get limit(): number {
    return this.#limit;
  }

  /**
   * Lowers (or restores) what the store may hold, between half of max_memory and all of it, and
   * evicts down to it at once: how a node keeps its RSS within its budget when the process itself
   * needs more than planned. Tombstones in their grace are not evicted for it.
   */
  setLimit(bytes: number, now: number): void {
    this.#limit = Math.round(Math.min(this.#maxBytes, Math.max(this.#maxBytes / 2, bytes)));
    try {
      while (this.bytes > this.#limit && this.live > 0) this.#evictTail(now, undefined);
    } catch {
      // Only tombstones in their grace are left: they stay, and the limit is reached as they expire.
    }
  }

  remove(slot: number): void {
    this.#tellRecord(slot);
    const s = this.#slots;
    const key = s.key(slot);
    const valueLength = s.valueLength(slot);
    this.#arena.free(s.valueAddr(slot), valueLength);
    const size = Buffer.byteLength(key, 'utf8') + heldBytesOf(valueLength) + ENTRY_OVERHEAD_BYTES;
    this.bytes -= size;
    if (this.isTombstone(slot)) {
      this.tombstones--;
      this.tombstoneBytes -= size;
    } else this.live--;
    this.#index.delete(key);
    // A free slot has no expiry: the next entry put in it starts from none (#setExpiry).
    this.#setExpiry(slot, 0);
    s.release(slot);
  }

  /**
   * The slot as replicas see it: a value past its TTL reads as a tombstone at its version, and
   * tombstones past their purge time read as absent.
   */
  recordAt(slot: number, now: number, value?: Buffer): StoreRecord | undefined {
    const tombstone = this.tombstoneAt(slot, now);
    if (tombstone === undefined) return undefined;
    const flags = this.flagsOf(slot);
    const expiresAtMs = this.#slots.expiresAtMs(slot);
    if (!tombstone) {
      value ??= this.readValue(slot);
      return { value, flags, version: this.versionAt(slot), expiresAtMs, tombstone };
    }
    // A value past its TTL reads as the tombstone it turns into, purged a grace after its expiry.
    return {
      value: Buffer.alloc(0),
      flags,
      version: this.versionAt(slot),
      expiresAtMs: this.isTombstone(slot) ? expiresAtMs : expiresAtMs + this.#graceMs,
      tombstone,
    };
  }

  /**
   * What recordAt makes of the slot at `now`, without reading its value: false for a live value,
   * true for a tombstone (a value past its TTL is one), undefined past the tombstone's purge time.
   */
  tombstoneAt(slot: number, now: number): boolean | undefined {
    let expiresAtMs = this.#slots.expiresAtMs(slot);
    if (!this.isTombstone(slot)) {
      if (expiresAtMs === 0 || expiresAtMs > now) return false;
      expiresAtMs += this.#graceMs;
    }
    return expiresAtMs <= now ? undefined : true;
  }

  /**
   * [key, slot] for every entry, in slot order; the iterator tolerates writes between steps (an
   * entry added meanwhile may or may not be visited, one removed before its turn is not).
   */
  *entries(): IterableIterator<[string, number]> {
    const s = this.#slots;
    for (let slot = 1; slot < s.highWater; slot++)
      if ((s.bits(slot) & USED_BIT) !== 0) yield [s.key(slot), slot];
  }

  /**
   * Expires values past their TTL and purges tombstones past their purge time, scanning slots from
   * where the previous call stopped, until outOfTime() says so (asked every 1024 slots) or one
   * full pass is done. Returns how many entries it expired or purged.
   */
  sweep(now: number, outOfTime: () => boolean): number {
    return this.sweepSlots(now, outOfTime, Infinity).swept;
  }

  /**
   * sweep, stopping after `maxSlots` slots too. `visited` is how many slots it went through:
   * Infinity when nothing in the table expires (there is nothing to visit anywhere).
   */
  sweepSlots(now: number, outOfTime: () => boolean, maxSlots: number): { swept: number; visited: number } {
    // Nothing expires and no tombstone waits for its purge: no slot to visit (an idle store of values
    // without TTLs costs its sweeps nothing).
    if (this.#expiring === 0) return { swept: 0, visited: Infinity };
    const s = this.#slots;
    const span = Math.min(s.highWater - 1, maxSlots);
    let swept = 0;
    let scanned = 0;
    while (scanned < span) {
      scanned++;
      if (this.#sweepCursor >= s.highWater) this.#sweepCursor = 1;
      const slot = this.#sweepCursor++;
      const expiresAtMs = s.expiresAtMs(slot);
      if ((s.bits(slot) & USED_BIT) !== 0 && expiresAtMs !== 0 && expiresAtMs <= now) {
        if (!this.isTombstone(slot)) this.expire(slot);
        if (s.expiresAtMs(slot) <= now) this.remove(slot);
        swept++;
      }
      if ((scanned & 1023) === 0 && outOfTime()) break;
    }
    return { swept, visited: scanned };
  }

  /** Bytes of the arena's Buffers: what the values really take, free cells included. */
  get arenaBytes(): number {
    return this.#arena.reservedBytes;
  }

  /** Bytes of the slot table's rows and version column. */
  get tableBytes(): number {
    return this.#slots.bufferBytes;
  }

  /** What the table takes in memory: the bytes it charges, plus the arena's free cells and spare chunks. */
  get footprintBytes(): number {
    return this.bytes + this.#arena.reservedBytes - this.#arena.liveBytes;
  }

  /**
   * One compaction pass of the arena (value-arena.ts): moves at most `budgetBytes` of values out of
   * its emptiest chunks and releases them. Returns the bytes released.
   */
  compact(budgetBytes: number): number {
    const arena = this.#arena;
    if (arena.planCompaction(budgetBytes) === 0) return 0;
    const s = this.#slots;
    for (let slot = 1; slot < s.highWater; slot++) {
      const len = s.valueLength(slot); // 0 for free slots and tombstones, which hold no cell
      if (len === 0 || len > LARGE_VALUE_BYTES) continue;
      const addr = s.valueAddr(slot);
      if (arena.isMoving(addr)) s.setValue(slot, arena.relocate(addr, len), len, s.bits(slot));
    }
    return arena.finishCompaction();
  }

  /**
   * Evicts the least recently used entry, passing over tombstones still in their grace (evicting
   * one early lets a replica that missed the delete bring the value back). Those go to the
   * head of the list, so each is passed over once per trip through it, not on every eviction. The
   * entry being written (`writing`) is never the victim.
   */
  #evictTail(now: number, writing: number | undefined): void {
    const s = this.#slots;
    for (let passed = 0; ; passed++) {
      const tail = s.lruTail;
      if (tail === 0 || passed > this.tombstones + 1) break;
      if (tail === writing) {
        s.moveToHead(tail);
        continue;
      }
      if (this.isTombstone(tail) && s.expiresAtMs(tail) > now) {
        s.moveToHead(tail);
        continue;
      }
      if (!this.isTombstone(tail)) {
        this.evictions++;
        this.onDropped?.(s.key(tail), 'value', this.versionAt(tail));
      }
      this.remove(tail);
      return;
    }
    throw new RingCacheError(
      'OUT_OF_MEMORY',
      `limits.max_memory (${this.#maxBytes} bytes) is held by ${this.tombstones} delete tombstones still in their grace ` +
        'period (cluster.tombstone_grace_ms); raise max_memory or shorten the grace',
    );
  }
}
