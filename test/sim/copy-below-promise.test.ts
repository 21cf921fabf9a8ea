import { expect } from 'chai';
import { expectFirstIncrementOnce, runHolding, twoIncrements } from './lost-increment';
import { ids, replicasOf } from './workload';

/**
 * A copy of a record that reaches a replica outside a round (read repair here; anti-entropy, a hint,
 * a rebalance alike) carries the requests that made it, which the replica remembers as taken. Not
 * when the replica has promised a higher ballot for the key: the round it promised never read that
 * record and will write over it, so a request of that record, whose round may have missed its
 * quorum, would be counted by one replica too many, and look chosen while no record keeps its effect.
 */
describe('a copy of a record below a ballot the replica promised', function () {
  this.timeout(60_000);

  // c0 on n1, n3, n2. The increment of 1 at n1 is prepared with n2 and n3, whose links from n1 are
  // cut before the accept: n1 alone takes it (its round misses W = 2). The increment of 2 at n3 is
  // prepared with n2 (n1's answers no longer reach n3), and its accepts go out 100 ms late. Meanwhile
  // a get at n2 hears n1 first and repairs n2 with n1's record and the first increment's request.
  // The first increment's retry, through n2, met n2 and n1 both remembering it: on 91c8123 it was
  // answered as applied, and the counter ended at 2, an acknowledged increment lost.
  it('remembers its requests only as heard of, so a retry is never answered as applied', async () => {
    expect(replicasOf('c0', ids(3), 3)).to.deep.equal(['n1', 'n3', 'n2']);
    const schedule = twoIncrements(
      [],
      [
        // Between the prepare's delivery at n2 and n3 and the accept's.
        { atMs: 100.9, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 100.9, type: 'cut', from: 'n1', to: 'n2' },
        { atMs: 300, type: 'heal' },
        { atMs: 300, type: 'cut', from: 'n1', to: 'n3' },
      ],
      [
        // After the prepare reached n2: the accepts wait.
        { atMs: 2201, type: 'link', from: 'n3', to: 'n2', dropRate: 0, extraDelayMs: 100 },
        { atMs: 2201, type: 'link', from: 'n3', to: 'n1', dropRate: 0, extraDelayMs: 100 },
        { atMs: 2205, type: 'op', kind: 'get', key: 'c0', node: 'n2', consistency: 'quorum' },
        { atMs: 2600, type: 'heal' },
      ],
    );
    // Before the second increment, the first is on n1 alone; once the get is answered, n2 holds its
    // record too (the repair).
    const { result, holders } = await runHolding(schedule, 'c0', [2150, 2250]);
    expect(holders.get(2150), 'the replicas holding the first increment').to.deep.equal(['n1']);
    expect(holders.get(2250), 'the replicas holding it after the read repair').to.deep.equal(['n1', 'n2']);
    expect(result.history[2], 'the get').to.include({ status: 'ok', found: true });
    expectFirstIncrementOnce(result, 'c0');
  });
});
