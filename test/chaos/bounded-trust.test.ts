import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCacheError } from '../../src/errors';
import type { StatsResponseMsg } from '../../src/proto/messages';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import { metric, TestCluster, until } from '../support/cluster';

async function statsOf(t: TestCluster, id: string): Promise<StatsResponseMsg> {
  const c = new UnaryClient(t.address(id), 3000);
  try {
    return await c.cluster<StatsResponseMsg>('Stats', {});
  } finally {
    c.close();
  }
}

// Issue 11 §6: on 2fbf8d0 n1 applied this record, its HLC observed 2^53 - 1, and every later write in
// the cluster failed.
describe('a node handed a version far ahead of its clock (issue 11 §6)', function () {
  this.timeout(60_000);
  let t: TestCluster;
  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  after(() => t?.stop());

  it('refuses it with INVALID_ARGUMENT, counts it, and every later write still works', async () => {
    const peer = new GrpcPeerTransport({
      selfId: 'n2',
      addressOf: () => t.address('n1'),
      clusterToken: t.clusterToken,
    });
    try {
      const record = {
        value: Buffer.from('poison'),
        flags: 1 as const,
        version: { timestamp: Number.MAX_SAFE_INTEGER, node: 'n2' },
        expiresAtMs: 0,
        tombstone: false,
      };
      // Its stream may still be connecting when the cluster has just started: ask until it answers.
      const answer = await until('n1 reachable', async () => {
        const r = await peer.replicate('n1', { key: 'poisoned', record }, Date.now() + 10_000);
        return r?.code === 'UNAVAILABLE' ? undefined : { refused: r };
      });
      expect(answer?.refused).to.be.instanceOf(RingCacheError);
      expect(answer?.refused?.code).to.equal('INVALID_ARGUMENT');
    } finally {
      peer.close();
    }
    const cache = await t.client({ timeoutMs: 30_000 });
    for (let i = 0; i < 20; i++) await cache.set(`after-${i}`, i);
    expect(await cache.incr('after-counter')).to.equal(1);
    // At quorum: a read at R=1 may ask the replica the W=2 write has not reached yet.
    expect(await cache.get('after-7', { consistency: 'quorum' })).to.equal(7);
    expect(await cache.get('poisoned', { consistency: 'all' })).to.equal(undefined);
    // At least once: a refusal whose answer was lost would be sent, and counted, again.
    expect(await metric(t, 'n1', 'ringcache_versions_refused_total')).to.be.at.least(1);
  });
});

// Issue 11 §6: on 2fbf8d0 the hints kept for a member stayed after it left the ring, for good.
describe('hints kept for a member that then leaves the ring (issue 11 §6)', function () {
  this.timeout(60_000);
  let t: TestCluster;
  before(async () => {
    t = await TestCluster.start({ nodes: 4, factor: 3, writeQuorum: 2 });
  });
  after(() => t?.stop());

  it('are freed on every node', async () => {
    void t.cluster.kill('n4', 'SIGSTOP');
    try {
      const cache = await t.client({ timeoutMs: 3000 });
      const pending = async () => {
        let sum = 0;
        for (const id of ['n1', 'n2', 'n3']) sum += (await statsOf(t, id)).hintsPending;
        return sum;
      };
      // Writes until some replica write to n4 gave up and became a hint; those n4 coordinates fail.
      let i = 0;
      await until(
        'hints kept for n4',
        async () => {
          await Promise.all(Array.from({ length: 20 }, () => cache.set(`k${i}`, i++).catch(() => undefined)));
          return (await pending()) > 0;
        },
        30_000,
      );
      const c = new UnaryClient(t.address('n1'), 10_000, t.clusterToken);
      try {
        await c.cluster('Leave', { id: 'n4' });
      } finally {
        c.close();
      }
      await until('no hint left', async () => (await pending()) === 0, 20_000);
    } finally {
      void t.cluster.kill('n4', 'SIGCONT');
    }
  });
});
