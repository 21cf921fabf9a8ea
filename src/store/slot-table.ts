import { RingCacheError } from '../errors';

/*
 * Per-entry metadata in typed arrays indexed by slot number, instead of one JS object per entry
 * (an object with these fields costs ~100 bytes of heap and GC scanning work per key).
 *
 * Each slot is one 32-byte row of a single ArrayBuffer, so a get touches one cache line for its own
 * metadata instead of one per field (~10% more gets/s than one array per field at 1M keys):
 *   f64[0] expiresAtMs   live: wall ms of expiry, 0 = never; tombstone: wall ms it may be purged
 *   f64[1] version timestamp
 *   u32[4] LRU prev      u32[5] LRU next
 *   u32[6] value address in ValueArena
 *   u32[7] value length * 256 + bits (flags, tombstone, used): values are capped at 16 MiB
 * The version's node id is a Uint16 index into NodeIds (node ids repeat across millions of keys),
 * and slot -> key is a plain array so eviction and the sweep can remove the key from the index.
 *
 * The LRU list is circular through slot 0, the sentinel: next(0) is the most recently used slot,
 * prev(0) the least. Free slots are chained through next too.
 */

/** The bits byte: the value's flags (0..2) in the low two bits, then these. */
export const FLAGS_MASK = 0b11;
export const TOMBSTONE_BIT = 0b100;
export const USED_BIT = 0b1000;
/** Value lengths share a Uint32 with the bits byte. */
export const MAX_VALUE_LENGTH = 2 ** 24 - 1;

const ROW_BYTES = 32;
const F64_PER_ROW = ROW_BYTES / 8;
const U32_PER_ROW = ROW_BYTES / 4;
const PREV = 4;
const NEXT = 5;
const ADDR = 6;
const LENGTH_BITS = 7;
const SENTINEL = 0;
const INITIAL_CAPACITY = 1024;
/** Map<string, number> stops at 2^24 entries; 2^26 rows is 2 GiB of metadata, far past any sane store. */
const MAX_CAPACITY = 2 ** 26;

/** A resizable ArrayBuffer (ES2024; in Node 20): the lib this compiles against predates its type. */
interface ResizableArrayBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
}

function resizableBuffer(byteLength: number, maxByteLength: number): ResizableArrayBuffer {
  const Resizable = ArrayBuffer as unknown as new (
    byteLength: number,
    opts: { maxByteLength: number },
  ) => ResizableArrayBuffer;
  return new Resizable(byteLength, { maxByteLength });
}

export class SlotTable {
  #capacity = INITIAL_CAPACITY;
  /**
   * Rows and version nodes live in resizable buffers that grow in place (only the memory in use is
   * committed): doubling into new buffers copied the table while the old one waited for a
   * collection, a spike in RSS of the whole old table (~84 MiB at 2M entries).
   */
  readonly #rows = resizableBuffer(INITIAL_CAPACITY * ROW_BYTES, MAX_CAPACITY * ROW_BYTES);
  readonly #f64 = new Float64Array(this.#rows);
  readonly #u32 = new Uint32Array(this.#rows);
  readonly #nodeColumn = resizableBuffer(INITIAL_CAPACITY * 2, MAX_CAPACITY * 2);
  readonly #versionNode = new Uint16Array(this.#nodeColumn);
  #keys: string[] = new Array<string>(INITIAL_CAPACITY).fill('');
  #freeHead = SENTINEL;
  #highWater = 1;

  /** Bytes of the rows and the version column (the key column is in the JS heap). */
  get bufferBytes(): number {
    return this.#rows.byteLength + this.#nodeColumn.byteLength;
  }

  /** One past the highest slot ever used: the sweep scans [1, highWater). */
  get highWater(): number {
    return this.#highWater;
  }

  /** The least recently used slot, or 0 when the list is empty. */
  get lruTail(): number {
    return this.#u32[SENTINEL * U32_PER_ROW + PREV]!;
  }

  key(slot: number): string {
    return this.#keys[slot]!;
  }

  bits(slot: number): number {
    return this.#u32[slot * U32_PER_ROW + LENGTH_BITS]! & 0xff;
  }

  setBits(slot: number, bits: number): void {
    const i = slot * U32_PER_ROW + LENGTH_BITS;
    this.#u32[i] = (this.#u32[i]! & ~0xff) | bits;
  }

  valueAddr(slot: number): number {
    return this.#u32[slot * U32_PER_ROW + ADDR]!;
  }

  valueLength(slot: number): number {
    return this.#u32[slot * U32_PER_ROW + LENGTH_BITS]! >>> 8;
  }

  /** Sets address, length and bits together: they change together on every write. */
  setValue(slot: number, addr: number, length: number, bits: number): void {
    const i = slot * U32_PER_ROW;
    this.#u32[i + ADDR] = addr;
    this.#u32[i + LENGTH_BITS] = length * 256 + bits;
  }

  expiresAtMs(slot: number): number {
    return this.#f64[slot * F64_PER_ROW]!;
  }

  setExpiresAtMs(slot: number, ms: number): void {
    this.#f64[slot * F64_PER_ROW] = ms;
  }

  versionTimestamp(slot: number): number {
    return this.#f64[slot * F64_PER_ROW + 1]!;
  }

  versionNode(slot: number): number {
    return this.#versionNode[slot]!;
  }

  setVersion(slot: number, timestamp: number, node: number): void {
    this.#f64[slot * F64_PER_ROW + 1] = timestamp;
    this.#versionNode[slot] = node;
  }

  /** A fresh slot marked used, not yet on the LRU list. */
  allocate(key: string): number {
    let slot = this.#freeHead;
    if (slot !== SENTINEL) {
      this.#freeHead = this.#u32[slot * U32_PER_ROW + NEXT]!;
    } else {
      if (this.#highWater === this.#capacity) this.#grow();
      slot = this.#highWater++;
    }
    this.#keys[slot] = key;
    this.setValue(slot, 0, 0, USED_BIT);
    return slot;
  }

  /** Unlinks the slot from the LRU list and puts it on the free list. */
  release(slot: number): void {
    this.unlink(slot);
    this.#keys[slot] = '';
    this.setValue(slot, 0, 0, 0);
    this.#u32[slot * U32_PER_ROW + NEXT] = this.#freeHead;
    this.#freeHead = slot;
  }

  linkAtHead(slot: number): void {
    const u32 = this.#u32;
    const first = u32[SENTINEL * U32_PER_ROW + NEXT]!;
    u32[slot * U32_PER_ROW + PREV] = SENTINEL;
    u32[slot * U32_PER_ROW + NEXT] = first;
    u32[first * U32_PER_ROW + PREV] = slot;
    u32[SENTINEL * U32_PER_ROW + NEXT] = slot;
  }

  unlink(slot: number): void {
    const u32 = this.#u32;
    const p = u32[slot * U32_PER_ROW + PREV]!;
    const n = u32[slot * U32_PER_ROW + NEXT]!;
    u32[p * U32_PER_ROW + NEXT] = n;
    u32[n * U32_PER_ROW + PREV] = p;
  }

  moveToHead(slot: number): void {
    if (this.#u32[SENTINEL * U32_PER_ROW + NEXT] === slot) return;
    this.unlink(slot);
    this.linkAtHead(slot);
  }

  #grow(): void {
    const capacity = this.#capacity * 2;
    if (capacity > MAX_CAPACITY)
      throw new RingCacheError('OUT_OF_MEMORY', `store holds ${MAX_CAPACITY} entries, the most it can`);
    // The typed arrays track their buffers' lengths.
    this.#rows.resize(capacity * ROW_BYTES);
    this.#nodeColumn.resize(capacity * 2);
    for (let i = this.#capacity; i < capacity; i++) this.#keys.push('');
    this.#capacity = capacity;
  }
}

/** How many distinct node ids the version column can name (its Uint16 indexes). */
export const MAX_VERSION_NODES = 0x10000;

/**
 * Node ids interned to Uint16 indexes for the version column. An id is never forgotten: a cluster
 * names a few, but versions arrive from peers, and one that names ids past the last index is
 * refused (OUT_OF_MEMORY: RESOURCE_EXHAUSTED on the wire), never a fault of the node's.
 */
export class NodeIds {
  readonly #names: string[] = [];
  readonly #index = new Map<string, number>();

  intern(node: string): number {
    let i = this.#index.get(node);
    if (i === undefined) {
      i = this.#names.length;
      if (i >= MAX_VERSION_NODES)
        throw new RingCacheError(
          'OUT_OF_MEMORY',
          `versions here name ${MAX_VERSION_NODES} distinct node ids, the most a store holds; a version of node '${node}' is refused`,
        );
      this.#names.push(node);
      this.#index.set(node, i);
    }
    return i;
  }

  nameOf(index: number): string {
    return this.#names[index]!;
  }
}
