import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import type { ExplainResponseMsg } from '../../src/proto/messages';
import { metric, TestCluster, until } from '../support/cluster';

/** Keys whose replicas, asked one by one through Explain, do not all hold the same version. */
async function apart(t: TestCluster, keys: string[]): Promise<string[]> {
  const c = new UnaryClient(t.address('n1'), 5000);
  try {
    const out: string[] = [];
    for (let i = 0; i < keys.length; i += 50) {
      const batch = await Promise.all(
        keys.slice(i, i + 50).map((key) => c.cluster<ExplainResponseMsg>('Explain', { key })),
      );
      for (const e of batch) {
        const held = new Set(
          e.replicas.map((r) =>
            r.holds ? `${r.version?.timestamp}@${r.version?.node}/${r.tombstone}` : '-',
          ),
        );
        if (held.size > 1) out.push(e.key);
      }
    }
    return out;
  } finally {
    c.close();
  }
}

// Issue 13 §2: before anti-entropy (58b5287) a replica that missed writes (a partition, hints that
// expired) never converged unless a read at R > 1 touched the key. On 127.0.0.1 a paused node still
// gets what its peers had sent (it waits in its socket), so the test makes the replicas differ the
// way a partition leaves them: newer records and tombstones written straight to one replica each,
// over the Peer service, as the only replica a write reached.
describe('anti-entropy between replicas that differ, with no reads (issue 13 §2)', function () {
  this.timeout(90_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1, antiEntropyMs: 500 });
  });
  after(() => t?.stop());

  it('brings every replica of every key to the same newest version, tombstones included', async () => {
    const cache = await t.client({ timeoutMs: 3000 });
    const keys = Array.from({ length: 300 }, (_, i) => `ae-${i}`);
    await Promise.all(keys.map((k) => cache.set(k, 'before')));
    const peer = new GrpcPeerTransport({ selfId: 'test', addressOf: (id) => t.address(id) });
    try {
      const now = Date.now();
      const version = (i: number) => ({ timestamp: (now + 1000) * 1024 + i, node: 'n1' });
      const deadline = now + 5000;
      const refusals = await Promise.all([
        ...keys.slice(0, 200).map((key, i) =>
          peer.replicate(
            'n1',
            {
              key,
              record: {
                value: Buffer.from('newer'),
                flags: 1,
                version: version(i),
                expiresAtMs: 0,
                tombstone: false,
              },
            },
            deadline,
          ),
        ),
        ...keys.slice(200, 250).map((key, i) =>
          peer.replicate(
            'n2',
            {
              key,
              record: {
                value: Buffer.alloc(0),
                flags: 0,
                version: version(200 + i),
                expiresAtMs: 0,
                tombstone: true,
              },
            },
            deadline,
          ),
        ),
      ]);
      expect(refusals.filter(Boolean)).to.deep.equal([]);
    } finally {
      peer.close();
    }
    expect((await apart(t, keys)).length, 'keys apart before anti-entropy ran').to.be.above(0);
    let left: string[] = keys;
    await until(
      'every replica converged',
      async () => (left = await apart(t, keys)).length === 0,
      30_000,
    ).catch(() => undefined);
    expect(left.slice(0, 5), `${left.length} keys still apart`).to.deep.equal([]);
    let repaired = 0;
    for (const id of ['n1', 'n2', 'n3'])
      repaired += await metric(t, id, 'ringcache_anti_entropy_keys_repaired_total');
    expect(repaired, 'keys repaired by anti-entropy').to.be.at.least(500); // 250 keys, two replicas each
  });
});
