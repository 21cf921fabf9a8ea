import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule, WARMUP_MS, type SimResult } from './run';
import type { SimSchedule } from './schedule';

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
