import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { MAX_INCARNATION } from '../../src/cluster/membership/precedence';
import type { ReplicaWrite } from '../../src/cluster/peer-transport';
import type { RingState } from '../../src/cluster/ring-change/topology';
import { RingCacheError } from '../../src/errors';
import { MemberStateWire, type TopologyResponseMsg } from '../../src/proto/messages';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import { LOGICAL_TICKS_PER_MS } from '../../src/store/hlc';
import type { StoreRecord } from '../../src/store/types';
import { TestCluster, until } from '../support/cluster';

const TOKEN = 'peer-validation-secret';
const NODES = ['n1', 'n2', 'n3'];

/** A node's ringcache_peer_inputs_refused_total for one reason, from its /metrics. */
async function refused(t: TestCluster, id: string, reason: string): Promise<number> {
  const text = await fetch(`http://${t.cluster.node(id).http}/metrics`).then((r) => r.text());
  const line = text
    .split('\n')
    .find((l) => l.startsWith('ringcache_peer_inputs_refused_total{') && l.includes(`reason="${reason}"`));
  return Number(line?.split(' ').pop() ?? NaN);
}

async function topologies(t: TestCluster): Promise<TopologyResponseMsg[]> {
  return Promise.all(
    NODES.map(async (id) => {
      const c = new UnaryClient(t.address(id));
      try {
        return await c.cluster<TopologyResponseMsg>('Topology', {});
      } finally {
        c.close();
      }
    }),
  );
}

function expectInvalid(result: RingCacheError | undefined, what: string): void {
  expect(result, what).to.be.instanceOf(RingCacheError);
  expect(result!.code, `${what}: ${result!.message}`).to.equal('INVALID_ARGUMENT');
}

describe('a node validates what its peers send (a peer holding the cluster token replays attacks)', function () {
  this.timeout(90_000);
  let t: TestCluster;
  let peer: GrpcPeerTransport;

  before(async () => {
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 1,
      env: { RINGCACHE_CLUSTER_TOKEN: TOKEN },
    });
    peer = new GrpcPeerTransport({ selfId: 'n2', addressOf: (id) => t.address(id), clusterToken: TOKEN });
  });
  after(async () => {
    peer?.close();
    await t?.stop();
  });

  it('ignores a gossip claim that n3 is dead at an incarnation no refutation can outbid, and n3 stays alive everywhere', async () => {
    const signal = new AbortController().signal;
    const forged = { id: 'n3', state: 'dead' as const, incarnation: Number.MAX_SAFE_INTEGER };
    for (const to of ['n1', 'n2']) {
      await peer.ping(to, { from: 'n2', updates: [forged], ringEpoch: 1 }, 10_000, signal);
      await until(
        `${to} to count the refused update`,
        async () => (await refused(t, to, 'incarnation')) >= 1,
      );
    }
    // At the highest incarnation an accusation may carry, n3 is marked dead, and refutes.
    const highest = { id: 'n3', state: 'dead' as const, incarnation: MAX_INCARNATION };
    await peer.ping('n1', { from: 'n2', updates: [highest], ringEpoch: 1 }, 10_000, signal);
    await until(
      'every node to see n3 alive above the accusation, and every member alive',
      async () =>
        (await topologies(t)).every((topo) =>
          topo.members.every(
            (m) =>
              m.state === MemberStateWire.ALIVE && (m.id !== 'n3' || Number(m.incarnation) > MAX_INCARNATION),
          ),
        ),
      30_000,
    );
  });

  it('refuses a replicated record 50 s ahead of its clock, as a replica write and as a hint; a client Set then wins at ALL', async () => {
    const key = 'future-version';
    const record: StoreRecord = {
      value: Buffer.from('attacker'),
      flags: 1,
      version: { timestamp: (Date.now() + 50_000) * LOGICAL_TICKS_PER_MS, node: 'n2' },
      expiresAtMs: 0,
      tombstone: false,
    };
    for (const to of NODES) {
      expectInvalid(await peer.replicate(to, { key, record }, Date.now() + 5000), `replicate to ${to}`);
    }
    const hintFor = 'n3';
    expectInvalid(
      await peer.replicate('n1', { key, record, hintFor }, Date.now() + 5000),
      'hint kept on n1 for n3',
    );
    for (const id of NODES) expect(await peer.read(id, key, Date.now() + 5000), id).to.equal(undefined);
    expect(await refused(t, 'n1', 'version_ahead')).to.be.at.least(2);

    const cache = await t.client();
    await cache.set(key, 'client');
    expect(await cache.get(key, { consistency: 'all' })).to.equal('client');
    expect(await cache.get(key, { consistency: 'one' })).to.equal('client');
  });

  it('refuses a replicated tombstone kept until 2100, and keeps the value it would have hidden', async () => {
    const key = 'eternal-tombstone';
    const cache = await t.client();
    await cache.set(key, 'kept', { consistency: 'all' });
    const tombstone: StoreRecord = {
      value: Buffer.alloc(0),
      flags: 0,
      version: { timestamp: Date.now() * LOGICAL_TICKS_PER_MS, node: 'n2' },
      expiresAtMs: Date.UTC(2100, 0, 1),
      tombstone: true,
    };
    for (const to of NODES) {
      expectInvalid(
        await peer.replicate(to, { key, record: tombstone }, Date.now() + 5000),
        `tombstone to ${to}`,
      );
    }
    for (const id of NODES) {
      const held = await peer.read(id, key, Date.now() + 5000);
      expect(held, id).to.not.be.instanceOf(RingCacheError);
      expect((held as ReplicaWrite | undefined)?.record.tombstone, id).to.equal(false);
    }
    expect(await cache.get(key, { consistency: 'all' })).to.equal('kept');
    expect(await refused(t, 'n1', 'tombstone_expiry')).to.be.at.least(1);
  });

  it('refuses a ring whose epoch is not a safe integer, and keeps its own', async () => {
    const ring: RingState = {
      epoch: 2 ** 60,
      members: NODES.map((id) => ({ id, address: t.address(id), http: t.cluster.node(id).http, since: 1 })),
      departed: [],
    };
    try {
      await peer.applyRing('n1', ring, 5000);
      expect.fail('ApplyRing of epoch 2^60 should be refused');
    } catch (err) {
      expect((err as grpc.ServiceError).code, String(err)).to.equal(grpc.status.INVALID_ARGUMENT);
    }
    const topo = (await topologies(t))[0]!;
    expect(Number(topo.epoch)).to.equal(1);
  });
});
