/**
 * Hot keys: which keys a node reads and writes most, found with a bounded space-saving sketch
 * (Metwally, Agrawal, El Abbadi, "Efficient Computation of Frequent and Top-k Elements in Data
 * Streams", 2005). The sketch holds at most `capacity` counters, whatever the number of distinct
 * keys: a key not yet counted takes over the smallest counter and inherits its count as its error.
 * Any key seen more than total/capacity times is guaranteed to hold a counter, and a key's true
 * count lies in [count - error, count].
 *
 * Fed from the data path, so it samples: one operation in `sampleEvery` on average is counted, the
 * gap drawn at random (a fixed stride would alias with a client that cycles through a fixed set of
 * keys and see the same one every time). An unsampled operation costs a decrement and a compare.
 *
 * Keys are user data: they are shown to callers allowed to read the cache (the Stats RPC, the
 * dashboard), never logged.
 */

export interface HotKey {
  key: string;
  /** Estimated operations on the key since counting began (decayed), sampling undone. */
  count: number;
  /** How much of `count` may belong to keys this counter held before (over-estimate bound). */
  error: number;
}

export interface SpaceSavingOptions {
  /** Counters kept; memory is bounded by capacity × the largest key. Default 32. */
  capacity?: number;
  /**
   * After this many counted items every count is halved, so the list follows what is hot now rather
   * than since the node started. Default 4096 (with 1-in-32 sampling, every ~130k operations).
   */
  halveEvery?: number;
}

/** A space-saving top-k sketch over string keys. Deterministic: sampling is HotKeys' job. */
export class SpaceSaving {
  readonly capacity: number;
  readonly #halveEvery: number;
  /** key → its counter; counters are reused when a key takes one over, so counting allocates nothing. */
  readonly #byKey = new Map<string, HotKey>();
  readonly #counters: HotKey[] = [];
  #sinceHalving = 0;

  constructor(opts: SpaceSavingOptions = {}) {
    this.capacity = opts.capacity ?? 32;
    this.#halveEvery = opts.halveEvery ?? 4096;
    if (!Number.isInteger(this.capacity) || this.capacity < 1 || this.capacity > 4096) {
      throw new TypeError(`capacity must be an integer from 1 to 4096, got ${this.capacity}`);
    }
    if (!Number.isInteger(this.#halveEvery) || this.#halveEvery < 1) {
      throw new TypeError(`halveEvery must be a positive integer, got ${this.#halveEvery}`);
    }
  }

  /** Counts one occurrence of `key`. */
  add(key: string): void {
    const counter = this.#byKey.get(key);
    if (counter) {
      counter.count++;
    } else if (this.#counters.length < this.capacity) {
      const fresh = { key, count: 1, error: 0 };
      this.#counters.push(fresh);
      this.#byKey.set(key, fresh);
    } else {
      // A linear scan for the smallest counter: with a few dozen counters it beats keeping a heap
      // or a stream-summary list up to date on every increment, and it runs on misses only.
      let min = this.#counters[0] as HotKey;
      for (const c of this.#counters) if (c.count < min.count) min = c;
      this.#byKey.delete(min.key);
      this.#byKey.set(key, min);
      min.key = key;
      min.error = min.count;
      min.count++;
    }
    if (++this.#sinceHalving >= this.#halveEvery) this.#halve();
  }

  /** The counted keys, most counted first; at most `limit` of them. */
  top(limit = this.capacity): HotKey[] {
    const out = this.#counters.map((c) => ({ ...c }));
    out.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    return out.slice(0, limit);
  }

  get size(): number {
    return this.#counters.length;
  }

  #halve(): void {
    this.#sinceHalving = 0;
    for (const c of this.#counters) {
      c.count /= 2;
      c.error /= 2;
    }
  }
}

export interface HotKeysOptions extends SpaceSavingOptions {
  /** One operation in this many, on average, is counted. 1 counts every one. Default 32. */
  sampleEvery?: number;
  /** The random source for the sampling gaps; tests pass a seeded one. Default Math.random. */
  random?: () => number;
}

export interface HotKeysSnapshot {
  reads: HotKey[];
  writes: HotKey[];
}

/** A node's most-read and most-written keys: two sampled sketches. */
export class HotKeys {
  readonly #reads: SpaceSaving;
  readonly #writes: SpaceSaving;
  readonly #sampleEvery: number;
  readonly #random: () => number;
  #readGap: number;
  #writeGap: number;

  constructor(opts: HotKeysOptions = {}) {
    this.#reads = new SpaceSaving(opts);
    this.#writes = new SpaceSaving(opts);
    this.#sampleEvery = opts.sampleEvery ?? 32;
    if (!Number.isInteger(this.#sampleEvery) || this.#sampleEvery < 1 || this.#sampleEvery > 1 << 20) {
      throw new TypeError(`sampleEvery must be an integer from 1 to 1048576, got ${this.#sampleEvery}`);
    }
    this.#random = opts.random ?? Math.random;
    this.#readGap = this.#nextGap();
    this.#writeGap = this.#nextGap();
  }

  read(key: string): void {
    if (--this.#readGap > 0) return;
    this.#readGap = this.#nextGap();
    this.#reads.add(key);
  }

  write(key: string): void {
    if (--this.#writeGap > 0) return;
    this.#writeGap = this.#nextGap();
    this.#writes.add(key);
  }

  /** The hottest keys of each kind, counts scaled back to estimated operations. */
  snapshot(limit?: number): HotKeysSnapshot {
    const scale = (k: HotKey): HotKey => ({
      key: k.key,
      count: Math.round(k.count * this.#sampleEvery),
      error: Math.round(k.error * this.#sampleEvery),
    });
    return { reads: this.#reads.top(limit).map(scale), writes: this.#writes.top(limit).map(scale) };
  }

  /** A gap uniform in [1, 2·sampleEvery − 1]: its mean is sampleEvery. */
  #nextGap(): number {
    return 1 + Math.floor(this.#random() * (2 * this.#sampleEvery - 1));
  }
}
