import { expect } from 'chai';
import { LocalCluster, type NodeExit } from '../../src/cli/local-cluster';
import type { ClusterConfig } from '../../src/config/types';
import { RingCache } from '../../src/index';
import { UnaryClient } from '../../src/cli/unary-client';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { formatViolations } from '../sim/checkers';
import { testConfig, until } from '../support/cluster';
import { skipBecause } from '../support/skip-reasons';
import { NetHosts, skewEnv } from './net-hosts';
import { Recorder } from '../support/recorder';

/**
 * Issue 13 §1: five nodes, each in a network namespace of its own with its own address, N=3, W=2;
 * a 2 | 3 split under a write load, made by the kernel (blackhole routes), then the heal. The
 * simulator's checkers judge the history: every acknowledged write is the final value of its key
 * or was overwritten by a higher version, no acknowledged delete is undone, and every replica of
 * every key ends at the same version. Skipped, saying why, where network namespaces are refused.
 */
const KEYS = Array.from({ length: 60 }, (_, i) => `part-${i}`);
const MINORITY = [1, 2];
const MAJORITY = [3, 4, 5];
const HINT_MAX_AGE_MS = 1000;

interface Hosts {
  net: NetHosts;
  cluster: LocalCluster;
  config: ClusterConfig;
  crashes: NodeExit[];
}

async function startHosts(skew?: { node: number; ms: number }): Promise<Hosts> {
  const net = new NetHosts(5);
  await net.setup();
  const base = await testConfig({
    nodes: 5,
    factor: 3,
    writeQuorum: 2,
    readQuorum: 1,
    // Anti-entropy every 2 s and hints that expire after 1 s: once the split outlasts the hints,
    // only anti-entropy can bring the replicas that missed writes up to date.
    antiEntropyMs: 2000,
    hintMaxAgeMs: HINT_MAX_AGE_MS,
  });
  const config: ClusterConfig = {
    ...base,
    nodes: base.nodes.map((n, i) => ({
      ...n,
      address: `${net.address(i + 1)}:7400`,
      host: net.address(i + 1),
      port: 7400,
      http: `${net.address(i + 1)}:8400`,
      httpHost: net.address(i + 1),
      httpPort: 8400,
    })),
  };
  const crashes: NodeExit[] = [];
  const cluster = new LocalCluster(config, {
    env: { RINGCACHE_LOG_LEVEL: 'warn' },
    onCrash: (exit) => crashes.push(exit),
    launch: (id) => {
      const i = Number(id.slice(1));
      return { prefix: net.prefix(i), env: skew?.node === i ? skewEnv(skew.ms) : undefined };
    },
  });
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop().catch(() => undefined);
    await net.teardown();
    throw err;
  }
  return { net, cluster, config, crashes };
}

async function stopHosts(h: Hosts | undefined): Promise<void> {
  if (!h) return;
  await h.cluster.stop().catch(() => undefined);
  await h.net.teardown();
}

/** Writes (3 sets to 1 delete) over KEYS through every node in turn, until `stop` says so. */
async function load(rec: Recorder, stop: () => boolean): Promise<void> {
  let i = 0;
  const loop = async (lane: number) => {
    while (!stop()) {
      const n = i++;
      const key = KEYS[(n * 7 + lane) % KEYS.length]!;
      await rec.write(n % 4 === 3 ? 'delete' : 'set', key, rec.nodes[n % rec.nodes.length]!);
    }
  };
  await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(loop));
}

/** Every node's Topology, asked from the test process. */
async function topologies(h: Hosts): Promise<TopologyResponseMsg[]> {
  return Promise.all(
    h.config.nodes.map(async (n) => {
      const c = new UnaryClient(n.address, 3000);
      try {
        return await c.cluster<TopologyResponseMsg>('Topology', {});
      } finally {
        c.close();
      }
    }),
  );
}

/** A split under load and its heal; returns the checkers' verdict. */
async function splitAndHeal(h: Hosts): Promise<{ violations: string; acked: number; apartAtStop: number }> {
  const rec = new Recorder(h.config.nodes, { factor: 3, writeQuorum: 2 });
  const acked = () => rec.history.filter((e) => e.status === 'ok').length;
  /** Resolves once `n` more writes were acknowledged: the load went on through this phase. */
  const progress = async (what: string, n = 50) => {
    const from = acked();
    await until(what, () => acked() >= from + n, 30_000, 100);
  };
  try {
    let stopped = false;
    const running = load(rec, () => stopped);
    try {
      await progress('writes acknowledged before the split');
      await h.net.partition([MINORITY, MAJORITY]);
      await until(
        'each side to see the other dead',
        async () => {
          const t = await topologies(h).catch(() => []);
          return t.length === 5 && t.every((x) => x.members.some((m) => m.state === 3 /* DEAD */));
        },
        30_000,
        200,
      );
      // The split outlasts the hints kept for the other side (by their age, which is time on the
      // nodes' clocks): after the heal only anti-entropy brings those replicas up to date.
      const splitAt = Date.now();
      await progress('writes acknowledged during the split');
      await until(
        'hints of the split past their age',
        () => Date.now() - splitAt > 2 * HINT_MAX_AGE_MS,
        30_000,
      );
      await h.net.heal();
      await until(
        'gossip to see every member alive again on every node',
        async () => {
          const t = await topologies(h);
          return t.every((x) => x.members.every((m) => m.state === 1 /* ALIVE */));
        },
        30_000,
        100,
      );
      await progress('writes acknowledged after the heal');
    } finally {
      stopped = true;
      await running;
    }
    const apartAtStop = (await rec.apart(KEYS, 'n3')).length;
    await until(
      'every replica of every key to hold the same version',
      async () => (await rec.apart(KEYS, 'n3')).length === 0,
      60_000,
      500,
    );
    const violations = formatViolations(await rec.check(KEYS, 'n3'));
    return { violations, acked: acked(), apartAtStop };
  } finally {
    rec.close();
  }
}

describe('hosts in network namespaces: a 2 | 3 split under load, then the heal (issue 13 §1)', function () {
  this.timeout(180_000);
  before(async function () {
    const reason = await NetHosts.probe();
    if (reason) skipBecause(this, reason, { required: true });
  });

  // The two tests without skew share one cluster (a start of five nodes in namespaces is a good part
  // of either on a loaded machine): the ring change comes after the split and heal, which leaves
  // every node running and every cut removed, and stops it. The skewed one starts its own.
  let plain: Hosts | undefined;
  after(() => stopHosts(plain));

  // How soon gossip re-merges and replicas converge is for a bench; here that they do, and what the
  // checkers find in the history.
  it('re-merges gossip and converges after the heal, keeping every acknowledged write and delete', async () => {
    const h = (plain = await startHosts());
    const r = await splitAndHeal(h);
    console.log(
      `      ${r.acked} writes acknowledged, ${r.apartAtStop} of ${KEYS.length} keys apart when the load stopped`,
    );
    expect(r.violations).to.equal('');
    expect(h.crashes).to.deep.equal([]);
  });

  it('refuses a ring change on the minority side, makes one on the majority side, and every node and the SDK agree after the heal', async () => {
    const h = (plain ??= await startHosts());
    // Whatever the test before left: no cut, every member alive on every node.
    await h.net.heal();
    await until(
      'every member alive on every node',
      async () => (await topologies(h)).every((x) => x.members.every((m) => m.state === 1 /* ALIVE */)),
      30_000,
      100,
    );
    const cache = await RingCache.connect({ seeds: h.config.nodes.map((n) => n.address), timeoutMs: 3000 });
    try {
      await h.net.partition([MINORITY, MAJORITY]);
      await until(
        'the majority side to see n1 and n2 dead',
        async () => {
          const [t3] = await topologies(h).then((t) => t.slice(2));
          return t3!.members.filter((m) => m.state === 3).length === 2;
        },
        30_000,
        200,
      );
      // Generous: a ring change waits up to 3 s for each proposal and each order it sends.
      const minority = new UnaryClient(h.config.nodes[0]!.address, 30_000, h.cluster.clusterToken);
      const majority = new UnaryClient(h.config.nodes[2]!.address, 30_000, h.cluster.clusterToken);
      try {
        const refused = await minority.cluster('Leave', { id: 'n4' }).then(
          () => undefined,
          (err: { code: number; details: string }) => err,
        );
        expect(refused?.code, 'UNAVAILABLE').to.equal(14);
        expect(refused?.details).to.match(/majority/);
        await majority.cluster('Leave', { id: 'n5' });
      } finally {
        minority.close();
        majority.close();
      }
      await h.net.heal();
      const rings = await until(
        'every node to hold one ring without n5',
        async () => {
          const t = await topologies(h);
          const names = t.map(
            (x) =>
              `${x.epoch}:${x.members
                .map((m) => m.id)
                .sort()
                .join(',')}`,
          );
          return new Set(names).size === 1 && !names[0]!.includes('n5') ? names[0] : undefined;
        },
        30_000,
        200,
      );
      await until(
        'the SDK to route with that ring',
        async () => {
          await cache.refreshTopology();
          const m = cache.cluster;
          return `${m.epoch}:${[...m.members.keys()].sort().join(',')}` === rings;
        },
        20_000,
        200,
      );
    } finally {
      await cache.close();
      await stopHosts(h); // before the skewed test starts ten more node processes beside them
      plain = undefined;
    }
  });

  // 200 ms: ordinary skew, within half of max_clock_offset_ms (500 ms), so n1 still takes writes; a
  // clock further off refuses them (test/integration/clock-skew.test.ts).
  it('with one node 200 ms ahead (libfaketime): the same promises, and nothing crashes', async function () {
    if (!NetHosts.hasFaketime())
      skipBecause(this, 'libfaketime is not installed (apt-get install faketime)', { required: true });
    const h = await startHosts({ node: 1, ms: 200 });
    try {
      const r = await splitAndHeal(h);
      console.log(
        `      n1 200 ms ahead: ${r.acked} acknowledged; checkers: ${r.violations || 'no violations'}`,
      );
      // Last-writer-wins by version: n1's writes carry versions 200 ms ahead, so they win over writes
      // the others make up to 200 ms later (in real time). The checkers judge by version: skew
      // changes which write wins, and an acknowledged write is still only replaced by a higher version.
      expect(r.violations).to.equal('');
      expect(h.crashes).to.deep.equal([]);
    } finally {
      await stopHosts(h);
    }
  });
});
