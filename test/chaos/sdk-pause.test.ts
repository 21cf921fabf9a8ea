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
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 1,
      maxValueBytes: 2 * 1024 * 1024,
      maxMemoryBytes: 512 * 1024 * 1024,
    });
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

  // A frame's budget is the SDK's patience with one replica while another may answer sooner. When
  // every replica runs past it (all busy with large values, or starved of CPU), moving on helps
  // nothing: on 76fb3f3, with every node frozen for 200 ms of every 250, all 45 of these calls failed
  // UNAVAILABLE "stopped answering" after 4 rounds, in about 4 s of their 20 s deadline. The same
  // happened to 24 of 80 concurrent 1 MiB sets under the full suite's load (large-values.test.ts).
  it('waits for the slowest replicas when none answers within its budget and the deadline allows', async () => {
    const cache = await t.client({ timeoutMs: 20_000 });
    const big = (i: number) => Buffer.alloc(1024 * 1024, i);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => cache.set(`all:${i}`, big(i), { consistency: 'all' })),
    );
    const ids = ['n1', 'n2', 'n3'];
    let starving = true;
    // Every node runs 50 ms of every 250: frames of 1 MiB values outlast any budget (250 ms + their bytes).
    const starve = (async () => {
      while (starving) {
        for (const id of ids) await t.cluster.kill(id, 'SIGSTOP');
        await new Promise((r) => setTimeout(r, 200));
        for (const id of ids) await t.cluster.kill(id, 'SIGCONT');
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    let results: PromiseSettledResult<unknown>[];
    const startedAt = Date.now();
    try {
      results = await Promise.allSettled([
        ...Array.from({ length: 20 }, (_, i) => cache.get<Buffer>(`all:${i}`)),
        ...Array.from({ length: 20 }, (_, i) => cache.set(`all:new:${i}`, big(i))),
        ...Array.from({ length: 5 }, () => cache.incr('all:counter')),
      ]);
    } finally {
      starving = false;
      await starve;
    }
    console.log(`      45 calls with every node starved took ${Date.now() - startedAt} ms`);
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
    expect(failed.slice(0, 2), `${failed.length} of ${results.length} failed`).to.deep.equal([]);
    const gets = results.slice(0, 20).map((r) => (r as PromiseFulfilledResult<Buffer>).value);
    expect(gets.map((b) => b[b.length - 1])).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(Number(await cache.get('all:counter')), 'each increment counted once').to.equal(5);
    await new Promise((r) => setTimeout(r, 1000));
    expect(cache.stalledNodes(), 'all taken back').to.deep.equal([]);
  });
});
