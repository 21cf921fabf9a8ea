import { expect } from 'chai';
import { NearCache } from '../../../src/client/near-cache';

const found = { bytes: Buffer.from('v'), flags: 0, ttlMs: 0 };

describe('NearCache', () => {
  function holding(key: string): NearCache {
    const near = new NearCache();
    near.setLive(true);
    near.reading(key);
    near.read(key, found);
    return near;
  }

  it('serves what it was given while live, and counts hits and misses', () => {
    const near = holding('k');
    expect(near.lookup('k')?.bytes.toString()).to.equal('v');
    expect(near.lookup('other')).to.equal(undefined);
    expect(near.stats).to.include({ hits: 1, misses: 1, entries: 1 });
  });

  it('keeps nothing while a stream is not live', () => {
    const near = new NearCache();
    near.reading('k');
    near.read('k', found);
    expect(near.stats.entries).to.equal(0);
  });

  it('does not keep a read that a change overtook', () => {
    const near = new NearCache();
    near.setLive(true);
    near.reading('k');
    near.invalidate('k');
    near.read('k', found);
    expect(near.stats.entries).to.equal(0);
  });

  it('counts a reset each time the streams stop being live, whether or not it held anything', () => {
    // A replica's late event can empty the cache just before a stream breaks: the break is still a reset.
    const near = holding('k');
    near.invalidate('k');
    expect(near.stats).to.include({ invalidations: 1, entries: 0 });
    near.setLive(false);
    expect(near.stats.resets).to.equal(1);
    near.setLive(false);
    expect(near.stats.resets, 'already not live: nothing new was emptied').to.equal(1);
    near.setLive(true);
    near.setLive(false);
    expect(near.stats.resets).to.equal(2);
  });
});
