import { RingCacheError } from '../errors';
import { buildContinuum, MAX_RING_NODES, positionOf } from './continuum';
import { ketamaHash } from './ketama-hash';

const HASH_SPACE = 2 ** 32;

/**
 * Lists are cached per ring point only while (points x list length) stays under this many entries
 * (8 MB of references): N=3 on 100 nodes x 160 vnodes is 192,000. Longer lists (e.g. the whole
 * ring, asked for when a replica is down) are computed per call instead.
 */
const MAX_CACHED_LIST_ENTRIES = 1 << 20;

/**
 * The consistent-hash ring, used identically by nodes and the SDK: same members and vnodes give the
 * same owners everywhere, and the same answers as `hashring` (ketama, md5) with `vnode count` vnodes.
 *
 * Why not call hashring per key: `hashring.get` costs ~2 µs when its LRU misses (crypto md5, cache
 * churn), above the SDK's per-op budget. Ring copies hashring's continuum into typed arrays once,
 * hashes keys with a pure-JS MD5 (ketama-hash.ts, ~0.25 µs for a short key) and binary-searches.
 * Preference lists depend only on the ring point a key lands on, so they are computed once per point
 * and shared.
 *
 * Nothing is cached per key. A Map from key to position was tried: with 100k keys its lookups miss
 * the CPU caches and cost 0.4-0.7 µs, more than hashing again, and it held ~9 MB. (hashring's own
 * cache is a plain object, where get('__proto__') writes Object.prototype.value for the whole process,
 * and from then on get('valueOf') (n1..n3, 160 vnodes) answers n1 where the ring says n3. Ring always
 * gives the ring's answer, which is hashring.range(key, 1)[0] and hashring.get's for every other key.)
 */
export class Ring {
  readonly nodeIds: readonly string[];
  readonly vnodes: number;
  readonly #points: Uint32Array;
  readonly #owners: Uint16Array;
  /** #lists[n][position]: the frozen preference list of n nodes for keys landing on that point. */
  readonly #lists: (string[] | undefined)[][] = [];

  constructor(nodeIds: readonly string[], opts: { vnodes: number }) {
    checkMembers(nodeIds);
    if (!Number.isInteger(opts.vnodes) || opts.vnodes < 1) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `ring vnodes is ${opts.vnodes}; it must be a whole number >= 1`,
      );
    }
    this.nodeIds = Object.freeze([...nodeIds]);
    this.vnodes = opts.vnodes;
    const { points, owners } = buildContinuum(this.nodeIds, opts.vnodes);
    this.#points = points;
    this.#owners = owners;
  }

  /** Owner of the key: same answer as hashring.get(key) (see the class comment for one exception). */
  owner(key: string): string {
    return this.nodeIds[this.#owners[this.#position(key)]!]!;
  }

  /**
   * First n distinct nodes clockwise from the key's point: same as hashring.range(key, n), with n
   * capped at the node count. The array is shared between keys and frozen: copy it before changing it.
   */
  preferenceList(key: string, n: number): string[] {
    return this.#listAt(this.#position(key), n);
  }

  /** preferenceList for a position on the ring (a hashOf value), for range computations. */
  preferenceListOfHash(hash: number, n: number): string[] {
    return this.#listAt(positionOf(this.#points, hash), n);
  }

  #position(key: string): number {
    return positionOf(this.#points, ketamaHash(key));
  }

  #listAt(position: number, n: number): string[] {
    const count = this.#checkCount(n);
    if (count * this.#points.length > MAX_CACHED_LIST_ENTRIES) return this.#walk(position, count);
    const lists = (this.#lists[count] ??= new Array<string[] | undefined>(this.#points.length));
    return (lists[position] ??= this.#walk(position, count));
  }

  /** Share of the 2^32 hash space each node owns as primary (for `ringcache ring` / `up` tables). */
  shares(): Map<string, number> {
    const points = this.#points;
    const owned = new Float64Array(this.nodeIds.length);
    const last = points.length - 1;
    // Point 0 owns the wrapping arc (points[last], 2^32) plus [0, points[0]]; every other point i owns
    // (points[i - 1], points[i]], which is empty for the later of two equal points.
    owned[this.#owners[0]!]! += HASH_SPACE - points[last]! + points[0]!;
    for (let i = 1; i <= last; i++) owned[this.#owners[i]!]! += points[i]! - points[i - 1]!;
    return new Map(this.nodeIds.map((id, i) => [id, owned[i]! / HASH_SPACE]));
  }

  /**
   * The ring range a hash falls in: the index of the first point clockwise from it. All keys of a
   * range share one preference list, so replicas can compare ranges (anti-entropy).
   */
  rangeOfHash(hash: number): number {
    return positionOf(this.#points, hash);
  }

  /** How many ranges the ring has (one per point): range numbers are 0 .. rangeCount - 1. */
  get rangeCount(): number {
    return this.#points.length;
  }

  /** preferenceList of every key in `range` (a rangeOfHash value). */
  preferenceListOfRange(range: number, n: number): string[] {
    return this.#listAt(range, n);
  }

  /** Position of a key on the ring (the ketama uint32), for range computations. */
  hashOf(key: string): number {
    return ketamaHash(key);
  }

  /** The sorted point values (a copy): the boundaries where ownership can change. */
  pointValues(): Uint32Array {
    return this.#points.slice();
  }

  #checkCount(n: number): number {
    if (!Number.isInteger(n) || n < 1) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `preference list length is ${n}; it must be a whole number >= 1`,
      );
    }
    return n < this.nodeIds.length ? n : this.nodeIds.length;
  }

  /** hashring.range's walk: from `position` clockwise (wrapping), first `count` distinct owners. */
  #walk(position: number, count: number): string[] {
    const owners = this.#owners;
    const size = owners.length;
    const picked: number[] = [];
    for (let step = 0; step < size && picked.length < count; step++) {
      const i = position + step < size ? position + step : position + step - size;
      const owner = owners[i]!;
      if (!picked.includes(owner)) picked.push(owner);
    }
    return Object.freeze(picked.map((o) => this.nodeIds[o]!)) as string[];
  }
}

function checkMembers(nodeIds: readonly string[]): void {
  if (nodeIds.length === 0) throw new RingCacheError('INVALID_ARGUMENT', 'a ring needs at least one node');
  if (nodeIds.length > MAX_RING_NODES) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `ring has ${nodeIds.length} nodes; at most ${MAX_RING_NODES} are supported`,
    );
  }
  const seen = new Set<string>();
  for (const id of nodeIds) {
    if (id === '') throw new RingCacheError('INVALID_ARGUMENT', 'ring node ids must not be empty');
    // hashring keeps per-server vnodes in a plain object, where '__proto__' reads Object.prototype:
    // that member would silently get no points at all.
    if (id === '__proto__')
      throw new RingCacheError('INVALID_ARGUMENT', "ring node id '__proto__' is reserved");
    if (seen.has(id)) throw new RingCacheError('INVALID_ARGUMENT', `ring node id '${id}' appears twice`);
    seen.add(id);
  }
}
