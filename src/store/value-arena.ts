import { RingCacheError } from '../errors';

/*
 * Values live in a slab arena instead of one Buffer per entry: a Buffer costs ~100 bytes of heap on
 * top of its bytes, more than a typical small value. Each value has an address, a Uint32 counted in
 * 8-byte units: the top 15 bits pick a chunk, the low 17 bits the offset inside it (chunks are at
 * most 1 MiB), so an address fits the store's Uint32Array and the arena spans 32 GiB.
 *
 * Small values (<= 64 KiB) go to size classes: 8-byte steps up to 128 bytes, then 8 classes per
 * doubling (at most 12.5% slack). Each class carves cells out of its own chunks and keeps a stack
 * of freed cells. Larger values get a chunk of their own, released when the value is freed.
 * Freed cells of a class are given back by compaction (below), so the arena shrinks with the store
 * instead of holding its peak for good (memcached's "slab calcification").
 *
 * A large value's chunk is rounded up to a multiple of 64 KiB, and a freed one is kept (up to
 * SPARE_LARGE_BYTES in all) for the next large value of its size: otherwise every overwrite or
 * eviction of a 1 MiB value left a 1 MiB Buffer for the garbage collector, which frees external
 * memory only when it next runs, and a node at max_memory settled near twice that in RSS.
 *
 * Compaction: when a class holds many more cells than it uses (after evictions under memory
 * pressure, deletes, expiry, or a change of value sizes), planCompaction() picks its emptiest chunks,
 * the owner moves each live value out of them with relocate() (only the owner knows which entry
 * holds an address), and finishCompaction() releases the emptied chunks. It runs in the store's
 * sweep, a bounded number of bytes per tick.
 */

const ADDR_UNIT_BYTES = 8;
const OFFSET_BITS = 17;
const OFFSET_MASK = (1 << OFFSET_BITS) - 1;
const CHUNK_ADDR_SPAN = 1 << OFFSET_BITS; // address units per chunk id
const MAX_CHUNK_BYTES = CHUNK_ADDR_SPAN * ADDR_UNIT_BYTES; // 1 MiB
const MAX_CHUNKS = 1 << (32 - OFFSET_BITS);
/** A class's first chunk; each next one doubles up to 1 MiB, so a small store stays small. */
const FIRST_CHUNK_BYTES = 16 * 1024;
export const LARGE_VALUE_BYTES = 64 * 1024;
/** Large chunks are sized in these steps, so that a freed one fits the next value of about its size. */
const LARGE_STEP_BYTES = 64 * 1024;
/** Most bytes of freed large chunks kept for reuse. */
const SPARE_LARGE_BYTES = 8 * 1024 * 1024;
/** A class is compacted once its free cells exceed this share of its chunks' bytes, */
const COMPACT_FREE_SHARE = 1 / 8;
/** and are at least this many bytes (a small class's slack is not worth a pass). */
const COMPACT_MIN_FREE_BYTES = 1024 * 1024;
/** A chunk fuller than this is not emptied: moving its cells costs more than releasing it gives. */
const COMPACT_MAX_LIVE_SHARE = 7 / 8;
/** chunkClass entry of a large value's chunk or of an unused id. */
const NO_CLASS = -1;

/** Size class of a value of `len` bytes (1..LARGE_VALUE_BYTES). */
export function sizeClassOf(len: number): number {
  if (len <= 128) return ((len + 7) >>> 3) - 1;
  const k = 31 - Math.clz32(len - 1); // len is in (2^k, 2^(k+1)], k >= 7
  const m = ((len - 1) >>> (k - 3)) + 1; // ceil(len / 2^(k-3)), 9..16
  return 16 + (k - 7) * 8 + (m - 9);
}

/**
 * The arena bytes a value of `len` bytes takes: its cell, or its large chunk. The store counts
 * these, not the value's length, so a size class's slack (up to 12.5%) is inside max_memory.
 */
export function heldBytesOf(len: number): number {
  if (len === 0) return 0;
  if (len > LARGE_VALUE_BYTES) return Math.ceil(len / LARGE_STEP_BYTES) * LARGE_STEP_BYTES;
  return cellBytesOf(sizeClassOf(len));
}

export function cellBytesOf(sizeClass: number): number {
  if (sizeClass < 16) return (sizeClass + 1) * 8;
  const i = sizeClass - 16;
  return (9 + (i & 7)) * 2 ** (7 + (i >>> 3) - 3);
}

class SizeClass {
  readonly cellUnits: number;
  /** Ids of this class's chunks; the last one is where bumpNext carves. */
  readonly chunkIds: number[] = [];
  chunkCount = 0;
  bumpNext = 0;
  bumpEnd = 0;
  free = new Uint32Array(16);
  freeCount = 0;
  constructor(readonly cellBytes: number) {
    this.cellUnits = cellBytes / ADDR_UNIT_BYTES;
  }
}

export class ValueArena {
  readonly #chunks: (Buffer | undefined)[] = [];
  readonly #freeChunkIds: number[] = [];
  readonly #classes: (SizeClass | undefined)[] = [];
  /** Freed large chunks by byte length, for reuse. */
  readonly #spareLarge = new Map<number, Buffer[]>();
  #spareLargeBytes = 0;
  #reservedBytes = 0;
  /** Bytes of the cells (and large chunks) that hold values now. */
  #liveBytes = 0;
  /** Per chunk id: its size class, or NO_CLASS. */
  readonly #chunkClass = new Int16Array(MAX_CHUNKS).fill(NO_CLASS);
  /** Per chunk id of a size class: cells in use. */
  readonly #liveCells = new Uint32Array(MAX_CHUNKS);
  /** Per chunk id: 1 while compaction empties it. */
  readonly #moving = new Uint8Array(MAX_CHUNKS);
  readonly #movingIds: number[] = [];

  /** Bytes of Buffers the arena holds (cells in use, free cells and unused chunk tails). */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /** Bytes of the cells and large chunks holding values: reservedBytes less what is free. */
  get liveBytes(): number {
    return this.#liveBytes;
  }

  /** An address for `len` bytes. Length 0 needs no storage: its address is 0 and is never read. */
  alloc(len: number): number {
    if (len === 0) return 0;
    if (len > LARGE_VALUE_BYTES) {
      const id = this.#largeChunk(len);
      this.#liveBytes += this.#chunks[id]!.length;
      return id * CHUNK_ADDR_SPAN;
    }
    const index = sizeClassOf(len);
    const c = (this.#classes[index] ??= new SizeClass(cellBytesOf(index)));
    this.#liveBytes += c.cellBytes;
    let addr: number;
    if (c.freeCount > 0) addr = c.free[--c.freeCount]!;
    else {
      if (c.bumpNext + c.cellUnits > c.bumpEnd) this.#refill(c, index);
      addr = c.bumpNext;
      c.bumpNext += c.cellUnits;
    }
    this.#liveCells[addr >>> OFFSET_BITS]!++;
    return addr;
  }

  free(addr: number, len: number): void {
    if (len === 0) return;
    if (len > LARGE_VALUE_BYTES) {
      const id = addr >>> OFFSET_BITS;
      const chunk = this.#chunks[id]!;
      this.#liveBytes -= chunk.length;
      if (this.#spareLargeBytes + chunk.length > SPARE_LARGE_BYTES) {
        this.#releaseChunk(id);
        return;
      }
      this.#chunks[id] = undefined;
      this.#freeChunkIds.push(id);
      let spares = this.#spareLarge.get(chunk.length);
      if (!spares) this.#spareLarge.set(chunk.length, (spares = []));
      spares.push(chunk);
      this.#spareLargeBytes += chunk.length;
      return;
    }
    const id = addr >>> OFFSET_BITS;
    this.#liveCells[id]!--;
    const c = this.#classes[sizeClassOf(len)]!;
    this.#liveBytes -= c.cellBytes;
    if (this.#moving[id] === 1) return; // its chunk is released once emptied: the cell is not reused
    if (c.freeCount === c.free.length) {
      const grown = new Uint32Array(c.free.length * 2);
      grown.set(c.free);
      c.free = grown;
    }
    c.free[c.freeCount++] = addr;
  }

  write(addr: number, src: Uint8Array): void {
    if (src.length === 0) return;
    this.#chunks[addr >>> OFFSET_BITS]!.set(src, (addr & OFFSET_MASK) * ADDR_UNIT_BYTES);
  }

  /** A copy the caller owns: the cell may be handed to another key later. */
  read(addr: number, len: number): Buffer {
    const out = Buffer.allocUnsafe(len);
    if (len === 0) return out;
    const start = (addr & OFFSET_MASK) * ADDR_UNIT_BYTES;
    this.#chunks[addr >>> OFFSET_BITS]!.copy(out, 0, start, start + len);
    return out;
  }

  /** A view into the arena, valid only until the next alloc/free: for parsing without a copy. */
  view(addr: number, len: number): Buffer {
    if (len === 0) return Buffer.alloc(0);
    const start = (addr & OFFSET_MASK) * ADDR_UNIT_BYTES;
    return this.#chunks[addr >>> OFFSET_BITS]!.subarray(start, start + len);
  }

  /**
   * Picks chunks to empty, in the classes whose free cells are over COMPACT_FREE_SHARE of their
   * bytes: the emptiest first, as long as the cells left free elsewhere in the class take their live
   * values and at most `budgetBytes` of values are to move. Their free cells leave the free lists.
   * Returns how many chunks were picked; the owner then relocate()s every value it holds in them and
   * calls finishCompaction().
   */
  planCompaction(budgetBytes: number): number {
    for (let index = 0; index < this.#classes.length && budgetBytes > 0; index++) {
      const c = this.#classes[index];
      if (!c || c.chunkIds.length < 2) continue;
      const bumpCells = (c.bumpEnd - c.bumpNext) / c.cellUnits;
      let freeElsewhere = c.freeCount + bumpCells;
      let classBytes = 0;
      for (const id of c.chunkIds) classBytes += this.#chunks[id]!.length;
      if (freeElsewhere * c.cellBytes < Math.max(COMPACT_MIN_FREE_BYTES, classBytes * COMPACT_FREE_SHARE))
        continue;
      const cellsIn = (id: number) => this.#chunks[id]!.length / c.cellBytes;
      const bumpChunk = c.chunkIds[c.chunkIds.length - 1]!;
      const candidates = c.chunkIds
        .filter((id) => id !== bumpChunk)
        .sort((a, b) => this.#liveCells[a]! / cellsIn(a) - this.#liveCells[b]! / cellsIn(b));
      let toMove = 0;
      const picked = this.#movingIds.length;
      for (const id of candidates) {
        const cells = cellsIn(id);
        const live = this.#liveCells[id]!;
        if (live > cells * COMPACT_MAX_LIVE_SHARE) break;
        if (live * c.cellBytes > budgetBytes) break;
        // Once picked, its free cells are gone and its live ones need cells elsewhere.
        if (freeElsewhere - (cells - live) < toMove + live) break;
        freeElsewhere -= cells - live;
        toMove += live;
        budgetBytes -= live * c.cellBytes;
        this.#moving[id] = 1;
        this.#movingIds.push(id);
      }
      if (this.#movingIds.length === picked) continue;
      let kept = 0;
      for (let i = 0; i < c.freeCount; i++) {
        const addr = c.free[i]!;
        if (this.#moving[addr >>> OFFSET_BITS] === 0) c.free[kept++] = addr;
      }
      c.freeCount = kept;
    }
    return this.#movingIds.length;
  }

  /** Whether `addr` is in a chunk being emptied: its owner must relocate() it. */
  isMoving(addr: number): boolean {
    return this.#moving[addr >>> OFFSET_BITS] === 1;
  }

  /** Moves a value out of a chunk being emptied; returns its new address. */
  relocate(addr: number, len: number): number {
    const to = this.alloc(len);
    const from = (addr & OFFSET_MASK) * ADDR_UNIT_BYTES;
    this.#chunks[addr >>> OFFSET_BITS]!.copy(
      this.#chunks[to >>> OFFSET_BITS]!,
      (to & OFFSET_MASK) * ADDR_UNIT_BYTES,
      from,
      from + len,
    );
    this.free(addr, len);
    return to;
  }

  /**
   * Releases the chunks planCompaction() picked, all of whose values were relocated; returns their
   * bytes. A chunk still holding a value (an owner that missed one) is kept and left to the next plan.
   */
  finishCompaction(): number {
    let released = 0;
    for (const id of this.#movingIds) {
      this.#moving[id] = 0;
      if (this.#liveCells[id] !== 0) continue;
      const c = this.#classes[this.#chunkClass[id]!]!;
      c.chunkIds.splice(c.chunkIds.indexOf(id), 1);
      released += this.#releaseChunk(id);
    }
    this.#movingIds.length = 0;
    return released;
  }

  #refill(c: SizeClass, index: number): void {
    const want = Math.min(MAX_CHUNK_BYTES, Math.max(FIRST_CHUNK_BYTES * 2 ** c.chunkCount, c.cellBytes * 4));
    const cells = Math.floor(want / c.cellBytes);
    const id = this.#newChunk(cells * c.cellBytes);
    this.#chunkClass[id] = index;
    c.chunkIds.push(id);
    c.chunkCount++;
    c.bumpNext = id * CHUNK_ADDR_SPAN;
    c.bumpEnd = c.bumpNext + cells * c.cellUnits;
  }

  /** A chunk id for a large value: a spare chunk of its rounded size when one is kept, else a new one. */
  #largeChunk(len: number): number {
    const bytes = Math.ceil(len / LARGE_STEP_BYTES) * LARGE_STEP_BYTES;
    const spare = this.#spareLarge.get(bytes)?.pop();
    if (!spare) return this.#newChunk(bytes);
    this.#spareLargeBytes -= bytes;
    const id = this.#freeChunkIds.pop() ?? this.#chunks.length;
    this.#chunks[id] = spare;
    return id;
  }

  #releaseChunk(id: number): number {
    const bytes = this.#chunks[id]!.length;
    this.#chunks[id] = undefined;
    this.#chunkClass[id] = NO_CLASS;
    this.#freeChunkIds.push(id);
    this.#reservedBytes -= bytes;
    return bytes;
  }

  #newChunk(bytes: number): number {
    const id = this.#freeChunkIds.pop() ?? this.#chunks.length;
    if (id >= MAX_CHUNKS) {
      throw new RingCacheError('OUT_OF_MEMORY', `value arena is full: ${MAX_CHUNKS} chunks in use`);
    }
    // allocUnsafeSlow: a Buffer of its own, not a slice of Node's shared 8 KiB pool.
    this.#chunks[id] = Buffer.allocUnsafeSlow(bytes);
    this.#reservedBytes += bytes;
    return id;
  }
}
