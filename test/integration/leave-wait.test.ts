import { expect } from 'chai';
import { runCli } from '../support/cli';
import { TestCluster } from '../support/cluster';

describe('ringcache leave waits until the leaving node has handed its keys over', function () {
  this.timeout(120_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 4, factor: 3 });
  });
  after(() => t?.stop());

  it('returns once the node has moved its keys and says NOT_SERVING, and no key is lost', async () => {
    // Set-up and check calls: a deadline for a busy machine (at load 35 a set at ALL missed 5 s).
    const cache = await t.client({ timeoutMs: 30_000 });
    const keys = Array.from({ length: 400 }, (_, i) => `leave:${i}`);
    await cache.setMany(
      keys.map((key, i) => ({ key, value: i })),
      { consistency: 'all' },
    );
    const n4 = t.config.nodes.find((n) => n.id === 'n4')!;
    expect((await fetch(`http://${n4.http}/healthz`)).status).to.equal(200);

    const leave = await runCli(['leave', 'n4', '--addr', t.address('n1')], {
      RINGCACHE_CLUSTER_TOKEN: t.clusterToken,
    });
    expect(leave.code, leave.output).to.equal(0);
    expect(leave.output).to.match(/^ring epoch 2: n1, n2, n3$/m);
    expect(leave.output).to.include('n4 handed its keys over and is not serving: it can be stopped');
    // What the command waited for is so when it returns: no polling here.
    const health = await fetch(`http://${n4.http}/healthz`);
    expect(health.status).to.equal(503);
    expect(await health.text()).to.equal('NOT_SERVING\n');

    await t.cluster.kill('n4', 'SIGKILL');
    const values = await cache.getMany(keys, { consistency: 'all' });
    expect(values.filter((v, i) => v !== i)).to.deep.equal([]);
  });
});
