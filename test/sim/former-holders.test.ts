import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * While a node pulls the keys a ring change gave it, its reads and read-modify-writes ask the keys'
 * former holders too (copy-holders.ts): they may hold a copy it has not received yet. Their answers
 * must add copies, not votes: a former holder took none of the writes acknowledged on the new ring.
 * Counted as votes, they made up a prepare's quorum without the replica that held the counter's
 * latest value, and the round wrote over an acknowledged increment.
 */
describe('a read-modify-write while its coordinator pulls a ring change', function () {
  this.timeout(60_000);

  // The simulator's nemesis mix, seed 1803, shrunk from 124 operations: five nodes, N=3, W=2; n2
  // loses its links to n4 and n5 and from n1 and n3; n3 crashes and restarts; n4 leaves; increments
  // of c0 through n1 and n3 at quorum. On 082aaa2 the final counter was 3, with 7 acknowledged.
  it("counts only the key's replicas toward its quorum: no acknowledged increment is lost", async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 72, type: 'op', kind: 'set', key: 'r0', node: 'coordinator', consistency: 'default' },
        { atMs: 108, type: 'cut', from: 'n2', to: 'n4' },
        { atMs: 108, type: 'cut', from: 'n2', to: 'n5' },
        { atMs: 108, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 108, type: 'cut', from: 'n3', to: 'n2' },
        { atMs: 175, type: 'op', kind: 'get', key: 'r2', node: 'n1', consistency: 'quorum' },
        { atMs: 430, type: 'crash', node: 'n3' },
        { atMs: 513, type: 'leave', node: 'n4', via: 'n1' },
        { atMs: 730, type: 'restart', node: 'n3' },
        {
          atMs: 790,
          type: 'op',
          kind: 'incr',
          key: 'c1',
          node: 'n1',
          consistency: 'quorum',
          delta: 1,
          forwarded: true,
          copies: 0,
          retryAfterMs: 37,
        },
        { atMs: 1305, type: 'heal' },
        {
          atMs: 1440,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n1',
          consistency: 'quorum',
          delta: 4,
          forwarded: true,
          copies: 0,
          retryAfterMs: 27,
        },
        { atMs: 1452, type: 'op', kind: 'set', key: 'r0', node: 'coordinator', consistency: 'default' },
        {
          atMs: 1452,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n3',
          consistency: 'quorum',
          delta: 3,
          forwarded: true,
          copies: 0,
          retryAfterMs: 3,
        },
      ],
    };
    const result = await runSchedule(schedule, 1803);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
