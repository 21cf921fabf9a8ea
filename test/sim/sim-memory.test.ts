import { expect } from 'chai';
import { exposedGc } from '../../src/server/memory-guard';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';
import type { SimCluster } from './sim-cluster';

const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A process runs thousands of seeds one after the other (`npm run sim`), so nothing of a run may stay
 * reachable after it. A crashed node's waits that never end (a call whose answer cannot come, a
 * pause on its dead clock) held abort listeners on signals made by AbortSignal.any, which Node keeps
 * alive while they have listeners: every cluster with a crash stayed in memory, about 2 MB a seed,
 * and the nemesis mix died of std::bad_alloc after 1,900 seeds.
 */
describe('the simulator between runs', function () {
  this.timeout(60_000);

  it('keeps nothing of a run with a crash once it is over', async () => {
    const gc = exposedGc();
    if (!gc) return expect.fail('V8 gc() is not available');
    const schedule: SimSchedule = {
      scenario: 'nemesis-mix',
      cluster: { nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 60_000 },
      durationMs: 3000,
      steps: [
        { atMs: 500, type: 'cut', from: 'n3', to: 'n1' },
        { atMs: 500, type: 'cut', from: 'n3', to: 'n2' },
        { atMs: 700, type: 'op', kind: 'set', key: 'r0', node: 'n3', consistency: 'all' },
        { atMs: 720, type: 'crash', node: 'n3' },
      ],
    };
    let ref: WeakRef<SimCluster> | undefined;
    await runSchedule(schedule, 1, (cluster) => (ref = new WeakRef(cluster)));
    for (let i = 0; i < 3 && ref!.deref(); i++) {
      await turn();
      gc();
    }
    expect(ref!.deref(), 'the cluster of the run, still reachable').to.equal(undefined);
  });
});
