import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A coordinator's hints live in its memory: when it crashes, a write it coordinated that one
 * replica missed is only on the others. That replica got it only at the next anti-entropy
 * comparison (a minute by default). A node that restarted now compares with every peer as soon as
 * its catch-up ends, from the copies it just pulled.
 */
describe('a coordinator that crashes holding a hint', function () {
  this.timeout(60_000);

  // The simulator's nemesis mix, seed 2665, shrunk from 200 steps: an increment through n1 is
  // acknowledged by n1 and n2 while its accept to n3 is cut; n1 crashes and restarts. On de506b5
  // n3 held nothing once the cluster was quiet (convergence).
  it('reaches the replica that missed the write once the coordinator has restarted', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 0, type: 'op', kind: 'set', key: 'r0', node: 'coordinator', consistency: 'default' },
        { atMs: 97, type: 'pause', node: 'n3' },
        { atMs: 106, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 106, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 344, type: 'cut', from: 'n4', to: 'n2' },
        { atMs: 344, type: 'cut', from: 'n4', to: 'n3' },
        { atMs: 344, type: 'join', node: 'n4', via: 'n1' },
        { atMs: 354, type: 'crash', node: 'n2' },
        { atMs: 406, type: 'heal' },
        { atMs: 567, type: 'restart', node: 'n2' },
        { atMs: 829, type: 'resume', node: 'n3' },
        {
          atMs: 3267,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'coordinator',
          consistency: 'default',
          delta: 1,
        },
        { atMs: 3269, type: 'cut', from: 'n3', to: 'n1' },
        { atMs: 3269, type: 'cut', from: 'n3', to: 'n2' },
        { atMs: 3269, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 3269, type: 'cut', from: 'n2', to: 'n3' },
        { atMs: 3567, type: 'crash', node: 'n1' },
        { atMs: 3622, type: 'heal' },
        { atMs: 3731, type: 'restart', node: 'n1' },
      ],
    };
    const result = await runSchedule(schedule, 2665);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  // The nemesis mix, seed 63830: n5 joins; a set of r2 through n3 is coordinated by n4, acknowledged
  // by n4 and n5 while its copy to n1 is cut; n4 crashes holding the hint and restarts. Its catch-up
  // ended while it still pulled the keys of the ring it learned on the way back (a move-in), and the
  // comparisons asked for then were skipped, not put off: on 2d63c14 n1 held nothing once the cluster
  // was quiet.
  it('reaches the replica that missed the write when the restarted coordinator is still pulling a ring change', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 4, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        {
          atMs: 0,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'coordinator',
          consistency: 'default',
          delta: 1,
        },
        { atMs: 108, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 108, type: 'cut', from: 'n2', to: 'n3' },
        { atMs: 108, type: 'cut', from: 'n4', to: 'n3' },
        { atMs: 114, type: 'crash', node: 'n1' },
        { atMs: 239, type: 'pause', node: 'n2' },
        { atMs: 659, type: 'restart', node: 'n1' },
        { atMs: 1155, type: 'resume', node: 'n2' },
        { atMs: 1294, type: 'cut', from: 'n5', to: 'n3' },
        { atMs: 1294, type: 'join', node: 'n5', via: 'n1' },
        { atMs: 1299, type: 'heal' },
        { atMs: 3367, type: 'op', kind: 'set', key: 'r2', node: 'n3', consistency: 'default' },
        { atMs: 3369, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 3369, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 3369, type: 'cut', from: 'n1', to: 'n4' },
        { atMs: 3369, type: 'cut', from: 'n2', to: 'n1' },
        { atMs: 3369, type: 'cut', from: 'n3', to: 'n1' },
        { atMs: 3369, type: 'cut', from: 'n4', to: 'n1' },
        { atMs: 3659, type: 'crash', node: 'n4' },
        { atMs: 3992, type: 'restart', node: 'n4' },
        { atMs: 4453, type: 'heal' },
      ],
    };
    const result = await runSchedule(schedule, 63830);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
