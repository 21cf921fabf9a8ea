import { expect } from 'chai';
import { runCli } from '../support/cli';
import { freePorts } from '../support/ports';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCacheError } from '../../src/errors';
import type { TopologyResponseMsg } from '../../src/proto/messages';
import { TestCluster, until } from '../support/cluster';

describe('has, deleteMany and an admin flush (issue 14 §6)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3 });
  });
  after(() => t?.stop());

  it('answers has() and deleteMany() per key', async () => {
    const cache = await t.client();
    // Written at ALL: every replica holds them, so has() at R=1 sees them (W + R > N).
    await cache.setMany(
      [
        { key: 'h:1', value: 1 },
        { key: 'h:2', value: 2 },
      ],
      { consistency: 'all' },
    );
    expect(await Promise.all(['h:1', 'h:2', 'h:3'].map((k) => cache.has(k)))).to.deep.equal([
      true,
      true,
      false,
    ]);
    expect(await cache.deleteMany(['h:1', 'h:3', 'h:2'], { consistency: 'all' })).to.deep.equal([
      true,
      false,
      true,
    ]);
    expect(await cache.has('h:1')).to.equal(false);
  });

  it('refuses a flush without confirm, with FAILED_PRECONDITION saying how to confirm', async () => {
    const c = new UnaryClient(t.address('n1'), 5000, t.clusterToken);
    try {
      const err = await c.cluster('Flush', { prefix: '' }).then(
        () => undefined,
        (e: { code: number; details: string }) => e,
      );
      expect(err?.code).to.equal(9);
      expect(err?.details).to.match(/cannot be undone; set confirm to true/);
    } finally {
      c.close();
    }
  });

  it('flushes the keys of a prefix on every node and leaves the others', async () => {
    const cache = await t.client();
    await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`p:${i}`, i, { consistency: 'all' })));
    await Promise.all(Array.from({ length: 10 }, (_, i) => cache.set(`q:${i}`, i, { consistency: 'all' })));
    const deleted = await cache.flush({ prefix: 'p:' });
    expect(deleted, 'each of 3 replicas of 50 keys').to.equal(150);
    const p = await cache.getMany(
      Array.from({ length: 50 }, (_, i) => `p:${i}`),
      { consistency: 'all' },
    );
    expect(p.filter((v) => v !== undefined)).to.deep.equal([]);
    const q = await cache.getMany(
      Array.from({ length: 10 }, (_, i) => `q:${i}`),
      { consistency: 'all' },
    );
    expect(q).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('says which node a flush did not reach', async () => {
    const cache = await t.client();
    await t.cluster.stopNode('n3');
    try {
      const err = await cache.flush({ prefix: 'q:', timeoutMs: 15_000 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(RingCacheError);
      expect((err as RingCacheError).code).to.equal('UNAVAILABLE');
      expect((err as RingCacheError).message).to.match(/not n3/);
    } finally {
      // Back as the other tests expect it: serving, done catching up after its restart.
      await t.cluster.startNode('n3');
      await until(
        'n3 caught up after its restart',
        async () => {
          const c = new UnaryClient(t.address('n3'), 5000);
          try {
            return !(await c.cluster<TopologyResponseMsg>('Topology', {})).catchingUp;
          } finally {
            c.close();
          }
        },
        30_000,
      );
    }
  });
});

describe('ringcache flush and leave: a person’s mistakes', function () {
  this.timeout(30_000);
  it('say what to do in one line, with no stack trace', async () => {
    const noYes = await runCli(['flush', '--prefix', 'x:']);
    expect(noYes.code, noYes.output).to.equal(2);
    expect(noYes.output).to.match(
      /^ringcache: flush deletes every key starting with 'x:'.*run it again with --yes\n$/,
    );
    const [port] = await freePorts(1);
    const unreachable = await runCli(['leave', 'n9', '--addr', `127.0.0.1:${port}`]);
    expect(unreachable.code, unreachable.output).to.equal(3);
    expect(unreachable.output.trim().split('\n'), unreachable.output).to.have.lengthOf(1);
    expect(unreachable.output).to.not.match(/\n\s+at /);
  });
});
