import { expect } from 'chai';
import { decodeValue } from '../../src/client/codec';
import { METADATA, type OperationResultMsg } from '../../src/proto/messages';
import { PipelineConnection } from '../../src/transport/pipeline-connection';
import { RingCacheError, type MemberStateName } from '../../src/index';
import { TestCluster, until } from '../support/cluster';

/** Reads a key from one node's own store (consistency one, never forwarded). */
async function readOn(t: TestCluster, id: string, key: string): Promise<OperationResultMsg> {
  const conn = new PipelineConnection({
    address: t.address(id),
    metadata: { [METADATA.forwardedBy]: 'test' },
  });
  try {
    return await conn.send({ op: 'get', get: { key, consistency: 1 } }, Date.now() + 3000);
  } finally {
    conn.close();
  }
}

describe('replication on 3 nodes (N=3, W=2)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('keeps every key on all three replicas', async () => {
    const cache = await t.client();
    await cache.set('everywhere', { v: 1 });
    await until('all replicas hold the key', async () => {
      const res = await Promise.all(['n1', 'n2', 'n3'].map((id) => readOn(t, id, 'everywhere')));
      return res.every((r) => r.get?.found);
    });
  });

  it('converges conflicting concurrent writes to one value on every replica', async () => {
    const clients = await Promise.all([t.client(), t.client(), t.client()]);
    const key = 'contested';
    await Promise.all(
      clients.flatMap((c, i) =>
        Array.from({ length: 20 }, (_, j) => c.set(key, `writer${i}-${j}`, { consistency: 'one' })),
      ),
    );
    await until('replicas agree', async () => {
      const res = await Promise.all(['n1', 'n2', 'n3'].map((id) => readOn(t, id, key)));
      const values = res.map((r) => decodeValue(r.get!.value, r.get!.flags));
      const versions = res.map((r) => JSON.stringify(r.get!.version));
      return new Set(values).size === 1 && new Set(versions).size === 1;
    });
  });

  it('keeps a deleted key deleted on every replica', async () => {
    const cache = await t.client();
    await cache.set('gone', 'x', { consistency: 'all' });
    await cache.delete('gone', { consistency: 'all' });
    const res = await Promise.all(['n1', 'n2', 'n3'].map((id) => readOn(t, id, 'gone')));
    expect(res.map((r) => r.get!.found)).to.deep.equal([false, false, false]);
    expect(await cache.get('gone', { consistency: 'quorum' })).to.equal(undefined);
  });

  it('does not let a replica that stopped answering stall a write beyond its deadline', async () => {
    const cache = await t.client();
    const key = 'slow-replica';
    void t.cluster.kill('n3', 'SIGSTOP');
    try {
      // W=2 needs only the coordinator and one more: unaffected by the frozen replica.
      const started = Date.now();
      await cache.set(key, 'w2', { timeoutMs: 1500 });
      expect(Date.now() - started).to.be.below(1000);
      // consistency all needs n3 as well: it must fail when the deadline passes, not hang.
      const allStarted = Date.now();
      const err = await cache.set(key, 'all', { consistency: 'all', timeoutMs: 600 }).then(
        () => undefined,
        (e: Error) => e,
      );
      const tookMs = Date.now() - allStarted;
      expect(err, 'write with consistency all to a frozen replica').to.be.instanceOf(RingCacheError);
      expect(['QUORUM_NOT_MET', 'DEADLINE_EXCEEDED']).to.include((err as RingCacheError).code);
      expect(tookMs).to.be.below(2000);
    } finally {
      void t.cluster.kill('n3', 'SIGCONT');
    }
  });

  it('decides increments at the coordinator and replicates the result', async () => {
    const cache = await t.client();
    await Promise.all(Array.from({ length: 50 }, () => cache.incr('replicated-counter')));
    expect(await cache.get('replicated-counter', { consistency: 'all' })).to.equal('50');
  });
});

describe('failure detection (SWIM) with paused processes', function () {
  this.timeout(60_000);
  let t: TestCluster;
  const seen: MemberStateName[] = [];

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(async () => {
    void t?.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  it('does not declare a node dead that was paused for less than the suspicion timeout', async () => {
    const cache = await t.client();
    const timer = setInterval(() => seen.push(cache.cluster.members.get('n3')!.state), 20);
    try {
      void t.cluster.kill('n3', 'SIGSTOP');
      await new Promise((r) => setTimeout(r, 700)); // probe interval 500 ms + timeout 300; suspicion 1500 ms
      void t.cluster.kill('n3', 'SIGCONT');
      await new Promise((r) => setTimeout(r, 3000));
    } finally {
      clearInterval(timer);
    }
    expect(seen).to.not.include('dead');
    expect(cache.cluster.members.get('n3')!.state).to.equal('alive');
  });

  it('declares a node paused longer dead, and alive again after SIGCONT', async () => {
    const cache = await t.client();
    void t.cluster.kill('n3', 'SIGSTOP');
    const stoppedAt = Date.now();
    await until('n3 dead', () => cache.cluster.members.get('n3')!.state === 'dead', 10_000, 20);
    const detectedMs = Date.now() - stoppedAt;
    console.log(`      paused n3 declared dead after ${detectedMs} ms`);
    expect(detectedMs).to.be.below(5000);
    void t.cluster.kill('n3', 'SIGCONT');
    await until('n3 alive again', () => cache.cluster.members.get('n3')!.state === 'alive', 10_000, 20);
  });
});
