import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule, WARMUP_MS, type SimResult } from './run';
import type { SimSchedule } from './schedule';

type Step = SimSchedule['steps'][number];

const increment = (
  atMs: number,
  node: string,
  delta: number,
  resent: { copies?: number; retryAfterMs?: number } = {},
): Step => ({
  atMs,
  type: 'op',
  kind: 'incr',
  key: 'c0',
  node,
  consistency: 'default',
  delta,
  forwarded: true,
  ...resent,
});

/**
 * The schedule these tests share, in the nemesis mix's 3-node cluster at W = R = 2 (c0 on n1, n3,
 * n2): `before`, the increment of 1 at n1 at 100 ms (sent again 2,800 ms later), `between`, the
 * increment of 2 at n3 at 2,200 ms, then `after`.
 */
export function twoIncrements(before: Step[], between: Step[], after: Step[]): SimSchedule {
  return {
    scenario: 'nemesis-mix',
    cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
    durationMs: 7000,
    steps: [
      ...before,
      increment(100, 'n1', 1, { copies: 1, retryAfterMs: 2800 }),
      ...between,
      increment(2200, 'n3', 2),
      ...after,
    ],
  };
}

/**
 * What the crafted schedules of an increment whose round missed its quorum share: the run, which
 * nodes held a record of `key` at given instants (ms after the warm-up, as the steps count them),
 * and the end every such schedule must reach, the increment of 2 acknowledged and the first one
 * counted once if it was acknowledged, not at all if its caller was told it may not have been.
 */
export async function runHolding(
  schedule: SimSchedule,
  key: string,
  atMs: readonly number[],
): Promise<{ result: SimResult; holders: Map<number, string[]> }> {
  const holders = new Map<number, string[]>();
  const result = await runSchedule(schedule, 1, (cluster) => {
    for (const t of atMs)
      cluster.time.at(cluster.time.now() + WARMUP_MS + t, '<world>', () =>
        holders.set(
          t,
          cluster.ids().filter((id) => cluster.core(id)?.store.readRecord(key)),
        ),
      );
  });
  return { result, holders };
}

/** The first two entries of the history are the increments of 1 and of 2 of `key`. */
export function expectFirstIncrementOnce(result: SimResult, key: string): void {
  const [first, second] = result.history;
  expect(second, 'the increment of 2').to.include({ kind: 'incr', status: 'ok' });
  expect(result.final.counters.get(key), 'the final counter').to.equal(first!.status === 'ok' ? 3 : 2);
  expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
}
