import fc from 'fast-check';
import type { SimSchedule, SimStep } from './schedule';

/**
 * Calls counted by a node on an out-of-date ring, right after a partition heals: a 2 | 3 split of
 * five nodes in which the majority joins n6 (a legitimate change: three of five members), cut off
 * from the minority. r2's replicas were n4, n1, n5 and became n4, n1, n6. The minority nodes n1 and
 * n2 still hold the first ring until gossip or a replica's answer brings them the new one, and a
 * quorum they count on it may miss a write acknowledged on the new ring, or be missed by a read
 * counted on it. A replica on the newer ring is never counted on the older one (NewerRing).
 */

const cuts = (atMs: number, from: string[], to: string[]): SimStep[] =>
  from.flatMap((a) =>
    to.flatMap((b): SimStep[] => [
      { atMs, type: 'cut', from: a, to: b },
      { atMs, type: 'cut', from: b, to: a },
    ]),
  );

const byTime = (steps: SimStep[]) => [...steps].sort((a, b) => a.atMs - b.atMs);

/** The split, the join of n6 on the majority side at 300 ms, and the heal at 1800 ms. */
const splitAndJoin: SimStep[] = [
  ...cuts(100, ['n1', 'n2'], ['n3', 'n4', 'n5']),
  ...cuts(300, ['n6'], ['n1', 'n2']),
  { atMs: 300, type: 'join', node: 'n6', via: 'n3' },
  { atMs: 1800, type: 'heal' },
];

const cluster = { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 1, antiEntropyMs: 1000 };

/**
 * The read side: a write acknowledged on the new ring by n4 and n6, then a quorum read at n1 right
 * after the heal. Holding n4 for dead, n1 counted n5's empty answer with its own old copy: before
 * replicas said which ring they answer on, seeds 837 and 843 of 830-859 returned the older value.
 */
export function splitStaleRingRead(): fc.Arbitrary<SimSchedule> {
  return fc.integer({ min: 1800, max: 1900 }).map((readAtMs) => ({
    scenario: 'split-stale-ring-read',
    cluster,
    durationMs: 2000,
    steps: byTime([
      ...splitAndJoin,
      { atMs: 161, type: 'op', kind: 'set', key: 'r2', node: 'n1', consistency: 'default' },
      { atMs: 1500, type: 'op', kind: 'set', key: 'r2', node: 'n4', consistency: 'default' },
      { atMs: readAtMs, type: 'op', kind: 'get', key: 'r2', node: 'n1', consistency: 'quorum' },
    ]),
  }));
}

/**
 * The write side: n1 misses the join of n6 (what n2 and n3 send it is lost; gossip from the others
 * brings it the new ring within a few probes) and, still on the old ring, writes r2 at W = 2; a
 * quorum read at n6 on the new ring follows. n1's messages to n4 are slow, so n5, no replica of r2
 * on the new ring, acknowledges the write first, and n6 can count n4's answer without it.
 */
export function staleRingWrite(): fc.Arbitrary<SimSchedule> {
  return fc
    .record({
      writeAtMs: fc.integer({ min: 303, max: 380 }),
      readAfterMs: fc.integer({ min: 2, max: 30 }),
    })
    .map(({ writeAtMs, readAfterMs }) => ({
      scenario: 'stale-ring-write',
      cluster,
      durationMs: 1000,
      steps: byTime([
        { atMs: 50, type: 'op', kind: 'set', key: 'r2', node: 'n4', consistency: 'default' },
        { atMs: 100, type: 'cut', from: 'n2', to: 'n1' },
        { atMs: 100, type: 'cut', from: 'n3', to: 'n1' },
        { atMs: 100, type: 'link', from: 'n1', to: 'n4', dropRate: 0, extraDelayMs: 100 },
        { atMs: 300, type: 'join', node: 'n6', via: 'n3' },
        { atMs: writeAtMs, type: 'op', kind: 'set', key: 'r2', node: 'n1', consistency: 'default' },
        {
          atMs: writeAtMs + readAfterMs,
          type: 'op',
          kind: 'get',
          key: 'r2',
          node: 'n6',
          consistency: 'quorum',
        },
      ]),
    }));
}
