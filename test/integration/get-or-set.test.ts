import { expect } from 'chai';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fillKeysOf, GetOrSet, type FillTarget } from '../../src/client/get-or-set';
import { RingCache, RingCacheError } from '../../src/index';
import { TestCluster, until } from '../support/cluster';

const WORKER = path.join(__dirname, '../support/get-or-set-worker.js');

interface Report {
  fills: number;
  values: string[];
}

/**
 * Forks `n` worker processes connected to the cluster; resolves once each is connected. They start a
 * few at a time, and one whose connect fails (the worker gives RingCache.connect 5 s, which twenty
 * processes starting at once on a busy machine can use up) is replaced: connecting is not under test.
 */
async function workers(t: TestCluster, n: number, spawned: ChildProcess[]): Promise<ChildProcess[]> {
  const started: ChildProcess[] = [];
  while (started.length < n) {
    const group = Math.min(4, n - started.length);
    started.push(...(await Promise.all(Array.from({ length: group }, () => connectedWorker(t, spawned)))));
  }
  return started;
}

async function connectedWorker(t: TestCluster, spawned: ChildProcess[], attempts = 3): Promise<ChildProcess> {
  for (let attempt = 1; ; attempt++) {
    const child = fork(WORKER, t.seeds, { stdio: 'ignore' });
    spawned.push(child);
    try {
      await ready(child);
      return child;
    } catch (err) {
      child.kill('SIGKILL');
      if (attempt >= attempts) throw err;
    }
  }
}

/** Resolves when the worker says it is connected; rejects with its error, or when it exits first. */
function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) =>
      reject(new Error(`worker ${child.pid} exited (${code}) before connecting`));
    child.once('exit', onExit);
    child.on('message', function onMessage(m: { ready?: boolean; error?: string }) {
      if (!m.ready && !m.error) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (m.error) reject(new Error(`worker ${child.pid}: ${m.error}`));
      else resolve();
    });
  });
}

function reportOf(child: ChildProcess): Promise<Report> {
  return new Promise((resolve, reject) => {
    child.on('message', (m: Report & { error?: string }) => {
      if (m.error) reject(new Error(m.error));
      else if (m.values) resolve(m);
    });
  });
}

/** `cache` as getOrSet uses it, telling `onGet` what each of its reads got. */
function spyOn(cache: RingCache, onGet: (key: string, value: unknown) => void): FillTarget {
  return {
    getEntry: (key, opts) => cache.getEntry(key, opts),
    get: async (key, opts) => {
      const value = await cache.get(key, opts);
      onGet(key, value);
      return value as never;
    },
    set: (key, value, opts) => cache.set(key, value, opts),
    delete: (key, opts) => cache.delete(key, opts),
  };
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
    const children = await workers(t, 20, spawned);
    const reports = children.map(reportOf);
    // The lease outlasts any fill on a loaded machine: a second fill would mean stampede protection failed,
    // not that the first filler was slow.
    for (const c of children) c.send({ key: 'cold-key', concurrency: 20, fillMs: 300, leaseMs: 60_000 });
    const all = await Promise.all(reports);
    const fills = all.reduce((n, r) => n + r.fills, 0);
    const values = all.flatMap((r) => r.values);
    expect(fills, 'fills across all 20 processes').to.equal(1);
    expect(values).to.have.length(400);
    expect(new Set(values).size, `one value for all: ${[...new Set(values)].join(' | ')}`).to.equal(1);
    expect(values[0]).to.match(/^filled by \d+$/);
  });

  it('a lease whose holder is killed mid-fill expires, and another caller then fills', async () => {
    const [holder] = await workers(t, 1, spawned);
    const filling = new Promise((r) =>
      holder!.on('message', (m: { filling?: boolean }) => m.filling && r(true)),
    );
    holder!.send({ key: 'orphaned-key', concurrency: 1, fillMs: 0, leaseMs: 1500, hang: true });
    await filling; // the holder won the lease: only its TTL can free it now
    holder!.kill('SIGKILL');
    const cache = await t.client();
    let fills = 0;
    // waitMs far past the lease: this caller gives up only if the orphaned lease never expires.
    const value = await cache.getOrSet('orphaned-key', () => ++fills && 'filled after the kill', {
      leaseMs: 1500,
      waitMs: 60_000,
    });
    expect(value).to.equal('filled after the kill');
    expect(fills).to.equal(1);
    const lease = await cache.get(fillKeysOf('orphaned-key').lease, { consistency: 'all' });
    expect(lease, 'the new holder let its lease go').to.equal(undefined);
  });

  it("gives every waiter the fill's error, in this process and in another", async () => {
    const a = await t.client();
    const b = await RingCache.connect({ seeds: t.seeds });
    try {
      const quorum = { consistency: 'quorum' } as const; // W + R > N: the error a writes, b reads
      let bFills = 0;
      let aFilling!: () => void;
      let failNow!: () => void;
      const aHoldsLease = new Promise<void>((r) => (aFilling = r));
      const released = new Promise<void>((r) => (failNow = r));
      const failing = a.getOrSet(
        'failing-key',
        async () => {
          aFilling();
          await released;
          throw new Error('the database is down');
        },
        quorum,
      );
      const sameProcess = a.getOrSet('failing-key', () => 'never', quorum);
      await aHoldsLease;
      // b stands for another process: its own getOrSet, whose reads tell when it waits for a's fill.
      const { lease } = fillKeysOf('failing-key');
      let bSawLease!: () => void;
      const bWaits = new Promise<void>((r) => (bSawLease = r));
      const otherClient = new GetOrSet(spyOn(b, (key, value) => key === lease && value && bSawLease())).run(
        'failing-key',
        () => ++bFills && 'b filled',
        quorum,
      );
      await bWaits;
      failNow();
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
      expect(await b.getOrSet('failing-key', () => 'second try', quorum)).to.equal('second try');
    } finally {
      await b.close();
    }
  });

  it('serves a stale value at once within staleWhileRevalidate and refreshes it in the background', async () => {
    const cache = await t.client();
    // Quorum reads and writes (W + R > N): each read sees the last value written.
    const opts = { ttl: 300, staleWhileRevalidate: 60_000, consistency: 'quorum' } as const;
    let fills = 0;
    let refreshStarted!: () => void;
    let letRefreshEnd!: () => void;
    const refreshing = new Promise<void>((r) => (refreshStarted = r));
    const refreshMayEnd = new Promise<void>((r) => (letRefreshEnd = r));
    const fill = async () => {
      if (++fills === 1) return 'version 1';
      refreshStarted();
      await refreshMayEnd;
      return `version ${fills}`;
    };
    expect(await cache.getOrSet('swr-key', fill, opts)).to.equal('version 1');
    await until('swr-key past its ttl, within its stale window', async () => {
      const entry = await cache.getEntry('swr-key', { consistency: 'quorum' });
      return entry !== undefined && entry.ttlMs > 0 && entry.ttlMs <= opts.staleWhileRevalidate;
    });
    // The refresh cannot end until this test lets it: served at once means served before that.
    expect(await cache.getOrSet('swr-key', fill, opts)).to.equal('version 1');
    await refreshing;
    letRefreshEnd();
    await until(
      'the background refresh stored version 2',
      async () => (await cache.get('swr-key', { consistency: 'quorum' })) === 'version 2',
    );
    expect(fills).to.equal(2);
  });

  // At aef6b1f the lease key `<key>\0lease` of a key within 6 bytes of max_key_bytes was refused,
  // and getOrSet of such a key failed INVALID_ARGUMENT naming a key the caller never wrote.
  it('fills a key as long as max_key_bytes allows, its lease and error keys included', async () => {
    const cache = await t.client();
    const long = 'L'.repeat(t.config.limits.maxKeyBytes);
    expect(await cache.getOrSet(long, () => 'long filled')).to.equal('long filled');
    expect(await cache.get(long, { consistency: 'all' })).to.equal('long filled');
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

  it('refuses a fill that returns undefined, saying to return null, and caches null', async () => {
    const cache = await t.client();
    const err = await cache
      .getOrSet('gos:none', () => undefined)
      .then(
        () => undefined,
        (e: unknown) => e as RingCacheError,
      );
    expect(err?.code).to.equal('INVALID_ARGUMENT');
    expect(err?.message).to.match(/returned undefined, which cannot be cached; return null/);
    // The lease went with the failure: the next caller fills at once, within its 2 s deadline.
    expect(await cache.getOrSet('gos:none', () => null)).to.equal(null);
    let fills = 0;
    expect(
      await cache.getOrSet('gos:none', () => {
        fills++;
        return 'filled again';
      }),
    ).to.equal(null);
    expect(fills).to.equal(0);
  });
});
