import { expect } from 'chai';
import { metricsOf, TestCluster, until } from '../support/cluster';

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
    const limitS = (probeIntervalMs + probeTimeoutMs + suspicionTimeoutMs) / 1000;
    const read = (id: string) =>
      metricsOf(t, id, ['ringcache_ring_unconfirmed', 'process_start_time_seconds']);
    // A node whose probes' answers never confirmed its ring reads 1 from its limit after its start,
    // for good. Once every node is past its limit, each is awaited at 0: a node starved of CPU past
    // the limit reads 1 for a moment, until its next probe is answered, which the wait rides out.
    await until("every node past its ring's limit from its start", async () => {
      const started = await Promise.all(ids.map(read));
      const s = Math.max(...started.map((m) => m.process_start_time_seconds));
      return Date.now() / 1000 > s + 2 * limitS;
    });
    for (const id of ids) {
      await until(`${id} counting its own copies, past its limit of ${limitS} s`, async () => {
        const m = await read(id);
        expect(m.ringcache_ring_unconfirmed, `${id}'s ringcache_ring_unconfirmed`).to.be.oneOf([0, 1]);
        return m.ringcache_ring_unconfirmed === 0;
      });
    }
  });
});
