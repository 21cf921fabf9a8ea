import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterStatus } from '../../src/cli/status';
import { runCli, startCli } from '../support/cli';
import { MemberStateWire } from '../../src/proto/messages';
import { othersHold, TestCluster, until } from '../support/cluster';

/** Three nodes holding 20 keys of 100 bytes each (W = 3: every replica holds every key once acknowledged). */
async function startCluster(): Promise<TestCluster> {
  const t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 3 });
  const cache = await t.client();
  for (let i = 0; i < 20; i++) await cache.set(`status-${i}`, 'x'.repeat(100));
  return t;
}

/** `ringcache status --json` with `args`, which must succeed. */
async function status(args: string[], env: Record<string, string> = {}): Promise<ClusterStatus> {
  const { code, output } = await runCli(['status', '--json', '--interval', '200ms', ...args], env);
  expect(code, output).to.equal(0);
  return JSON.parse(output) as ClusterStatus;
}

// `ringcache status`: what a person or a script sees of a running cluster, from any member.
describe('ringcache status', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await startCluster();
    const cache = await t.client();
    for (let i = 0; i < 10; i++) await cache.get(`status-${i}`);
    await cache.get('status-absent');
  });
  after(() => t?.stop());

  it('prints every member with its counters, the totals and no warning as JSON', async () => {
    // A busy machine can delay a ping and make a member suspect for a moment: await all alive.
    const s = (await until('every member alive', async () => {
      const s = await status(['--addr', t.address('n2')]);
      return s.members.every((m) => m.state === 'alive') ? s : undefined;
    }))!;
    expect(s).to.include({ cluster: 'test', answeredBy: 'n2', epoch: 1 });
    expect(s.replication).to.deep.equal({ factor: 3, writeQuorum: 3, readQuorum: 1 });
    expect(s.members.map((m) => [m.id, m.address, m.state, m.reachable])).to.deep.equal(
      ['n1', 'n2', 'n3'].map((id) => [id, t.address(id), 'alive', true]),
    );
    for (const m of s.members) {
      expect(m.keys, m.id).to.equal(20);
      expect(m.maxBytes, m.id).to.equal(64 * 1024 * 1024);
      expect(m.bytes, m.id).to.be.greaterThan(20 * 100);
      expect(m.memoryUsed, m.id).to.equal(m.bytes! / m.maxBytes!);
      expect(m.hintsPending, m.id).to.equal(0);
      expect(m.catchingUp, m.id).to.equal(false);
      expect(m.catchUp, m.id).to.equal(undefined);
      expect(m.rebalance, `${m.id}: no ring change since it started`).to.equal(undefined);
      expect(m.readsPerSecond, m.id).to.be.a('number');
      expect(m.ringShare, m.id).to.be.within(0.2, 0.5);
    }
    expect(s.members.reduce((n, m) => n + m.ringShare, 0)).to.be.closeTo(1, 1e-9);
    expect(s.totals).to.include({ members: 3, alive: 3, keys: 60, hintsPending: 0 });
    expect(s.totals.maxBytes).to.equal(3 * 64 * 1024 * 1024);
    // Reads were made (10 hits, at least one miss), so the cluster's hit ratio is below 1.
    expect(s.totals.hitRatio).to.be.greaterThan(0).and.lessThan(1);
    expect(s.warnings).to.deep.equal([]);
  });

  it('prints one table, with the totals, for a person', async () => {
    const { code, output } = (await until('a table with every member alive', async () => {
      const r = await runCli(['status', '--addr', t.address('n1'), '--interval', '200ms']);
      return r.code !== 0 || /^total +3\/3 alive/m.test(r.output) ? r : undefined;
    }))!;
    expect(code, output).to.equal(0);
    expect(output).to.match(/^cluster 'test': ring epoch 1, N=3 W=3 R=1 \(members as n1 sees them/);
    expect(output).to.match(
      /^node +state +address +ring +keys +memory \(of max_memory\) +ops\/s +p99 +reads\/s +hit ratio +hints/m,
    );
    for (const id of ['n1', 'n2', 'n3'])
      expect(output).to.match(new RegExp(`^${id} +alive +${t.address(id)} +\\d+\\.\\d% +20 `, 'm'));
    expect(output).to.match(/^total +3\/3 alive +60 /m);
    expect(output).to.include('no warnings');
  });

  it("counts each member's operations per second and their p99 while a client works", async () => {
    const cache = await t.client();
    let working = true;
    const work = (async () => {
      for (let i = 0; working; i++) await cache.get(`status-${i % 20}`);
    })();
    try {
      const s = await status(['--addr', t.address('n1'), '--interval', '1s']);
      // Every read goes to some replica: the cluster as a whole answered operations in that second.
      expect(s.totals.opsPerSecond).to.be.greaterThan(0);
      expect(s.totals.p99Ms).to.be.greaterThan(0);
      const busy = s.members.filter((m) => (m.opsPerSecond ?? 0) > 0);
      expect(busy, 'members that answered operations').to.not.be.empty;
      for (const m of busy) expect(m.p99Ms, m.id).to.be.greaterThan(0);
    } finally {
      working = false;
      await work;
    }
  });

  it('takes its addresses from RINGCACHE_ADDR, going past one that does not answer', async () => {
    const s = await status([], { RINGCACHE_ADDR: `127.0.0.1:1,${t.address('n3')}` });
    expect(s.answeredBy).to.equal('n3');
    expect(s.members).to.have.lengthOf(3);
  });

  it("asks the nodes of --config's file", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'status-config-'));
    try {
      const file = path.join(dir, 'cluster.yml');
      const nodes = t.config.nodes.map((n) => `  - { id: ${n.id}, address: ${n.address}, http: ${n.http} }`);
      writeFileSync(file, ['nodes:', ...nodes, ''].join('\n'));
      // A busy machine can delay a ping and make a member suspect for a moment: await all alive.
      const s = (await until('every member alive, asked from the file', async () => {
        const s = await status(['--config', file]);
        return s.totals.alive === 3 ? s : undefined;
      }))!;
      expect(s.answeredBy).to.equal('n1');
      expect(s.members.map((m) => m.state)).to.deep.equal(['alive', 'alive', 'alive']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a malformed address or interval in one line, and says when no node answers', async () => {
    const bad = await runCli(['status', '--addr', 'nonsense']);
    expect(bad.code).to.equal(2);
    expect(bad.output).to.equal('ringcache: --addr: expected host:port, got "nonsense"\n');
    const fast = await runCli(['status', '--addr', t.address('n1'), '--interval', '0']);
    expect(fast.code).to.equal(2);
    expect(fast.output).to.include('--interval: at least 100ms');
    const none = await runCli(['status', '--addr', '127.0.0.1:1']);
    // Not a usage mistake (2): the cluster could not be reached.
    expect(none.code).to.not.be.oneOf([0, 2]);
    expect(none.output).to.match(/^ringcache: no node answered \(127\.0\.0\.1:1: .*\)\n$/);
  });

  it('--watch prints a new status at every interval (one JSON object a line)', async () => {
    const watch = startCli(['status', '--watch', '--json', '--interval', '200ms', '--addr', t.address('n1')]);
    try {
      const lines = await until('three refreshes', () => {
        const done = watch.output().split('\n').slice(0, -1);
        return done.length >= 3 ? done : undefined;
      });
      const seen = lines!.map((l) => JSON.parse(l) as ClusterStatus);
      expect(seen.every((s) => s.members.length === 3)).to.equal(true);
      expect(new Set(seen.map((s) => s.at)).size).to.equal(seen.length);
    } finally {
      watch.process.kill('SIGTERM');
    }
  });

  // Its one written key is deleted at the end: the key counts the tests above check stay 20 a member.
  it("--hot shows each member's most-read and most-written keys, and only with --hot", async () => {
    const cache = await t.client();
    // Sampled about 1 in 32 (gaps of at most 63): 800 reads of one key and 400 writes of another are
    // each counted at least 6 times on any member.
    for (let i = 0; i < 800; i++) await cache.get('status-hot-read');
    for (let i = 0; i < 400; i++) await cache.set('status-hot-write', 'v', { consistency: 'one' });
    const s = await status(['--addr', t.address('n1'), '--hot']);
    const reads = s.members.flatMap((m) => m.hotReads ?? []);
    const writes = s.members.flatMap((m) => m.hotWrites ?? []);
    expect(reads.map((k) => k.key)).to.include('status-hot-read');
    expect(writes.map((k) => k.key)).to.include('status-hot-write');
    expect(writes.map((k) => k.key)).to.not.include('status-hot-read');
    const hottest = reads.filter((k) => k.key === 'status-hot-read').reduce((n, k) => n + k.count, 0);
    expect(hottest, 'estimated reads of status-hot-read, all members').to.be.within(200, 3200);
    const plain = await status(['--addr', t.address('n1')]);
    expect(plain.members.every((m) => m.hotReads === undefined && m.hotWrites === undefined)).to.equal(true);
    const { code, output } = await runCli([
      'status',
      '--addr',
      t.address('n1'),
      '--interval',
      '200ms',
      '--hot',
    ]);
    expect(code, output).to.equal(0);
    expect(output).to.match(/^hot keys \(sampled estimates\)$/m);
    expect(output).to.match(/^n\d +read +status-hot-read +~\d+/m);
    await cache.delete('status-hot-write', { consistency: 'all' });
  });
});

// What `ringcache status` shows as a member dies and then leaves the ring: a cluster of its own,
// since the member it kills would change what the tests above see.
describe('ringcache status as a member dies and leaves', function () {
  // Two waits of up to 20 s each for the cluster, and CLI processes, in one test.
  this.timeout(120_000);
  let t: TestCluster;

  before(async () => {
    t = await startCluster();
  });
  after(() => t?.stop());

  it("shows a killed member dead, unanswering, with a warning; after its leave, the ring's new epoch and each member's rebalance for it", async () => {
    await t.cluster.kill('n3', 'SIGKILL');
    const dead = await until(
      'n3 dead in ringcache status',
      async () => {
        const s = await status(['--addr', t.address('n1')]);
        const dead = s.members.find((m) => m.id === 'n3')?.state === 'dead';
        return dead && s.totals.alive === 2 ? s : undefined;
      },
      20_000,
      0,
    );
    const n3 = dead!.members.find((m) => m.id === 'n3')!;
    expect(n3.reachable).to.equal(false);
    expect(n3.error).to.be.a('string');
    expect(n3.keys).to.equal(undefined);
    expect(dead!.totals).to.include({ members: 3, alive: 2, keys: 40 });
    expect(dead!.warnings).to.include('n3 is dead: its writes go to other nodes as hints until it is back');

    // Then n3 leaves: a ring change, and the rebalance each member runs for it.
    await until('n3 dead for n1 and n2', () => othersHold(t, 'n3', MemberStateWire.DEAD), 20_000, 100);
    const leave = await runCli(['leave', 'n3', '--addr', t.address('n1')], {
      RINGCACHE_CLUSTER_TOKEN: t.clusterToken,
    });
    expect(leave.code, leave.output).to.equal(0);
    const left = await until(
      'both rebalances to epoch 2 finished in ringcache status',
      async () => {
        const s = await status(['--addr', t.address('n1')]);
        const done = s.members.filter((m) => m.rebalance?.epoch === 2 && !m.rebalance.running);
        return s.epoch === 2 && done.length === 2 && s.totals.alive === 2 ? s : undefined;
      },
      20_000,
      0,
    );
    expect(left!.members.map((m) => m.id)).to.deep.equal(['n1', 'n2']);
    for (const m of left!.members) expect(m.rebalance!.scanned, m.id).to.equal(20);
    expect(left!.members.reduce((n, m) => n + m.ringShare, 0)).to.be.closeTo(1, 1e-9);
    expect(left!.warnings).to.deep.equal([]);
  });
});
