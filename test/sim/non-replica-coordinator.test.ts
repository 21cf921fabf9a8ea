import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A node that coordinates a key it is no replica of (it left the ring, and a node that still held
 * the older ring forwarded a call to it) took none of the writes acknowledged on the ring: its own
 * copy is no read of the prepare. Counted as one, a prepare that heard a single replica, which had
 * taken nothing either, wrote over an increment two other replicas had taken.
 */
describe('a read-modify-write coordinated by a node that is no replica of its key', function () {
  this.timeout(60_000);

  // The simulator's nemesis mix, seed 40345, shrunk from 200 steps to 15. n3 is paused before n1
  // leaves (through n4); n1 restarts. An increment of c0 (+3) through n4 is taken by n4 and n5. n3
  // resumes on its old ring and forwards an increment (+2) to n1, whose prepare counted its own empty
  // copy and n3's answer (nothing) as the two reads it needs, and wrote 2 over 8 at a higher
  // version: on c62e0d6 the counter ended 3 below the acknowledged increments.
  it('counts only replicas among the reads of its prepare', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 104, type: 'cut', from: 'n3', to: 'n4' },
        { atMs: 716, type: 'heal' },
        { atMs: 3456, type: 'pause', node: 'n3' },
        { atMs: 3646, type: 'op', kind: 'cas', key: 'r3', node: 'n4', consistency: 'all' },
        { atMs: 3852, type: 'crash', node: 'n1' },
        { atMs: 3955, type: 'op', kind: 'set', key: 'r3', node: 'n4', consistency: 'one' },
        {
          atMs: 4194,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n4',
          consistency: 'default',
          delta: 5,
          forwarded: true,
          copies: 0,
          retryAfterMs: 40,
        },
        { atMs: 4221, type: 'op', kind: 'cas', key: 'r3', node: 'n3', consistency: 'quorum' },
        {
          atMs: 4278,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'coordinator',
          consistency: 'quorum',
          delta: 2,
        },
        { atMs: 4310, type: 'leave', node: 'n1', via: 'n4' },
        { atMs: 4318, type: 'op', kind: 'get', key: 'r0', node: 'coordinator', consistency: 'default' },
        { atMs: 4529, type: 'restart', node: 'n1' },
        { atMs: 4784, type: 'op', kind: 'set', key: 'r0', node: 'n2', consistency: 'all' },
        {
          atMs: 5018,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n4',
          consistency: 'quorum',
          delta: 3,
          forwarded: true,
          copies: 0,
          retryAfterMs: 1,
        },
        { atMs: 5188, type: 'resume', node: 'n3' },
      ],
    };
    const result = await runSchedule(schedule, 40345);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
