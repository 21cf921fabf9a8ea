import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import type { Scheduler } from '../membership/types';

/** A digest of one ring range's records: two independent 32-bit XOR sums of per-record hashes. */
export type RangeDigest = [number, number];

/** Slots a build reads between two yields to the event loop. */
const SLICE = 2000;

/**
 * The digest of every ring range's records (key and version, tombstones included), kept up to date
 * on every change the store makes (Store.onRecord), so that anti-entropy compares ranges in O(ranges)
 * instead of reading every key: a digest is the XOR of its records' hashes, and a record that comes
 * or goes XORs its hash in or out. Riak's active anti-entropy and Cassandra's Merkle-tree repair keep
 * their trees for the same reason.
 *
 * Ranges are the ring's, so a new ring needs the table built again from the store: one pass in slot
 * order, paced at keysPerSecond. While it runs, changes to slots the pass has read are applied and
 * changes to the others are left to it (it reads them as they are when it gets there), so the table
 * is exact when the pass ends, however the store changed meanwhile. Until then digestsOf answers
 * nothing: comparisons wait for it.
 *
 * A record's hash leaves out whether it is a tombstone: a value past its TTL turns into one at the
 * same version, at whatever moment each replica notices, and both hold the same write.
 */
export class RangeDigestTable {
  readonly #store: Store;
  readonly #scheduler: Scheduler;
  readonly #keysPerSecond: number;
  /** The ring the digests are of, and its epoch; undefined until the first build. */
  #ring: Ring | undefined;
  #epoch = -1;
  #a = new Uint32Array(0);
  #b = new Uint32Array(0);
  /** Slots below this are counted in the digests: a build moves it up; Infinity once it is done. */
  #counted = Infinity;
  /** Each build's number: a newer build (another ring) ends the one before. */
  #build = 0;
  #timer: unknown;
  /** The last key #mix hashed: its range, and the two hashes after its characters. */
  #lastKey: string | undefined;
  #lastRange = 0;
  #lastA = 0;
  #lastB = 0;
  /** Builds completed that read records (a store that never held one needs no pass), for metrics. */
  builds = 0;

  constructor(store: Store, scheduler: Scheduler, keysPerSecond: number) {
    this.#store = store;
    this.#scheduler = scheduler;
    this.#keysPerSecond = keysPerSecond;
  }

  /** Starts following the store's changes, and builds the table for `ring`. */
  start(ring: Ring, epoch: number): void {
    this.#store.onRecord = (slot, key, timestamp, node) => {
      if (slot >= this.#counted) return;
      this.#mix(key, timestamp, node);
    };
    this.#rebuild(ring, epoch);
  }

  /** Whether it follows the store (started, not stopped): digests come, now or once built. */
  get running(): boolean {
    return this.#ring !== undefined;
  }

  stop(): void {
    this.#store.onRecord = undefined;
    this.#scheduler.clearTimeout(this.#timer);
    this.#build++;
    this.#ring = undefined;
    this.#epoch = -1;
  }

  /**
   * The digests of `epoch`'s ring, by range (the arrays are live: read them at once), or undefined
   * while the table is built for it; a build for a ring it has not seen starts here.
   */
  digestsOf(ring: Ring, epoch: number): { a: Uint32Array; b: Uint32Array } | undefined {
    if (this.#ring === undefined) return undefined; // stopped
    // Two rings of one epoch exist for a while after changes made apart (they merge): the object says.
    if (epoch !== this.#epoch || ring !== this.#ring) {
      this.#rebuild(ring, epoch);
      return undefined;
    }
    return this.#counted === Infinity ? { a: this.#a, b: this.#b } : undefined;
  }

  #rebuild(ring: Ring, epoch: number): void {
    this.#scheduler.clearTimeout(this.#timer);
    const build = ++this.#build;
    this.#ring = ring;
    this.#epoch = epoch;
    this.#a = new Uint32Array(ring.rangeCount);
    this.#b = new Uint32Array(ring.rangeCount);
    this.#counted = 1;
    this.#lastKey = undefined;
    const reads = this.#store.slotsEnd > 1;
    const count = (slot: number, key: string, timestamp: number, node: string) =>
      this.#mix(key, timestamp, node);
    const step = () => {
      if (build !== this.#build) return;
      const from = this.#counted;
      this.#store.recordsIn(from, from + SLICE, count);
      this.#counted = from + SLICE;
      if (this.#counted >= this.#store.slotsEnd) {
        this.#counted = Infinity;
        if (reads) this.builds++;
        return;
      }
      this.#timer = this.#scheduler.setTimeout(step, (SLICE / this.#keysPerSecond) * 1000);
    };
    step();
  }

  #mix(key: string, timestamp: number, node: string): void {
    // A write tells of the pair that goes and the one that comes, one after the other: the key's
    // range (an MD5) and hash are computed once for both.
    if (key !== this.#lastKey) {
      const ring = this.#ring!;
      this.#lastKey = key;
      this.#lastRange = ring.rangeOfHash(ring.hashOf(key));
      mixKey(key);
      this.#lastA = hashA;
      this.#lastB = hashB;
    } else {
      hashA = this.#lastA;
      hashB = this.#lastB;
    }
    mixVersion(timestamp, node);
    const range = this.#lastRange;
    this.#a[range] = (this.#a[range]! ^ hashA) >>> 0;
    this.#b[range] = (this.#b[range]! ^ hashB) >>> 0;
  }
}

/** The two hashes mixRecord is computing: module state, so that mixing a character allocates nothing. */
let hashA = 0;
let hashB = 0;

function mix(c: number): void {
  hashA = Math.imul(hashA ^ c, 0x01000193);
  hashB = Math.imul(hashB ^ c, 0x01000193) ^ (hashB >>> 15);
}

function mixString(s: string): void {
  for (let i = 0; i < s.length; i++) mix(s.charCodeAt(i));
}

/**
 * A record's hash is two 32-bit FNV-1a hashes (different offset bases) of its key and version, in
 * hashA and hashB: mixKey starts them with the key, mixVersion ends them. A range's digest is the XOR
 * of its records'.
 */
function mixKey(key: string): void {
  hashA = 0x811c9dc5;
  hashB = 0x01000193 ^ 0x5bd1e995;
  mixString(key);
  mix(0xfe);
}

function mixVersion(timestamp: number, node: string): void {
  mix(timestamp % 0x10000);
  mix(Math.floor(timestamp / 0x10000) % 0x10000);
  mix(Math.floor(timestamp / 0x100000000) % 0x10000);
  mix(Math.floor(timestamp / 0x1000000000000));
  mixString(node);
}
