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
 * Known cost: chunks of a class are never given back (memcached's "slab calcification"), so a
 * workload that moves from one value size to another holds the old class's chunks until restart.
 *
 * A large value's chunk is rounded up to a multiple of 64 KiB, and a freed one is kept (up to
 * SPARE_LARGE_BYTES in all) for the next large value of its size: otherwise every overwrite or
 * eviction of a 1 MiB value left a 1 MiB Buffer for the garbage collector, which frees external
 * memory only when it next runs, and a node at max_memory settled near twice that in RSS (issue 12 §6).
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

  /** Bytes of Buffers the arena holds (cells in use, free cells and unused chunk tails). */
  get reservedBytes(): number {
    return this.#reservedBytes;
  }

  /** An address for `len` bytes. Length 0 needs no storage: its address is 0 and is never read. */
  alloc(len: number): number {
    if (len === 0) return 0;
    if (len > LARGE_VALUE_BYTES) return this.#largeChunk(len) * CHUNK_ADDR_SPAN;
    const index = sizeClassOf(len);
    const c = (this.#classes[index] ??= new SizeClass(cellBytesOf(index)));
    if (c.freeCount > 0) return c.free[--c.freeCount]!;
    if (c.bumpNext + c.cellUnits > c.bumpEnd) this.#refill(c);
    const addr = c.bumpNext;
    c.bumpNext += c.cellUnits;
    return addr;
  }

  free(addr: number, len: number): void {
    if (len === 0) return;
    if (len > LARGE_VALUE_BYTES) {
      const id = addr >>> OFFSET_BITS;
      const chunk = this.#chunks[id]!;
      this.#chunks[id] = undefined;
      this.#freeChunkIds.push(id);
      if (this.#spareLargeBytes + chunk.length <= SPARE_LARGE_BYTES) {
        let spares = this.#spareLarge.get(chunk.length);
        if (!spares) this.#spareLarge.set(chunk.length, (spares = []));
        spares.push(chunk);
        this.#spareLargeBytes += chunk.length;
      } else this.#reservedBytes -= chunk.length;
      return;
    }
    const c = this.#classes[sizeClassOf(len)]!;
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

  #refill(c: SizeClass): void {
    const want = Math.min(MAX_CHUNK_BYTES, Math.max(FIRST_CHUNK_BYTES * 2 ** c.chunkCount, c.cellBytes * 4));
    const cells = Math.floor(want / c.cellBytes);
    const id = this.#newChunk(cells * c.cellBytes);
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
