import { expect } from 'chai';
import { metric, TestCluster, until } from '../support/cluster';

/**
 * A node that heard from no peer's ring for longer than failure detection takes counts its own
 * copies in no quorum until a peer confirms its ring (cluster/ring-change/ring-contact.ts; the
 * simulator's silent-node-ring.test.ts has the read it protects). In a healthy cluster that never
 * lasts: every probe's answer confirms the ring.
 */
describe("a node's ring, confirmed by its peers", function () {
  this.timeout(90_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('counts its own copies while its peers hold its ring, as they do in a healthy cluster', async () => {
    const ids = t.config.nodes.map((n) => n.id);
    const { probeIntervalMs, probeTimeoutMs, suspicionTimeoutMs } = t.config.gossip;
    const limitMs = probeIntervalMs + probeTimeoutMs + suspicionTimeoutMs;
    // Every node serves by now (TestCluster.start awaits it), so each one's ring contact has run
    // since before this moment. A node whose probes' answers never confirm its ring reads 1 from its
    // limit on, for good: past twice the limit from here, each node is awaited at 0. A node starved
    // of CPU past the limit reads 1 for a moment, until its next probe is answered: the wait rides
    // that out.
    const pastLimit = Date.now() + 2 * limitMs;
    await until('twice the ring-contact limit from now', () => Date.now() > pastLimit, 4 * limitMs + 10_000);
    for (const id of ids) {
      await until(
        `${id} counting its own copies, past its limit of ${limitMs} ms`,
        async () => (await metric(t, id, 'ringcache_ring_unconfirmed')) === 0,
      );
    }
    const last = await Promise.all(ids.map((id) => metric(t, id, 'ringcache_ring_unconfirmed')));
    expect(
      last.every((v) => v === 0 || v === 1),
      `ringcache_ring_unconfirmed of ${ids.join(', ')}: ${last.join(', ')}`,
    ).to.equal(true);
  });
});
