import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A get is forwarded to a key's replica on the sender's ring. When that ring is older than the
 * receiver's, the receiver may be no replica of the key at all (it left the ring): its own copy was
 * kept up to date by no write, and must not answer alone.
 */
describe('a get forwarded to a node that is no replica of its key on its own ring', function () {
  this.timeout(60_000);

  // The nemesis mix, seed 104152, shrunk to 20 steps: five nodes; r3 set at ALL on n3 and two
  // others; n3 crashes, leaves the ring through n1, and restarts empty (it learns it left); n4
  // crashes and restarts on its configured ring (n3 still in it) behind slow links, and a get at
  // ONE sent to n4 right then goes to n3, r3's first replica on that ring. On 2d63c14 n3 answered
  // "not found" from its own empty store.
  it('reads it from the replicas on its ring, and finds the value set at ALL', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 5, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 0, type: 'op', kind: 'set', key: 'r3', node: 'coordinator', consistency: 'all' },
        {
          atMs: 0,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'coordinator',
          consistency: 'default',
          delta: 1,
        },
        { atMs: 196, type: 'cut', from: 'n1', to: 'n5' },
        { atMs: 196, type: 'cut', from: 'n2', to: 'n5' },
        { atMs: 196, type: 'cut', from: 'n3', to: 'n5' },
        { atMs: 196, type: 'cut', from: 'n4', to: 'n5' },
        { atMs: 950, type: 'crash', node: 'n3' },
        { atMs: 1064, type: 'pause', node: 'n2' },
        { atMs: 1066, type: 'leave', node: 'n3', via: 'n1' },
        { atMs: 1166, type: 'restart', node: 'n3' },
        { atMs: 1395, type: 'heal' },
        { atMs: 1647, type: 'resume', node: 'n2' },
        { atMs: 4166, type: 'crash', node: 'n4' },
        { atMs: 4166, type: 'link', from: 'n1', to: 'n4', dropRate: 0, extraDelayMs: 300 },
        { atMs: 4166, type: 'link', from: 'n2', to: 'n4', dropRate: 0, extraDelayMs: 300 },
        { atMs: 4166, type: 'link', from: 'n3', to: 'n4', dropRate: 0, extraDelayMs: 300 },
        { atMs: 4166, type: 'link', from: 'n5', to: 'n4', dropRate: 0, extraDelayMs: 300 },
        { atMs: 4847, type: 'restart', node: 'n4' },
        { atMs: 4847, type: 'op', kind: 'get', key: 'r3', node: 'n4', consistency: 'one' },
        { atMs: 5639, type: 'heal' },
      ],
    };
    const result = await runSchedule(schedule, 104152);
    const get = result.history.find((e) => e.kind === 'get');
    expect(get, 'the get').to.include({ status: 'ok', found: true });
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
