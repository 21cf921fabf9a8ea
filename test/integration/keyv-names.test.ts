import { expect } from 'chai';
import Keyv from 'keyv';
import Keyv5 from 'keyv-5';
import type { RingCache } from '../../src/index';
import { KeyvRingCache } from '../../src/keyv/index';
import { TestCluster } from '../support/cluster';

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function keysUnder(cache: RingCache, prefix: string): Promise<string[]> {
  return (await collect(cache.scan({ prefix }))).sort();
}

describe('the Keyv adapter under Keyv 5 and Keyv 6: key names and iterator()', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let cache: RingCache;

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
    // The adapter takes no consistency per call: the client's default is ALL, so that a write or
    // delete is on every replica once acknowledged, and the scans and reads that follow (W + R > N)
    // see it, not a replica the default W=2 had not reached yet.
    cache = await t.client({ consistency: 'all' });
  });
  after(() => t?.stop());

  it('stores a namespaced key as namespace::key under both, never prefixed twice', async () => {
    const six = new Keyv({ store: new KeyvRingCache({ cache }), namespace: 'six' });
    await six.set('k', 'v6');
    expect(await keysUnder(cache, 'six')).to.deep.equal(['six::k']);
    expect(await six.get('k')).to.equal('v6');

    const five = new Keyv5({ store: new KeyvRingCache({ cache }), namespace: 'five' });
    await five.set('k', 'v5');
    await five.set('a:b', 'colon');
    expect(await keysUnder(cache, 'five')).to.deep.equal(['five::a:b', 'five::k']);
    expect(await five.get('k')).to.equal('v5');
    expect(await five.get('a:b')).to.equal('colon');
    expect(await five.delete('k')).to.equal(true);
    expect(await keysUnder(cache, 'five')).to.deep.equal(['five::a:b']);

    // Keyv 5's default namespace is `keyv`: its keys are keyv::k, as Keyv 6's would be in it.
    const plain5 = new Keyv5({ store: new KeyvRingCache({ cache }) });
    await plain5.set('k', 1);
    expect(await keysUnder(cache, 'keyv:')).to.deep.equal(['keyv::k']);
  });

  it('a store written by Keyv 5 is read by Keyv 6 in the same namespace (same key names)', async () => {
    const five = new Keyv5({ store: new KeyvRingCache({ cache }), namespace: 'moved' });
    await five.set('user:1', { name: 'Ada' });
    const six = new Keyv({ store: new KeyvRingCache({ cache }), namespace: 'moved' });
    expect(await six.get('user:1')).to.deep.equal({ name: 'Ada' });
  });

  it("iterator() under Keyv 6 yields its namespace's entries only, each once", async () => {
    const store = new KeyvRingCache({ cache });
    const one = new Keyv({ store, namespace: 'it1' });
    const two = new Keyv({ store: new KeyvRingCache({ cache }), namespace: 'it2' });
    await Promise.all(Array.from({ length: 150 }, (_, i) => one.set(`k${i}`, i)));
    await two.set('k0', 'other');
    const entries = await collect(one.iterator() as AsyncIterable<[string, unknown]>);
    expect(entries).to.have.length(150);
    const byKey = new Map(entries);
    expect(byKey.size).to.equal(150);
    for (let i = 0; i < 150; i++) expect(byKey.get(`k${i}`)).to.equal(i);
  });

  it('iterator(namespace) on the adapter itself lists that namespace as Keyv passed the keys', async () => {
    const five = new KeyvRingCache({ cache });
    const keyv5 = new Keyv5({ store: five, namespace: 'raw5' });
    await keyv5.set('x', 1);
    const keys5 = (await collect(five.iterator('raw5'))).map(([k]) => k);
    expect(keys5).to.deep.equal(['raw5:x']);

    const six = new KeyvRingCache({ cache });
    const keyv6 = new Keyv({ store: six, namespace: 'raw6' });
    await keyv6.set('x', 1);
    const keys6 = (await collect(six.iterator('raw6'))).map(([k]) => k);
    expect(keys6).to.deep.equal(['x']);
  });
});
