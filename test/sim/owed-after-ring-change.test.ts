import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule, WARMUP_MS, type SimResult } from './run';
import type { SimSchedule, SimStep } from './schedule';
import { ids, replicasOf } from './workload';

/**
 * A node that restarted empty, and took a peer for dead during its catch-up, owes that peer a pull:
 * until it has pulled, its own copy of a key that peer replicates counts in no quorum, since the peer
 * may hold the only other copy of a write acknowledged before the restart. A ring change can move
 * such a key off the owed peer before the pull: its own reads must still not count its copy, as its
 * answers to its peers' reads do not (CatchUpState.mayLack), whatever ring the key has now.
 *
 * N=2, W=2, R=1. r2 is on n1, n2 before n4 joins, and on n4, n1 after. n1 and n2 take the set; n2
 * is cut off from everyone; n1 restarts empty, its catch-up skips n2 (owed); n4 joins through n3,
 * and its catch-up and move-in skip n2 too. A cut loses messages: every pull from n2 waits out its
 * 10 s deadline. The get at n1 comes once n1 catches up no more, and while n4 still does (it holds
 * no vote then): it may fail (QUORUM_NOT_MET, which its caller retries), never find nothing.
 */
describe('a restarted node that owes a pull, after a ring change moved the key', function () {
  this.timeout(120_000);

  /** The run, and the state of n1 and n4 just before the get. */
  async function run(
    joinAtMs: number,
    getAtMs: number,
    getAt: 'n1' | 'n4' = 'n1',
  ): Promise<[SimResult, Record<string, unknown>]> {
    expect(replicasOf('r2', ids(3), 2)).to.deep.equal(['n1', 'n2']);
    expect(replicasOf('r2', ids(4), 2)).to.deep.equal(['n4', 'n1']);
    const isolateN2 = (atMs: number): SimStep[] =>
      ['n1', 'n3', 'n4'].flatMap((other): SimStep[] => [
        { atMs, type: 'cut', from: 'n2', to: other },
        { atMs, type: 'cut', from: other, to: 'n2' },
      ]);
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 3, factor: 2, writeQuorum: 2, readQuorum: 1 },
      durationMs: 30_000,
      steps: [
        { atMs: 0, type: 'op', kind: 'set', key: 'r2', node: 'coordinator', consistency: 'default' },
        ...isolateN2(100),
        { atMs: 200, type: 'crash', node: 'n1' },
        // n1's catch-up learns the ring (2 s: n2 does not answer) and waits out its pull from n2.
        { atMs: 300, type: 'restart', node: 'n1' },
        { atMs: joinAtMs, type: 'join', node: 'n4', via: 'n3' },
        { atMs: getAtMs, type: 'op', kind: 'get', key: 'r2', node: getAt, consistency: 'default' },
      ],
    };
    let beforeGet: Record<string, unknown> = {};
    const result = await runSchedule(schedule, 5, (cluster) => {
      cluster.time.at(cluster.time.now() + WARMUP_MS + getAtMs - 1, '<world>', () => {
        const n1 = cluster.core('n1')!;
        beforeGet = {
          n1Owes: [...n1.owedPeers],
          n1Epoch: n1.topology.epoch,
          n1CatchingUp: n1.catchingUp,
          n4CatchingUp: cluster.core('n4')?.catchingUp,
          n4Owes: [...(cluster.core('n4')?.owedPeers ?? [])],
        };
      });
    });
    return [result, beforeGet];
  }

  function expectSetSeenOrRefused(result: SimResult): void {
    const [set, get] = result.history;
    expect(set, 'the set').to.include({ kind: 'set', status: 'ok' });
    expect(get?.ringEpoch, 'the ring the get ran on').to.equal(2);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    if (get?.status === 'ok') expect(get, 'the get').to.include({ found: true, readValue: set!.value });
  }

  // n2 is owed at 13.3 s; n4 joins at 15 s; n1's move-in waits out its pull from n2 until 25 s,
  // n4's catch-up until 28 s. On 2eb9c5a the get counted n1's empty copy alone (n2, which it owes,
  // is no replica of r2 on the new ring) and found nothing.
  it('never answers a get from its own copy alone: the get finds the set or is refused', async () => {
    const [result, beforeGet] = await run(15_000, 27_000);
    expect(beforeGet, 'just before the get').to.deep.equal({
      n1Owes: ['n2'],
      n1Epoch: 2,
      n1CatchingUp: false,
      n4CatchingUp: true,
      // n4 takes its senders' debts when its catch-up ends: until then its copies count nowhere.
      n4Owes: [],
    });
    expectSetSeenOrRefused(result);
  });

  // n4 joins at 5 s, while n1's catch-up still waits on n2: n2 is owed at 13.3 s, when the ring is
  // the new one, on which n2 is no replica of r2. n1's move-in ends at 15 s, n4's catch-up at 18 s.
  // Before, n1 took the new ring for the ring n2 was owed on, and counted its empty copy alone.
  it('owes the peer the keys of the ring its catch-up pulled on, though a join came meanwhile', async () => {
    const [result, beforeGet] = await run(5000, 16_000);
    expect(beforeGet, 'just before the get').to.deep.equal({
      n1Owes: ['n2'],
      n1Epoch: 2,
      n1CatchingUp: false,
      n4CatchingUp: true,
      n4Owes: [],
    });
    expectSetSeenOrRefused(result);
  });

  // Once n4's catch-up has ended too (28 s), neither n1 nor n4 may count its copy of r2: n4 took
  // r2's copies from n1, which owes n2 the pull of the write that n2 alone holds now.
  for (const getAt of ['n1', 'n4'] as const) {
    it(`keeps the debt on the node that took the key from it: a get at ${getAt} after both caught up`, async () => {
      const [result, beforeGet] = await run(15_000, 29_000, getAt);
      expect(beforeGet, 'just before the get').to.deep.include({
        n1Owes: ['n2'],
        n1Epoch: 2,
        n1CatchingUp: false,
        n4CatchingUp: false,
        n4Owes: ['n2'],
      });
      expectSetSeenOrRefused(result);
    });
  }
});
