import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule, SimStep } from './schedule';

/**
 * A replica remembers the read-modify-writes it accepted (their request ids and outcomes), so that a
 * retry of one is answered with its first outcome. A replica that restarts loses that memory with its
 * store; its catch-up brings the store back from its peers, and must bring back what they remember
 * of its keys' requests too. Otherwise its "unknown" answers the retry's prepare, and the increment
 * is applied twice.
 */
describe('a replica that restarted, asked about a request it had accepted', function () {
  this.timeout(120_000);

  // N=3, W=2, R=2. n1 is cut off; an increment coordinated at n1 waits there. The increment of 2
  // coordinated at n3 is accepted by n2 and acknowledged; its retry waits at n1 too. After the heal
  // n2 restarts, and the retry's prepare at n1 asks n2 (the one other answer it needs) whether it
  // holds the request's outcome.
  const cut = (a: string, b: string): SimStep[] => [
    { atMs: 0, type: 'cut', from: a, to: b },
    { atMs: 0, type: 'cut', from: b, to: a },
  ];
  const schedule: SimSchedule = {
    scenario: 'nemesis-mix',
    cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 },
    durationMs: 3000,
    steps: [
      ...cut('n1', 'n2'),
      ...cut('n1', 'n3'),
      {
        atMs: 10,
        type: 'op',
        kind: 'incr',
        key: 'c0',
        node: 'n1',
        consistency: 'default',
        delta: 1,
        forwarded: true,
      },
      {
        atMs: 20,
        type: 'op',
        kind: 'incr',
        key: 'c0',
        node: 'n3',
        consistency: 'default',
        delta: 2,
        forwarded: true,
        copies: 1,
        retryAfterMs: 1,
      },
      { atMs: 500, type: 'heal' },
      { atMs: 600, type: 'crash', node: 'n2' },
      { atMs: 700, type: 'restart', node: 'n2' },
    ],
  };

  it('counts the increment once, whatever the network does (20 seeds)', async () => {
    const failed: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runSchedule(schedule, seed);
      if (result.violations.length > 0) failed.push(`seed ${seed}: ${formatViolations(result.violations)}`);
    }
    expect(failed, failed.join('\n')).to.deep.equal([]);
  });
});
