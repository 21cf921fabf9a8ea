import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { RingCache } from '../../src/index';
import { TestCluster } from '../support/cluster';

const WORKER = path.join(__dirname, '../support/get-or-set-worker.js');

interface Report {
  fills: number;
  values: string[];
}

/** Forks `n` worker processes connected to the cluster; resolves once each is connected. */
async function workers(t: TestCluster, n: number): Promise<ChildProcess[]> {
  const children = Array.from({ length: n }, () => fork(WORKER, t.seeds, { stdio: 'ignore' }));
  await Promise.all(children.map((c) => new Promise((r) => c.once('message', r))));
  return children;
}

function reportOf(child: ChildProcess): Promise<Report> {
  return new Promise((resolve, reject) => {
    child.on('message', (m: Report & { error?: string }) => {
      if (m.error) reject(new Error(m.error));
      else if (m.values) resolve(m);
    });
  });
}

describe('getOrSet: one fill in the whole cluster (issue 14 §2)', function () {
  this.timeout(120_000);
  let t: TestCluster;
  const spawned: ChildProcess[] = [];

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  after(async () => {
    for (const c of spawned) c.kill('SIGKILL');
    await t?.stop();
  });

  it('20 processes x 20 concurrent calls of one cold key: fill runs once, all 400 get its value', async () => {
    const children = await workers(t, 20);
    spawned.push(...children);
    const reports = children.map(reportOf);
    for (const c of children) c.send({ key: 'cold-key', concurrency: 20, fillMs: 300, leaseMs: 5000 });
    const all = await Promise.all(reports);
    const fills = all.reduce((n, r) => n + r.fills, 0);
    const values = all.flatMap((r) => r.values);
    expect(fills, 'fills across all 20 processes').to.equal(1);
    expect(values).to.have.length(400);
    expect(new Set(values).size, `one value for all: ${[...new Set(values)].join(' | ')}`).to.equal(1);
    expect(values[0]).to.match(/^filled by \d+$/);
  });

  it('a lease whose holder is killed mid-fill expires, and another caller fills within the lease time', async () => {
    const [holder] = await workers(t, 1);
    spawned.push(holder!);
    const filling = new Promise((r) =>
      holder!.on('message', (m: { filling?: boolean }) => m.filling && r(true)),
    );
    holder!.send({ key: 'orphaned-key', concurrency: 1, fillMs: 0, leaseMs: 1500, hang: true });
    await filling;
    holder!.kill('SIGKILL');
    const killedAt = Date.now();
    const cache = await t.client();
    let fills = 0;
    const value = await cache.getOrSet('orphaned-key', () => ++fills && 'filled after the kill', {
      leaseMs: 1500,
      waitMs: 5000,
    });
    const tookMs = Date.now() - killedAt;
    expect(value).to.equal('filled after the kill');
    expect(fills).to.equal(1);
    expect(tookMs, 'within the lease time (plus a poll)').to.be.below(1500 + 200);
  });

  it("gives every waiter the fill's error, in this process and in another", async () => {
    const a = await t.client();
    const b = await RingCache.connect({ seeds: t.seeds });
    try {
      let bFills = 0;
      const failing = a.getOrSet('failing-key', async () => {
        await new Promise((r) => setTimeout(r, 200));
        throw new Error('the database is down');
      });
      const sameProcess = a.getOrSet('failing-key', () => 'never');
      await new Promise((r) => setTimeout(r, 50));
      const otherClient = b.getOrSet('failing-key', () => ++bFills && 'b filled');
      const results = await Promise.allSettled([failing, sameProcess, otherClient]);
      expect(
        results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : r.value)),
      ).to.deep.equal([
        'the database is down',
        'the database is down',
        "getOrSet of 'failing-key': the fill in another caller failed: the database is down",
      ]);
      expect(bFills).to.equal(0);
      // Nothing is cached from the failure: the next call fills.
      expect(await b.getOrSet('failing-key', () => 'second try')).to.equal('second try');
    } finally {
      await b.close();
    }
  });

  it('serves a stale value at once within staleWhileRevalidate and refreshes it in the background', async () => {
    const cache = await t.client();
    let fills = 0;
    const fill = () => `version ${++fills}`;
    expect(await cache.getOrSet('swr-key', fill, { ttl: 300, staleWhileRevalidate: 5000 })).to.equal(
      'version 1',
    );
    await new Promise((r) => setTimeout(r, 400)); // past its ttl, within its stale window
    const started = Date.now();
    expect(await cache.getOrSet('swr-key', fill, { ttl: 300, staleWhileRevalidate: 5000 })).to.equal(
      'version 1',
    );
    expect(Date.now() - started).to.be.below(100);
    await new Promise((r) => setTimeout(r, 200));
    expect(fills).to.equal(2);
    expect(await cache.get('swr-key')).to.equal('version 2');
  });

  // At aef6b1f the lease key `<key>\0lease` of a key within 6 bytes of max_key_bytes was refused,
  // and getOrSet of such a key failed INVALID_ARGUMENT naming a key the caller never wrote.
  it('fills a key as long as max_key_bytes allows, its lease and error keys included', async () => {
    const cache = await t.client();
    const long = 'L'.repeat(t.config.limits.maxKeyBytes);
    expect(await cache.getOrSet(long, () => 'long filled')).to.equal('long filled');
    expect(await cache.get(long)).to.equal('long filled');
    const failing = 'F'.repeat(t.config.limits.maxKeyBytes);
    const err = await cache
      .getOrSet(failing, () => Promise.reject(new Error('no source')))
      .then(
        () => undefined,
        (e: Error) => e,
      );
    expect(err?.message).to.equal('no source');
    expect(await cache.getOrSet(failing, () => 'second try')).to.equal('second try');
  });
});
