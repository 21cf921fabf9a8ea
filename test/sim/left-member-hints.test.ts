import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A write counted on the ring before a leave, and completed after the new replicas pulled the key
 * from the others, reached none of them: its hint for the member that left was dropped, and the
 * new replica lacked the key until anti-entropy. A hint for a member that left now goes to the key's
 * replicas on the new ring.
 */
describe('a write whose replica leaves while it runs', function () {
  this.timeout(60_000);

  // The simulator's nemesis mix, seed 2021, shrunk from 200 steps: four nodes, N=3, W=2; n1 pauses
  // and is made to leave, n3 crashes and restarts, while an increment through n4 runs on the old
  // ring. On a4de7a6 the new replica n2 held nothing once the cluster was quiet (convergence).
  it("reaches the key's replicas on the new ring", async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 4, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 4386, type: 'pause', node: 'n1' },
        { atMs: 4387, type: 'crash', node: 'n3' },
        { atMs: 4390, type: 'leave', node: 'n1', via: 'n4' },
        {
          atMs: 4455,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n4',
          consistency: 'quorum',
          delta: 1,
          forwarded: true,
          copies: 0,
          retryAfterMs: 4,
        },
        { atMs: 4491, type: 'restart', node: 'n3' },
        { atMs: 5167, type: 'resume', node: 'n1' },
      ],
    };
    const result = await runSchedule(schedule, 2021);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
