import { expect } from 'chai';
import { LocalCluster } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCache } from '../../src/index';
import { testConfig } from '../support/cluster';

// Issue 13 §5: `address` is what peers and clients dial, `listen` what a node binds; host names work.
describe('nodes that dial by host name and bind another address (issue 13 §5)', function () {
  this.timeout(60_000);
  let cluster: LocalCluster;
  let config: Awaited<ReturnType<typeof testConfig>>;

  before(async () => {
    config = await testConfig({ nodes: 2, factor: 2, writeQuorum: 2, readQuorum: 1 });
    config.nodes = config.nodes.map((n) => ({
      ...n,
      // Peers and clients dial localhost; the servers bind 0.0.0.0, as in a container.
      address: `localhost:${n.port}`,
      host: 'localhost',
      listen: { host: '0.0.0.0', port: n.port, text: `0.0.0.0:${n.port}` },
      httpListen: { host: '0.0.0.0', port: n.httpPort, text: `0.0.0.0:${n.httpPort}` },
    }));
    cluster = new LocalCluster(config, { env: { RINGCACHE_LOG_LEVEL: 'warn' } });
    await cluster.start();
  });
  after(() => cluster?.stop());

  it('replicates between them and serves an SDK seeded with a host name', async () => {
    const cache = await RingCache.connect({ seeds: [config.nodes[0]!.address] });
    try {
      await cache.set('hosted', 'by name');
      expect(await cache.get('hosted')).to.equal('by name');
    } finally {
      await cache.close();
    }
    // W=2: the write reached the other node through its host-name address.
    const c = new UnaryClient(`127.0.0.1:${config.nodes[1]!.port}`, 3000);
    try {
      const topo = await c.cluster<{ members: { address: string }[] }>('Topology', {});
      expect(topo.members.map((m) => m.address)).to.deep.equal(config.nodes.map((n) => n.address));
      const got = await c.cache<{ found: boolean }>('Get', { key: 'hosted', consistency: 1 });
      expect(got.found).to.equal(true);
    } finally {
      c.close();
    }
  });

  it('answers HTTP health on the listen address', async () => {
    const res = await fetch(`http://127.0.0.1:${config.nodes[0]!.httpPort}/healthz`);
    expect(res.status).to.equal(200);
  });
});
