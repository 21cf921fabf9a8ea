export interface NearCacheOptions {
  /** Most entries held in the process (least recently used dropped first). Default 10000. */
  maxEntries?: number;
  /** Longest an entry is served from the process, in milliseconds (never past the value's own TTL). Default 60000. */
  ttlMs?: number;
}

export interface NearCacheStats {
  hits: number;
  misses: number;
  /** Entries dropped because a change event (or this client's own write) said the key changed. */
  invalidations: number;
  /** Times the whole near cache was emptied: a gap in events, a reconnect, a topology change. */
  resets: number;
  entries: number;
}

interface Held {
  bytes: Buffer;
  flags: number;
  /** Process clock (Date.now()) after which the entry is not served. */
  expiresAt: number;
}

/**
 * Values kept in the process, served without a round trip, and only while they can be
 * proven fresh: the client watches every node's changes (change-watch.ts), and
 * - an entry is dropped when any replica reports a change of its key, or this client writes it;
 * - a read that a change event overtook (the event arrived while the read was in flight) is not
 *   kept: it may hold the value from before the change;
 * - nothing is kept unless every node's change stream is open and confirmed (`live`), and the whole
 *   near cache is emptied when a stream breaks, skips a sequence number, or the topology changes:
 *   the changes missed meanwhile are unknown.
 * An entry also never outlives `ttlMs`, nor the TTL the value has in the cluster.
 */
export class NearCache {
  readonly #max: number;
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Held>();
  /** Keys with reads in flight, and whether a change overtook them. */
  readonly #reading = new Map<string, { count: number; overtaken: boolean }>();
  #live = false;
  readonly #counts = { hits: 0, misses: 0, invalidations: 0, resets: 0 };

  /** The counters, and the entries held now (a copy). */
  get stats(): NearCacheStats {
    return { ...this.#counts, entries: this.#entries.size };
  }

  constructor(opts: NearCacheOptions = {}) {
    this.#max = Math.max(1, opts.maxEntries ?? 10_000);
    this.#ttlMs = Math.max(0, opts.ttlMs ?? 60_000);
  }

  /** The held bytes and flags of a fresh entry; undefined (a miss) otherwise. */
  lookup(key: string): { bytes: Buffer; flags: number } | undefined {
    const held = this.#entries.get(key);
    if (held && held.expiresAt > Date.now()) {
      this.#counts.hits++;
      // Least recently used goes first: a hit moves to the end of the Map's order.
      this.#entries.delete(key);
      this.#entries.set(key, held);
      return { bytes: held.bytes, flags: held.flags };
    }
    if (held) this.#entries.delete(key);
    this.#counts.misses++;
    return undefined;
  }

  /** A read of `key` goes out: from now on, a change of it makes its answer unfit to keep. */
  reading(key: string): void {
    const r = this.#reading.get(key);
    if (r) r.count++;
    else this.#reading.set(key, { count: 1, overtaken: false });
  }

  /** The read's answer came (undefined: absent or failed): kept when nothing overtook it. */
  read(key: string, found: { bytes: Buffer; flags: number; ttlMs: number } | undefined): void {
    const r = this.#reading.get(key);
    if (!r) return;
    const overtaken = r.overtaken;
    if (--r.count === 0) this.#reading.delete(key);
    if (!found || overtaken || !this.#live || this.#ttlMs === 0) return;
    const ttl = found.ttlMs > 0 ? Math.min(found.ttlMs, this.#ttlMs) : this.#ttlMs;
    this.#entries.delete(key);
    this.#entries.set(key, { bytes: found.bytes, flags: found.flags, expiresAt: Date.now() + ttl });
    if (this.#entries.size > this.#max) this.#entries.delete(this.#entries.keys().next().value!);
  }

  /** `key` changed (an event from a node, or this client's own write). */
  invalidate(key: string): void {
    const r = this.#reading.get(key);
    if (r) r.overtaken = true;
    if (this.#entries.has(key)) {
      this.#counts.invalidations++;
      this.#entries.delete(key);
    }
  }

  /** Whether every node's change stream is confirmed; false empties the cache and keeps nothing new. */
  setLive(live: boolean): void {
    if (!live && this.#live) this.reset();
    this.#live = live;
  }

  /**
   * Changes may have been missed: nothing held can be proven fresh. Counted even when nothing is held,
   * since a replica's late event may have just emptied it: the count says how often this happened.
   */
  reset(): void {
    this.#counts.resets++;
    this.#entries.clear();
    for (const r of this.#reading.values()) r.overtaken = true;
  }
}
