/** Shards of the index: a power of two. */
const SHARDS = 32;

/**
 * The store's key -> slot index, split over SHARDS Maps. One V8 Map grows and
 * rehashes as a whole: under eviction churn, deleted entries fill its table and V8 rebuilds it,
 * allocating a second table as large as the first while the old one is still alive. With 700k keys
 * that is about 30 MiB at once, a spike in RSS that nothing can make room for ahead of time. Split,
 * each rebuild is a thirty-second of that, and they come at different moments.
 *
 * The shard is picked from the last 8 characters, two from the middle and the length, not a full
 * hash: cheap on the hot path, and keys that differ near the end or the middle (counters, ids)
 * spread well. Keys that share all of those land in one shard, which is no worse than one Map.
 */
export class KeyIndex {
  readonly #shards = Array.from({ length: SHARDS }, () => new Map<string, number>());
  #size = 0;

  get size(): number {
    return this.#size;
  }

  get(key: string): number | undefined {
    return this.#shards[shardOf(key)]!.get(key);
  }

  set(key: string, slot: number): void {
    const shard = this.#shards[shardOf(key)]!;
    const before = shard.size;
    shard.set(key, slot);
    this.#size += shard.size - before;
  }

  delete(key: string): void {
    if (this.#shards[shardOf(key)]!.delete(key)) this.#size--;
  }

  /** Keys per shard: for tests. */
  shardSizes(): number[] {
    return this.#shards.map((shard) => shard.size);
  }

  /** [key, slot] for every entry, shard by shard; like Map iterators, it tolerates writes between steps. */
  *entries(): IterableIterator<[string, number]> {
    for (const shard of this.#shards) yield* shard.entries();
  }
}

function shardOf(key: string): number {
  const n = key.length;
  // The last 8 characters, where ids and counters usually change, and two from the middle.
  let h = n + key.charCodeAt(n >> 1) * 7 + key.charCodeAt(n >> 2) * 11;
  for (let i = n - 1, end = Math.max(0, n - 8); i >= end; i--) h = (h * 31 + key.charCodeAt(i)) | 0;
  // charCodeAt past the end is NaN, and NaN | 0 is 0: an empty key needs no test.
  return (h ^ (h >>> 7)) & (SHARDS - 1);
}
