import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';
import { replicasOf } from './workload';

/**
 * A delete coordinated by a replica that evicted the key: its store, full of live values, keeps no
 * tombstone for a key it does not hold (a delete takes no memory from live data). The delete must
 * still reach the key's other replicas, which hold the value. Before the fix the coordinator, having
 * kept nothing it could send, sent nothing, and acknowledged a delete that every other replica
 * missed (the eviction scenario's seeds 186 and 436, where a cas then succeeded on the version the
 * delete had replaced).
 */
describe('a delete of a key its coordinator evicted', function () {
  this.timeout(120_000);

  it('reaches the replicas that hold the value, so a read at ALL finds nothing after it', async () => {
    const coordinator = replicasOf('r1', ['n1', 'n2', 'n3'], 3)[0]!;
    const schedule: SimSchedule = {
      scenario: 'eviction',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, maxMemoryBytes: 32 * 1024 },
      durationMs: 1000,
      steps: [
        { atMs: 0, type: 'op', kind: 'set', key: 'r1', node: 'coordinator', consistency: 'all' },
        // 300 small values on the coordinator alone, more than it holds: r1, its least recently
        // used value, is evicted, and too little room is left for a tombstone.
        { atMs: 100, type: 'fill', node: coordinator, count: 300, bytes: 16 },
        { atMs: 200, type: 'op', kind: 'delete', key: 'r1', node: 'coordinator', consistency: 'all' },
        { atMs: 300, type: 'op', kind: 'get', key: 'r1', node: 'coordinator', consistency: 'all' },
      ],
    };
    const result = await runSchedule(schedule, 1);
    const [set, del, get] = result.history;
    expect(result.final.evictions?.map((e) => `${e.node} ${e.key}`)).to.include(`${coordinator} r1`);
    expect(set, 'the set').to.include({ kind: 'set', status: 'ok' });
    expect(del, 'the delete').to.include({ kind: 'delete', status: 'ok' });
    expect(get, 'the get').to.include({ kind: 'get', status: 'ok', found: false });
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });
});
