import { expect } from 'chai';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';

/**
 * A node that heard from no peer for longer than failure detection takes may have missed a ring
 * change: its peers took it for dead, a join moved its keys, and writes were acknowledged on the new
 * ring. Until a peer confirms its ring (ring-contact.ts), its own copy counts in no quorum: a read at
 * R = 1 asks the other replicas, whose answers carry the newer ring, which it fetches and reads on.
 */
describe('a node that missed a ring change while it heard from no peer', function () {
  this.timeout(120_000);

  // n1 hears nothing from n2 and n3 from 592 ms (its own messages still go out) and is paused from
  // 970 ms; n4 joins through n3 meanwhile, and a set at ALL is acknowledged on the new ring, where
  // n1 replicates r1 no more. The get sent to n1 at R = 1 runs when it resumes. On 2d63c14 it found
  // nothing, answered from n1's copy on its old ring.
  it('reads at R = 1 what a write at W = N acknowledged on the ring it missed', async () => {
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 7000,
      steps: [
        { atMs: 592, type: 'cut', from: 'n2', to: 'n1' },
        { atMs: 592, type: 'cut', from: 'n3', to: 'n1' },
        { atMs: 945, type: 'join', node: 'n4', via: 'n3' },
        { atMs: 970, type: 'pause', node: 'n1' },
        { atMs: 1123, type: 'op', kind: 'set', key: 'r1', node: 'coordinator', consistency: 'all' },
        { atMs: 1279, type: 'op', kind: 'get', key: 'r1', node: 'n1', consistency: 'one' },
        { atMs: 1320, type: 'heal' },
        { atMs: 1704, type: 'resume', node: 'n1' },
      ],
    };
    const result = await runSchedule(schedule, 62337);
    const [set, get] = result.history;
    expect(set, 'the set').to.include({ kind: 'set', status: 'ok' });
    expect(get, 'the get').to.include({ kind: 'get', status: 'ok', found: true, readValue: set!.value });
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
  });

  it('is never the case in a cluster without faults: every node counts its own copy throughout', async () => {
    const schedule: SimSchedule = {
      scenario: 'happy',
      cluster: { nodes: 4, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 20_000,
      steps: [{ atMs: 5000, type: 'op', kind: 'set', key: 'r1', node: 'coordinator', consistency: 'all' }],
    };
    const unconfirmed: string[] = [];
    let samples = 0;
    await runSchedule(schedule, 7, (cluster) => {
      const sample = () => {
        samples++;
        for (const id of cluster.ids()) {
          if (cluster.core(id)?.view.ringUnconfirmed()) unconfirmed.push(`${id} at ${cluster.time.now()}`);
        }
        if (cluster.time.now() < start + 20_000) cluster.time.after(25, '<world>', sample);
      };
      const start = cluster.time.now();
      cluster.time.after(25, '<world>', sample);
    });
    expect(samples, 'one sample every 25 ms for 20 s').to.equal(800);
    expect(unconfirmed).to.deep.equal([]);
  });
});
