import { expect } from 'chai';
import { expectFirstIncrementOnce, runHolding, twoIncrements } from './lost-increment';
import { ids, replicasOf } from './workload';

/**
 * A replica that catches up learns, with the records, which read-modify-writes its peers remember,
 * so that it answers their retries as they were answered. It must not count itself as one of the
 * replicas that took a request whose record it does not end up holding: that request's round may
 * have missed its quorum and been written over by a round that never read it, and counted once more,
 * it looks chosen, so its retry is answered as applied while no record holds its effect.
 */
describe('a replica that catches up from a peer remembering a request whose record was replaced', function () {
  this.timeout(60_000);

  // c0 on n1, n3, n2; n1 and n2 hear nothing from each other until 2,400 ms. The increment of 1 at
  // n1 is prepared with n3, whose link from n1 is cut just before the accept: n1 alone takes it
  // (its round misses W = 2). The increment of 2 at n3 is prepared with n2 (n1's answers no longer
  // reach n3): it never reads n1's record, and replaces it. n2 then restarts and catches up from n1,
  // which remembers the first increment. Its retry, sent through n2, met n2 and n1 both remembering
  // it: on 1364cc1 it was answered as applied, and the counter ended at 2, an acknowledged increment
  // lost.
  it('remembers it only as heard of, so its retry is never answered as applied', async () => {
    expect(replicasOf('c0', ids(3), 3)).to.deep.equal(['n1', 'n3', 'n2']);
    const schedule = twoIncrements(
      [
        { atMs: 0, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 0, type: 'cut', from: 'n2', to: 'n1' },
      ],
      // Between the prepare's delivery at n3 and the accept's.
      [{ atMs: 102.39, type: 'cut', from: 'n1', to: 'n3' }],
      [
        { atMs: 2400, type: 'heal' },
        { atMs: 2500, type: 'crash', node: 'n2' },
        { atMs: 2600, type: 'restart', node: 'n2' },
      ],
    );
    // Before the second increment: the first is on n1 alone (its round missed its quorum).
    const { result, holders } = await runHolding(schedule, 'c0', [2150]);
    expect(holders.get(2150), 'the replicas holding the first increment').to.deep.equal(['n1']);
    // The first increment's round did miss its quorum there, and was written over.
    expectFirstIncrementOnce(result, 'c0');
  });
});
