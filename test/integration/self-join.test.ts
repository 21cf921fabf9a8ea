import { expect } from 'chai';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CONFIG_ENV } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import type { ClusterConfig, NodeConfig } from '../../src/config/types';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { startCli } from '../support/cli';
import { extraNode, TestCluster, until } from '../support/cluster';

/**
 * A node whose cluster.yml lists it, started beside a running cluster whose ring does not hold it.
 * It used to say SERVING on its own file's ring while the others stayed on theirs without it, and
 * nothing was logged. It now joins by itself, or, when it cannot, says why and does not serve.
 */
describe('a node started from a cluster.yml that lists it, off the running ring', function () {
  this.timeout(90_000);
  let t: TestCluster;
  const started: ChildProcess[] = [];

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  afterEach(async () => {
    for (const p of started.splice(0)) {
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await once(p, 'close');
      }
    }
  });
  after(() => t?.stop());

  /** `ringcache node --id ID` with `config` as its cluster.yml and the cluster's secret. */
  const startNode = (id: string, config: ClusterConfig) => {
    const child = startCli(['node', '--id', id], {
      [CONFIG_ENV]: JSON.stringify(config),
      RINGCACHE_CLUSTER_TOKEN: t.clusterToken,
      RINGCACHE_LOG_LEVEL: 'info',
    });
    started.push(child.process);
    return child;
  };
  const topology = async (address: string) => {
    const c = new UnaryClient(address, 3000);
    try {
      return await c.cluster<TopologyResponseMsg>('Topology', {});
    } finally {
      c.close();
    }
  };
  const ringOf = async (address: string) => {
    const r = await topology(address);
    return `${r.epoch}:${r.members
      .map((m) => m.id)
      .sort()
      .join(',')}`;
  };
  const healthOf = (n: NodeConfig) => fetch(`http://${n.http}/healthz`).then((r) => r.status);
  /** n4 started from a file listing it beside the cluster, once it says it serves. */
  const startN4 = async () => {
    const n4 = await extraNode('n4');
    const node = startNode('n4', { ...t.config, nodes: [...t.config.nodes, n4] });
    await until('n4 to say it serves', () => /^serving n4 /m.test(node.output()), 60_000, 100);
    return { n4, node };
  };

  it('joins the ring by itself, and serves only once it is on it', async () => {
    const cache = await t.client();
    await cache.set('before-n4', 'kept');
    const { n4, node } = await startN4();
    // Once it serves, the ring it serves on is the one it joined; the other members take it from the
    // join's order or from gossip (a majority held it when the join was acknowledged).
    expect(await healthOf(n4)).to.equal(200);
    expect(await ringOf(n4.address)).to.equal('2:n1,n2,n3,n4');
    await until(
      'every member on the ring with n4',
      async () => {
        const rings = await Promise.all(t.config.nodes.map((n) => ringOf(n.address)));
        return rings.every((r) => r === '2:n1,n2,n3,n4');
      },
      30_000,
      100,
    );
    expect(node.output()).to.include('joined the ring');
    expect(await cache.get('before-n4')).to.equal('kept');
  });

  it('does not serve, and says why, when the ring holds its id at another address', async () => {
    // n4 on the ring at its address (joined by the test above, or here when run alone); another n4
    // comes up elsewhere with a file saying so.
    if (!(await topology(t.address('n1'))).members.some((m) => m.id === 'n4')) await startN4();
    const elsewhere = await extraNode('n4');
    const node = startNode('n4', { ...t.config, nodes: [...t.config.nodes, elsewhere] });
    await until(
      'n4 to log why it does not serve',
      () => /at another address/.test(node.output()),
      60_000,
      100,
    );
    expect(await healthOf(elsewhere)).to.equal(503);
    expect(node.output()).to.include('not serving until this is resolved');
    expect(node.output()).not.to.match(/^serving n4 /m);
    // The ring is untouched.
    expect(await ringOf(t.address('n2'))).to.equal('2:n1,n2,n3,n4');
  });
});
