import { expect } from 'chai';
import type { RingCache } from '../../src/index';
import { TestCluster } from '../support/cluster';

/** `loops` closed loops of 90% get / 10% set over `keys` keys until `stop()`; what they saw. */
function load(cache: RingCache, loops: number, keys: number) {
  const seen = { ok: 0, failed: [] as string[], okWhile: 0 };
  let running = true;
  let counting = false;
  let i = 0;
  const loop = async () => {
    while (running) {
      const key = `k${(i++ * 7919) % keys}`;
      try {
        if (i % 10 === 0) await cache.set(key, 'v');
        else await cache.get(key);
        seen.ok++;
        if (counting) seen.okWhile++;
      } catch (err) {
        seen.failed.push((err as Error).message);
      }
    }
  };
  const all = Array.from({ length: loops }, loop);
  return {
    seen,
    countFromNow: (on: boolean) => (counting = on),
    stop: async () => {
      running = false;
      await Promise.all(all);
    },
  };
}

// Issue 12 §1: on b362f36 a node SIGSTOPped under a 16-loop load made calls fail with
// DEADLINE_EXCEEDED "tried n2 (4x)" (each attempt got the whole deadline, and the hung node was
// retried instead of the next replica). The figures (throughput, longest stretch with nothing done)
// are measured by `npm run bench:pause`, not asserted here.
describe('the SDK while one node of three is paused (issue 12 §1)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('fails no call, keeps completing calls, skips the paused node and takes it back after', async () => {
    const cache = await t.client({ timeoutMs: 2000 });
    for (let k = 0; k < 1000; k += 100) {
      await Promise.all(Array.from({ length: 100 }, (_, j) => cache.set(`k${k + j}`, 'v')));
    }
    const l = load(cache, 16, 1000);
    await new Promise((r) => setTimeout(r, 500));
    await t.cluster.kill('n2', 'SIGSTOP');
    l.countFromNow(true);
    let stalledSeen: string[] = [];
    try {
      await new Promise((r) => setTimeout(r, 1500));
      stalledSeen = cache.stalledNodes();
      await new Promise((r) => setTimeout(r, 2500));
    } finally {
      l.countFromNow(false);
      await t.cluster.kill('n2', 'SIGCONT');
    }
    await new Promise((r) => setTimeout(r, 1500));
    await l.stop();
    expect(l.seen.failed.slice(0, 3), `${l.seen.failed.length} failed of ${l.seen.ok}`).to.deep.equal([]);
    expect(l.seen.okWhile, 'calls completed while n2 was paused').to.be.above(1000);
    expect(stalledSeen, 'skipped while paused').to.deep.equal(['n2']);
    expect(cache.stalledNodes(), 'taken back once it answers').to.deep.equal([]);
  });
});
