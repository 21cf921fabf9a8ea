import { expect } from 'chai';
import { SimCluster } from '../../../sim/sim-cluster';

/**
 * A quiet cluster is quiet: anti-entropy keeps the digests of its last scan for each peer while the
 * store is unchanged, and compares with those instead of scanning again. A change on either side
 * still shows as a differing range, and is repaired.
 */
describe('anti-entropy on a quiet cluster', () => {
  let cluster: SimCluster;

  beforeEach(async () => {
    cluster = new SimCluster({
      seed: 5,
      nodes: 3,
      factor: 3,
      writeQuorum: 3,
      readQuorum: 1,
      antiEntropyMs: 1000,
    });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
    for (let i = 0; i < 50; i++) {
      let done = false;
      void Promise.resolve(
        cluster.core('n1')!.execute(
          {
            kind: 'set',
            key: `k${i}`,
            value: Buffer.from(`v${i}`),
            flags: 1,
            ttlMs: 0,
            mode: 'always',
            consistency: 'all',
          },
          { forwarded: false, deadlineMs: cluster.time.now() + 5000 },
        ),
      ).then(() => (done = true));
      while (!done) await cluster.time.runUntil(cluster.time.now() + 1);
    }
  });

  afterEach(async () => {
    void cluster.stopAll();
    await cluster.time.runUntil(cluster.time.now() + 20_000);
  });

  const scans = () => cluster.ids().map((id) => cluster.core(id)!.antiEntropy.scans);
  const saved = () => cluster.ids().reduce((n, id) => n + cluster.core(id)!.antiEntropy.scansSaved, 0);

  it('compares with the digests it kept, scanning no more once each node scanned for each peer', async () => {
    // Every node compares once a second; after a few rounds each has scanned for both its peers.
    await cluster.time.runUntil(cluster.time.now() + 10_000);
    const before = scans();
    const savedBefore = saved();
    await cluster.time.runUntil(cluster.time.now() + 20_000);
    expect(scans(), 'scans while nothing changed').to.deep.equal(before);
    expect(saved() - savedBefore, 'comparisons made with kept digests').to.be.greaterThan(20);
  });

  it('still finds and repairs a record one replica lacks, after the store changed', async () => {
    await cluster.time.runUntil(cluster.time.now() + 10_000);
    const before = scans();
    // n3 alone takes a newer version of k7 (as if the others missed its write).
    const n3 = cluster.core('n3')!;
    const held = n3.store.readRecord('k7')!;
    n3.store.applyRecord('k7', {
      ...held,
      value: Buffer.from('newer'),
      version: { timestamp: held.version.timestamp + 1024, node: 'n3' },
    });
    await cluster.time.runUntil(cluster.time.now() + 10_000);
    const values = cluster.ids().map((id) => cluster.core(id)!.store.readRecord('k7')?.value.toString());
    expect(values, 'k7 on every replica').to.deep.equal(['newer', 'newer', 'newer']);
    expect(
      scans().some((n, i) => n > before[i]!),
      'a scan once the store changed',
    ).to.equal(true);
  });
});
