import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { RingCacheError } from '../../src/errors';
import type { ExplainResponseMsg, SetResponseMsg } from '../../src/proto/messages';
import { runCli } from '../support/cli';
import { TestCluster, until } from '../support/cluster';

/** Each replica's copy of `key` as it holds it, asked through Cluster/Explain (not a quorum read). */
async function copies(
  t: TestCluster,
  key: string,
): Promise<{ node: string; expiresAtMs: number; version: string }[]> {
  const c = new UnaryClient(t.address('n1'), 10_000);
  try {
    const e = await c.cluster<ExplainResponseMsg>('Explain', { key });
    return e.replicas.map((r) => {
      if (!r.holds || r.tombstone) throw new Error(`${r.nodeId} holds no value of ${key} (${r.error})`);
      return {
        node: r.nodeId,
        expiresAtMs: r.expiresAtMs,
        version: `${r.version?.timestamp}@${r.version?.node}`,
      };
    });
  } finally {
    c.close();
  }
}

/** The one expiry every replica holds for `key`; fails when they differ. */
async function sharedExpiry(t: TestCluster, key: string): Promise<number> {
  const held = await copies(t, key);
  expect(held).to.have.length(3);
  expect(
    new Set(held.map((h) => h.version)).size,
    `one version on every replica: ${JSON.stringify(held)}`,
  ).to.equal(1);
  const expiries = new Set(held.map((h) => h.expiresAtMs));
  expect(expiries.size, `one expiry on every replica: ${JSON.stringify(held)}`).to.equal(1);
  return held[0]!.expiresAtMs;
}

async function rejection(p: Promise<unknown>): Promise<RingCacheError> {
  return p.then(
    () => expect.fail('expected a rejection'),
    (err: unknown) => {
      expect(err).to.be.instanceOf(RingCacheError);
      return err as RingCacheError;
    },
  );
}

describe('keepTtl on set and cas: the new value keeps the key expiry on every replica', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3 });
  });
  after(() => t?.stop());

  it('set without keepTtl removes the expiry; with it the expiry stays, the same on every replica', async () => {
    const cache = await t.client();
    await cache.set('kt:plain', 'v1', { ttl: 600_000, consistency: 'all' });
    await cache.set('kt:plain', 'v2', { consistency: 'all' });
    expect(await cache.ttl('kt:plain')).to.equal(null);
    expect(await sharedExpiry(t, 'kt:plain')).to.equal(0);

    await cache.set('kt:keep', 'v1', { ttl: 600_000, consistency: 'all' });
    const before = await sharedExpiry(t, 'kt:keep');
    expect(before).to.be.greaterThan(0);
    expect(await cache.set('kt:keep', 'v2', { keepTtl: true, consistency: 'all' })).to.equal(true);
    expect(await cache.get('kt:keep', { consistency: 'all' })).to.equal('v2');
    // The coordinator's expiry, replicated: not one recomputed on each replica's clock.
    expect(await sharedExpiry(t, 'kt:keep')).to.equal(before);
    const left = await cache.ttl('kt:keep', { consistency: 'all' });
    expect(left).to.be.a('number').within(1, 600_000);
  });

  it('keepTtl with ttl gives ttl to an absent key only; a key without expiry keeps none', async () => {
    const cache = await t.client();
    await cache.set('kt:new', 'v', { keepTtl: true, ttl: 600_000, consistency: 'all' });
    expect(await sharedExpiry(t, 'kt:new')).to.be.greaterThan(0);

    await cache.set('kt:forever', 'v1', { consistency: 'all' });
    await cache.set('kt:forever', 'v2', { keepTtl: true, ttl: 5_000, consistency: 'all' });
    expect(await sharedExpiry(t, 'kt:forever')).to.equal(0);
    expect(await cache.ttl('kt:forever')).to.equal(null);
  });

  it('setMany and modes combine with keepTtl', async () => {
    const cache = await t.client();
    await cache.set('kt:m1', 1, { ttl: 600_000, consistency: 'all' });
    const before = await sharedExpiry(t, 'kt:m1');
    expect(
      await cache.setMany([{ key: 'kt:m1', value: 2 }], { keepTtl: true, consistency: 'all' }),
    ).to.deep.equal([true]);
    expect(await sharedExpiry(t, 'kt:m1')).to.equal(before);
    expect(await cache.set('kt:m1', 3, { keepTtl: true, mode: 'ifPresent', consistency: 'all' })).to.equal(
      true,
    );
    expect(await sharedExpiry(t, 'kt:m1')).to.equal(before);
    expect(await cache.set('kt:m1', 4, { keepTtl: true, mode: 'ifAbsent', consistency: 'all' })).to.equal(
      false,
    );
  });

  it('cas with keepTtl keeps the expiry; with a ttl too it is refused', async () => {
    const cache = await t.client();
    await cache.set('kt:cas', 'v1', { ttl: 600_000, consistency: 'all' });
    const before = await sharedExpiry(t, 'kt:cas');
    const entry = await cache.getEntry('kt:cas', { consistency: 'all' });
    await cache.cas('kt:cas', entry!.version, 'v2', { keepTtl: true, consistency: 'all' });
    expect(await sharedExpiry(t, 'kt:cas')).to.equal(before);
    const now = await cache.getEntry('kt:cas', { consistency: 'all' });
    expect(now!.value).to.equal('v2');
    const err = await rejection(cache.cas('kt:cas', now!.version, 'v3', { keepTtl: true, ttl: 1000 }));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(
      (await rejection(cache.set('kt:cas', 'v', { keepTtl: 'yes' as unknown as boolean }))).code,
    ).to.equal('INVALID_ARGUMENT');
  });

  it('unary Set with keep_ttl keeps it through any node (forwarded to the coordinator or not)', async () => {
    const cache = await t.client();
    await cache.set('kt:unary', 'v0', { ttl: 600_000, consistency: 'all' });
    const before = await sharedExpiry(t, 'kt:unary');
    for (const id of ['n1', 'n2', 'n3']) {
      const c = new UnaryClient(t.address(id), 10_000);
      try {
        const res = await c.cache<SetResponseMsg>('Set', {
          key: 'kt:unary',
          value: Buffer.from(id),
          keepTtl: true,
          consistency: 3,
        });
        expect(res.stored).to.equal(true);
      } finally {
        c.close();
      }
      expect(await sharedExpiry(t, 'kt:unary'), `after a set through ${id}`).to.equal(before);
    }
    // A peer that predates keep_ttl sends none: false, and the key's expiry goes as before.
    const c = new UnaryClient(t.address('n2'), 10_000);
    try {
      await c.cache<SetResponseMsg>('Set', { key: 'kt:unary', value: Buffer.from('x'), consistency: 3 });
    } finally {
      c.close();
    }
    expect(await sharedExpiry(t, 'kt:unary')).to.equal(0);
  });

  it('the CLI: ringcache set --keep-ttl', async () => {
    const cache = await t.client();
    await cache.set('kt:cli', 'v0', { ttl: 600_000, consistency: 'all' });
    const before = await sharedExpiry(t, 'kt:cli');
    const res = await runCli(['set', 'kt:cli', 'v1', '--keep-ttl', '--addr', t.address('n3')]);
    expect(res.output).to.equal('OK\n');
    expect(res.code).to.equal(0);
    expect(await cache.get('kt:cli', { consistency: 'all' })).to.equal('v1');
    // Written at the default quorum: the last replica may take it a moment later.
    await until(
      'every replica holds the new value with the old expiry',
      async () => (await sharedExpiry(t, 'kt:cli')) === before,
    );
  });
});
