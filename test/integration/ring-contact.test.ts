import { expect } from 'chai';
import { metric, TestCluster } from '../support/cluster';

/**
 * A node that heard from no peer's ring for longer than failure detection takes counts its own
 * copies in no quorum until a peer confirms its ring (cluster/ring-change/ring-contact.ts; the
 * simulator's silent-node-ring.test.ts has the read it protects). In a healthy cluster that never
 * happens: every probe's answer confirms the ring.
 */
describe("a node's ring, confirmed by its peers", function () {
  this.timeout(90_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('counts its own copies while its peers hold its ring, as they do in a healthy cluster', async () => {
    // Over about 4 s from the start (probes every 500 ms): every node hears its ring from a peer
    // several times within its limit (2.3 s), so none stops counting its own copies.
    for (let round = 0; round < 10; round++) {
      for (const n of t.config.nodes) {
        expect(await metric(t, n.id, 'ringcache_ring_unconfirmed'), `${n.id}, round ${round}`).to.equal(0);
      }
      await new Promise((r) => setTimeout(r, 400));
    }
  });
});
