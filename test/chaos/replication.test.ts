import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { LocalCluster } from '../../src/cli/local-cluster';
import { decodeValue } from '../../src/client/codec';
import type { ClusterConfig, GossipConfig } from '../../src/config/types';
import {
  MemberStateWire,
  METADATA,
  type OperationResultMsg,
  type TopologyResponseMsg,
} from '../../src/proto/messages';
import { Ring } from '../../src/ring/ring';
import { UnaryClient } from '../../src/cli/unary-client';
import { PipelineConnection } from '../../src/transport/pipeline-connection';
import { RingCache, RingCacheError } from '../../src/index';
import { testConfig, TestCluster, until } from '../support/cluster';

const IDS = ['n1', 'n2', 'n3'];

/**
 * A 3-node cluster (N=3, W=2, R=1) with gossip timings of its own: TestClusterOptions has none, so
 * this starts the LocalCluster itself. Every log line of every node is kept, tagged with its node.
 */
class GossipCluster {
  readonly #clients: RingCache[] = [];
  private constructor(
    readonly config: ClusterConfig,
    readonly cluster: LocalCluster,
    readonly logs: { id: string; line: string }[],
  ) {}

  static async start(gossip: Partial<GossipConfig>): Promise<GossipCluster> {
    const config = await testConfig({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
    config.gossip = { ...config.gossip, ...gossip };
    const logs: { id: string; line: string }[] = [];
    const cluster = new LocalCluster(config, { onLog: (id, line) => logs.push({ id, line }) });
    await cluster.start();
    return new GossipCluster(config, cluster, logs);
  }

  get clusterToken(): string {
    return this.cluster.clusterToken;
  }

  address(id: string): string {
    return this.cluster.node(id).address;
  }

  async client(): Promise<RingCache> {
    const c = await RingCache.connect({ seeds: this.config.nodes.map((n) => n.address) });
    this.#clients.push(c);
    return c;
  }

  /** Membership transitions of `member` that the nodes logged (`from -> to`, membership.ts). */
  transitionsOf(member: string): string[] {
    return this.logs.flatMap(({ id, line }) => {
      try {
        const e = JSON.parse(line) as { member?: string; msg?: string };
        return e.member === member && / -> /.test(e.msg ?? '') ? [`${id}: ${e.msg}`] : [];
      } catch {
        return [];
      }
    });
  }

  async stop(): Promise<void> {
    await Promise.all(this.#clients.map((c) => c.close()));
    await this.cluster.stop();
  }
}

type Nodes = Pick<GossipCluster, 'address' | 'clusterToken'>;

/** Reads a key from one node's own store (consistency one, never forwarded). */
async function readOn(t: Nodes, id: string, key: string): Promise<OperationResultMsg> {
  const conn = new PipelineConnection({
    address: t.address(id),
    metadata: { [METADATA.forwardedBy]: 'test' },
    clusterToken: t.clusterToken,
  });
  try {
    return await conn.send({ op: 'get', get: { key, consistency: 1 } }, Date.now() + 3000);
  } finally {
    conn.close();
  }
}

/** How `observer` holds `member` in its membership (a MemberStateWire value). */
async function stateOf(t: Nodes, observer: string, member: string): Promise<number | undefined> {
  const c = new UnaryClient(t.address(observer), 3000);
  try {
    const topo = await c.cluster<TopologyResponseMsg>('Topology', {});
    return topo.members.find((m) => m.id === member)?.state;
  } finally {
    c.close();
  }
}

/** Every node holds every other alive: what reads and writes at ALL need. */
async function allAlive(t: Nodes): Promise<boolean> {
  for (const observer of IDS)
    for (const member of IDS)
      if (member !== observer && (await stateOf(t, observer, member)) !== MemberStateWire.ALIVE) return false;
  return true;
}

/** Whether the process of node `id` is stopped (SIGSTOP took effect): 'T' in /proc/PID/stat. */
function isPaused(cluster: LocalCluster, id: string): boolean {
  const stat = readFileSync(`/proc/${cluster.pid(id)}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).startsWith('T');
}

// Paused replicas here are suspected but never declared dead within a test (suspicion 60 s): a write
// that waited for the frozen replica could not be rescued by failure detection skipping it.
describe('replication on 3 nodes (N=3, W=2)', function () {
  this.timeout(60_000);
  let t: GossipCluster;

  before(async () => {
    t = await GossipCluster.start({ suspicionTimeoutMs: 60_000 });
  });
  beforeEach(() => until('every node holds every other alive', () => allAlive(t), 20_000));
  after(async () => {
    if (t?.cluster.isRunning('n3')) void t.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  it('keeps every key on all three replicas', async () => {
    const cache = await t.client();
    await cache.set('everywhere', { v: 1 });
    await until('all replicas hold the key', async () => {
      const res = await Promise.all(IDS.map((id) => readOn(t, id, 'everywhere')));
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
      const res = await Promise.all(IDS.map((id) => readOn(t, id, key)));
      if (!res.every((r) => r.get?.found)) return false;
      const values = res.map((r) => decodeValue(r.get!.value, r.get!.flags));
      const versions = res.map((r) => JSON.stringify(r.get!.version));
      return new Set(values).size === 1 && new Set(versions).size === 1;
    });
  });

  it('keeps a deleted key deleted on every replica', async () => {
    const cache = await t.client();
    await cache.set('gone', 'x', { consistency: 'all' });
    await cache.delete('gone', { consistency: 'all' });
    const res = await Promise.all(IDS.map((id) => readOn(t, id, 'gone')));
    expect(res.map((r) => r.get!.found)).to.deep.equal([false, false, false]);
    expect(await cache.get('gone', { consistency: 'quorum' })).to.equal(undefined);
  });

  it('does not let a replica that stopped answering stall a write beyond its deadline', async () => {
    const cache = await t.client();
    // A key n3 replicates but does not coordinate: the frozen node is only ever the replica here.
    const ring = new Ring(IDS, { vnodes: t.config.vnodes });
    const key = Array.from({ length: 100 }, (_, i) => `slow-replica-${i}`).find(
      (k) => ring.preferenceList(k, 3)[0] !== 'n3',
    )!;
    void t.cluster.kill('n3', 'SIGSTOP');
    try {
      await until('n3 paused', () => isPaused(t.cluster, 'n3'));
      // W=2 needs only the coordinator and one more. n3 stays paused, and undeclared dead, until the
      // answer came: had the write waited for it, it would have failed at its deadline instead.
      await cache.set(key, 'w2', { timeoutMs: 10_000 });
      expect(isPaused(t.cluster, 'n3'), 'n3 still paused when the W=2 write was acknowledged').to.equal(true);
      expect(
        await stateOf(t, ring.preferenceList(key, 3)[0]!, 'n3'),
        'n3 as its coordinator holds it',
      ).to.not.equal(MemberStateWire.DEAD);
      // consistency all needs n3 as well: it must fail at its deadline, not hang.
      const err = await cache.set(key, 'all', { consistency: 'all', timeoutMs: 600 }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err, 'write with consistency all to a frozen replica').to.be.instanceOf(RingCacheError);
      expect(['QUORUM_NOT_MET', 'DEADLINE_EXCEEDED']).to.include((err as RingCacheError).code);
      expect(isPaused(t.cluster, 'n3'), 'n3 still paused when the write at ALL failed').to.equal(true);
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

// Suspicion 60 s: "paused for less than the suspicion timeout" is so by a wide margin, however slow
// the machine; the node is resumed as soon as it is suspected.
describe('failure detection (SWIM) with a process paused shorter than the suspicion timeout', function () {
  this.timeout(60_000);
  let t: GossipCluster;

  before(async () => {
    t = await GossipCluster.start({ suspicionTimeoutMs: 60_000 });
  });
  after(async () => {
    if (t?.cluster.isRunning('n3')) void t.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  it('suspects it, takes its refutation once it resumes, and never declares it dead', async () => {
    void t.cluster.kill('n3', 'SIGSTOP');
    try {
      await until(
        'n1 or n2 suspects n3',
        async () =>
          (await stateOf(t, 'n1', 'n3')) === MemberStateWire.SUSPECT ||
          (await stateOf(t, 'n2', 'n3')) === MemberStateWire.SUSPECT,
        20_000,
      );
    } finally {
      void t.cluster.kill('n3', 'SIGCONT');
    }
    await until(
      'n1 and n2 hold n3 alive again',
      async () =>
        (await stateOf(t, 'n1', 'n3')) === MemberStateWire.ALIVE &&
        (await stateOf(t, 'n2', 'n3')) === MemberStateWire.ALIVE,
      20_000,
    );
    const transitions = t.transitionsOf('n3');
    expect(
      transitions.some((l) => l.endsWith('-> suspect')),
      transitions.join('; '),
    ).to.equal(true);
    expect(transitions.filter((l) => l.endsWith('-> dead'))).to.deep.equal([]);
  });
});

describe('failure detection (SWIM) with a process paused past the suspicion timeout', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(async () => {
    if (t?.cluster.isRunning('n3')) void t.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  // How soon is bench:pause's business; here only that it happens, both ways.
  it('declares it dead, and alive again after SIGCONT', async () => {
    const cache = await t.client();
    void t.cluster.kill('n3', 'SIGSTOP');
    try {
      await until('n3 dead', () => cache.cluster.members.get('n3')?.state === 'dead', 20_000);
    } finally {
      void t.cluster.kill('n3', 'SIGCONT');
    }
    await until('n3 alive again', () => cache.cluster.members.get('n3')?.state === 'alive', 20_000);
  });
});
