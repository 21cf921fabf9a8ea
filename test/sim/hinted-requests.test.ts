import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A hint carries the requests whose accept made its record, and the replica it reaches remembers
 * them with the record. Before, a hint was a plain copy: the replica held the record of a round
 * that missed its quorum without knowing which request made it, and a retry of that request whose
 * prepare heard first from it applied the request a second time.
 */
describe('a record that reaches a replica by a hint', function () {
  this.timeout(60_000);

  // The simulator's nemesis mix, seed 953, shrunk from 163 steps: n1 is cut off and n5 paused, so
  // the round of an increment (+4) through n3 is taken by n3 and by stand-ins for n1 and n5 only,
  // and misses its quorum. The stand-ins hand the record (6) to n1 and n5 once they are back. The
  // increment's retry through n1 heard first from n5, which held 6 but did not know the request,
  // and applied it again: on 36cf336 the counter ended at 10 for 6 acknowledged.
  it('brings the requests that made it, so that a retry is not applied twice', async () => {
    const incr = { type: 'op', kind: 'incr', forwarded: true } as const;
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        ...['n2', 'n3', 'n4', 'n5'].map((from) => ({ atMs: 536, type: 'cut' as const, from, to: 'n1' })),
        {
          ...incr,
          atMs: 644,
          key: 'c1',
          node: 'n3',
          consistency: 'quorum',
          delta: 2,
          copies: 1,
          retryAfterMs: 4,
        },
        { atMs: 646, type: 'op', kind: 'cas', key: 'r0', node: 'n3', consistency: 'default' },
        { atMs: 868, type: 'pause', node: 'n5' },
        {
          ...incr,
          atMs: 902,
          key: 'c0',
          node: 'n1',
          consistency: 'default',
          delta: 5,
          copies: 0,
          retryAfterMs: 5,
        },
        { atMs: 1576, type: 'op', kind: 'set', key: 'r3', node: 'coordinator', consistency: 'one' },
        {
          ...incr,
          atMs: 1681,
          key: 'c1',
          node: 'n3',
          consistency: 'default',
          delta: 4,
          copies: 1,
          retryAfterMs: 1,
        },
        {
          atMs: 1725,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'coordinator',
          consistency: 'quorum',
          delta: 2,
        },
        { atMs: 1727, type: 'heal' },
        { atMs: 1759, type: 'resume', node: 'n5' },
        { atMs: 1916, type: 'op', kind: 'get', key: 'r0', node: 'coordinator', consistency: 'all' },
      ],
    };
    const result = await runSchedule(schedule, 953);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
