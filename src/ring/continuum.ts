import HashRing from 'hashring';

/**
 * The ring's points, taken from hashring's own continuum so placement is hashring's by construction.
 *
 * How hashring 3.2 builds it (node_modules/hashring/index.js `continuum()`): every member has weight 1,
 * so with the `vnode count` option v each member gets `floor((1 / n) * v * n)` md5 digests of
 * `"<id>-<i>"`, and each digest gives 4 points (ketama's "4 replicas per hash": digest bytes 0-3, 4-7,
 * 8-11, 12-15, each little-endian). So vnodes 160 means 640 points per node. The floor is computed in
 * floating point, so for some member counts it loses one digest: 7 nodes x 160 vnodes gives 159
 * digests (636 points) per node. Harmless, because everyone (nodes, SDK) builds the ring from the same
 * hashring code; never recompute points by hand. Points are sorted by value with a stable sort, so
 * equal values (an md5 collision in 32 bits: rare but possible) keep insertion order.
 */
export interface Continuum {
  /** Sorted point values on the uint32 circle. */
  readonly points: Uint32Array;
  /** owners[i] indexes nodeIds: the member that placed points[i]. */
  readonly owners: Uint16Array;
}

/** Upper bound on members, so owner indexes fit a Uint16Array. */
export const MAX_RING_NODES = 65535;

/** The parts of hashring we read that @types/hashring does not declare (tests use find and hashValue). */
export interface HashRingInternals {
  ring: { value: number; server: string }[];
  find(hash: number): number;
  hashValue(key: string): number;
}

export function internalsOf(ring: HashRing): HashRingInternals {
  return ring as unknown as HashRingInternals;
}

/** hashring configured as Ring uses it: md5 (ketama), `vnode count` digests per member. */
export function newHashRing(nodeIds: readonly string[], vnodes: number): HashRing {
  return new HashRing([...nodeIds], 'md5', { 'vnode count': vnodes });
}

export function buildContinuum(nodeIds: readonly string[], vnodes: number): Continuum {
  const indexOf = new Map(nodeIds.map((id, i) => [id, i]));
  const entries = internalsOf(newHashRing(nodeIds, vnodes)).ring;
  const points = new Uint32Array(entries.length);
  const owners = new Uint16Array(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i]!;
    points[i] = entry.value;
    owners[i] = indexOf.get(entry.server)!;
  }
  return { points, owners };
}

/**
 * Index of the point that owns `hash`: the first point >= hash, wrapping to 0 past the last point.
 *
 * This is what hashring's `find()` returns. Its loop tests `hash <= ring[mid] && hash > ring[mid - 1]`
 * (with 0 standing in for ring[-1]) and otherwise narrows with `high = mid - 1`; by induction the
 * first index with ring[i] >= hash never leaves [low, high], so it returns exactly that index, and 0
 * when none exists (hash past the last point) or when hash is 0 (its `hash > 0` test fails at mid 0,
 * and 0 is the lower bound anyway). With equal point values it returns the first of them.
 * test/unit/ring/continuum.test.ts checks this against hashring.find on every point, its neighbours,
 * 0 and 2^32 - 1.
 */
export function positionOf(points: Uint32Array, hash: number): number {
  let low = 0;
  let high = points.length; // exclusive
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (points[mid]! < hash) low = mid + 1;
    else high = mid;
  }
  return low === points.length ? 0 : low;
}
