import type { Ring } from './ring';

const HASH_SPACE = 2 ** 32;

export interface MovedRange {
  /**
   * The range is (start, end] on the uint32 circle. start > end means it wraps past 2^32 - 1 to 0;
   * start === end means the whole circle (only when every key's list changed, e.g. n1 -> n2).
   */
  start: number;
  end: number;
  /** Preference list of keys in the range on the `before` ring, then on the `after` ring. */
  before: string[];
  after: string[];
}

/**
 * Key ranges whose preference list of n nodes differs between two rings (what moves when a node
 * joins or leaves). Lists are compared in order, so a range whose replicas stay the same but whose
 * coordinator changes is reported too; on a single join or leave that cannot happen (adding or
 * removing one member's points never reorders the others), so there every reported range has a
 * member that gains keys (in `after`, not `before`) or loses them.
 *
 * Why it is exact: a key's list depends only on the first point >= its hash on each ring. Between
 * two consecutive boundaries of the merged point sets, (b[k-1], b[k]], that point is the same on both
 * rings for every hash, so each such interval is checked once, at b[k]. The interval crossing 0,
 * (b[last], 2^32) + [0, b[0]], lands on both rings' point 0, like b[0]. Adjacent intervals with equal
 * lists are merged; the result is in circle order starting after the largest boundary.
 */
export function ownershipDiff(before: Ring, after: Ring, n: number): MovedRange[] {
  const bounds = mergedBoundaries(before.pointValues(), after.pointValues());
  const ranges: MovedRange[] = [];
  let prev = bounds[bounds.length - 1]!; // the interval ending at bounds[0] starts at the largest boundary
  for (const end of bounds) {
    const was = before.preferenceListOfHash(end, n);
    const now = after.preferenceListOfHash(end, n);
    if (!sameList(was, now)) {
      const last = ranges[ranges.length - 1];
      if (last && last.end === prev && sameList(last.before, was) && sameList(last.after, now))
        last.end = end;
      else ranges.push({ start: prev, end, before: [...was], after: [...now] });
    }
    prev = end;
  }
  joinAcrossZero(ranges);
  return ranges;
}

/** Fraction of the hash space that moved: the ranges' total width / 2^32. */
export function movedShare(diff: MovedRange[]): number {
  let width = 0;
  for (const r of diff) width += r.start === r.end ? HASH_SPACE : (r.end - r.start + HASH_SPACE) % HASH_SPACE;
  return width / HASH_SPACE;
}

/** True when hash lies in (start, end] on the circle. */
export function rangeContains(range: Pick<MovedRange, 'start' | 'end'>, hash: number): boolean {
  const { start, end } = range;
  if (start === end) return true;
  return start < end ? hash > start && hash <= end : hash > start || hash <= end;
}

/** Sorted, de-duplicated union of two sorted point arrays. */
function mergedBoundaries(a: Uint32Array, b: Uint32Array): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const next = j >= b.length || (i < a.length && a[i]! <= b[j]!) ? a[i++]! : b[j++]!;
    if (out.length === 0 || out[out.length - 1] !== next) out.push(next);
  }
  return out;
}

/**
 * The first range starts at the largest boundary and the last ends there; if both moved the same way
 * they are one range across 0. If they then cover the circle, start === end says so.
 */
function joinAcrossZero(ranges: MovedRange[]): void {
  if (ranges.length < 2) return;
  const first = ranges[0]!;
  const last = ranges[ranges.length - 1]!;
  if (last.end === first.start && sameList(first.before, last.before) && sameList(first.after, last.after)) {
    first.start = last.start;
    ranges.pop();
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
