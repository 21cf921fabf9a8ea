import { randomBytes } from 'node:crypto';

/** Shards of the index: a power of two; the top bits of a key's hash pick one. */
const SHARD_BITS = 5;
const SHARDS = 1 << SHARD_BITS;
/** Buckets of a shard at first: a power of two. */
const INITIAL_BUCKETS = 16;
/** A shard doubles once more than 3/4 of its buckets hold a slot. */
const MAX_LOAD_NUM = 3;
const MAX_LOAD_DEN = 4;

/**
 * The store's key -> slot index: an open-addressing hash table (linear probing) of slot numbers in
 * Int32Arrays, the keys themselves read from the slot table (`keyOf`). A bucket costs 4 bytes, so an
 * entry about 7 (at the average load); a V8 Map<string, number> costs about 30 per entry (its
 * entries hold the key and value as tagged fields, in a table that doubles), a tenth of what a
 * small entry takes in all. A lookup hashes the key (FNV-1a over its UTF-16 code units, then
 * murmur3's finalizer) and compares the keys of the slots it probes: at most 3/4 of the buckets are
 * taken, so a few probes. Slot numbers start at 1 (slot 0 is the slot table's sentinel), so 0 marks
 * an empty bucket.
 *
 * Split over SHARDS tables, each of which doubles on its own: rehashing reads every key of the
 * table, so a single table of 8M keys would stop the process for a large fraction of a second, and
 * hold the old table and the new at once. Split, each doubling is a thirty-second of that, and they
 * come at different moments.
 *
 * A removal shifts back the entries that follow it in their probe run (Knuth's algorithm R), so no
 * tombstone buckets pile up under churn. The index does not iterate: the slot table does.
 *
 * Keys come from clients, so the hash starts from a seed drawn at random per index (as V8 seeds its
 * own string hashes): with a fixed start, FNV's collisions can be chained offline, and thousands of
 * keys of one hash would make every lookup among them walk one probe run (4,096 such keys took
 * 191 ms to insert against 5 ms for ordinary ones).
 */
export class KeyIndex {
  readonly #keyOf: (slot: number) => string;
  readonly #seed: number;
  readonly #tables: Int32Array[] = Array.from({ length: SHARDS }, () => new Int32Array(INITIAL_BUCKETS));
  readonly #sizes = new Int32Array(SHARDS);
  #size = 0;

  /**
   * `keyOf(slot)`: the key a slot holds; asked only of slots in the index. `seed`: the hash's, for
   * tests (random otherwise).
   */
  constructor(keyOf: (slot: number) => string, seed = randomBytes(4).readUInt32LE(0)) {
    this.#keyOf = keyOf;
    this.#seed = seed;
  }

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    const h = hashOf(key, this.#seed);
    const table = this.#tables[h >>> (32 - SHARD_BITS)]!;
    const mask = table.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const slot = table[i]!;
      if (slot === 0) return undefined;
      if (this.#keyOf(slot) === key) return slot;
    }
  }

  /** Maps `key` to `slot` (>= 1), replacing the slot it had. */
  set(key: string, slot: number): void {
    const h = hashOf(key, this.#seed);
    const shard = h >>> (32 - SHARD_BITS);
    let table = this.#tables[shard]!;
    if ((this.#sizes[shard]! + 1) * MAX_LOAD_DEN > table.length * MAX_LOAD_NUM) table = this.#grow(shard);
    const mask = table.length - 1;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const held = table[i]!;
      if (held === 0) {
        table[i] = slot;
        this.#sizes[shard]!++;
        this.#size++;
        return;
      }
      if (this.#keyOf(held) === key) {
        table[i] = slot;
        return;
      }
    }
  }

  delete(key: string): void {
    const h = hashOf(key, this.#seed);
    const shard = h >>> (32 - SHARD_BITS);
    const table = this.#tables[shard]!;
    const mask = table.length - 1;
    let hole = h & mask;
    for (; ; hole = (hole + 1) & mask) {
      const slot = table[hole]!;
      if (slot === 0) return;
      if (this.#keyOf(slot) === key) break;
    }
    // Each entry after the hole in its run moves into it unless its home bucket lies cyclically
    // within (hole, j]: there it is still reachable from its home without passing the hole.
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const slot = table[j]!;
      if (slot === 0) break;
      const home = hashOf(this.#keyOf(slot), this.#seed) & mask;
      const reachable = hole <= j ? home > hole && home <= j : home > hole || home <= j;
      if (!reachable) {
        table[hole] = slot;
        hole = j;
      }
    }
    table[hole] = 0;
    this.#sizes[shard]!--;
    this.#size--;
  }

  /** Buckets in all: for tests and memory figures. */
  get buckets(): number {
    let n = 0;
    for (const table of this.#tables) n += table.length;
    return n;
  }

  #grow(shard: number): Int32Array {
    const old = this.#tables[shard]!;
    const table = new Int32Array(old.length * 2);
    const mask = table.length - 1;
    for (const slot of old) {
      if (slot === 0) continue;
      let i = hashOf(this.#keyOf(slot), this.#seed) & mask;
      while (table[i] !== 0) i = (i + 1) & mask;
      table[i] = slot;
    }
    this.#tables[shard] = table;
    return table;
  }
}

/**
 * FNV-1a over the key's UTF-16 code units from `seed` (XORed into FNV's offset basis), mixed by
 * murmur3's finalizer: every bit counts, top bits too.
 */
export function hashOf(key: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
