import { expect } from 'chai';
import { KeyIndex } from '../../../src/store/key-index';

describe('KeyIndex', () => {
  it('maps keys to slots like a Map, and counts them', () => {
    const index = new KeyIndex();
    index.set('a', 1);
    index.set('', 2);
    index.set('a', 3);
    expect([index.get('a'), index.get(''), index.get('b'), index.size]).to.deep.equal([3, 2, undefined, 2]);
    index.delete('a');
    index.delete('never there');
    expect([index.get('a'), index.size]).to.deep.equal([undefined, 1]);
    expect([...index.entries()]).to.deep.equal([['', 2]]);
  });

  // One Map rebuilt its whole table at once under churn: ~30 MiB spikes in RSS at 700k keys.
  for (const [pattern, keyOf] of [
    ['sequential ids', (i: number) => `user:${i}`],
    ['ids in the middle', (i: number) => `session:${i}:data`],
    ['hex hashes', (i: number) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0')],
  ] as const) {
    it(`spreads ${pattern} over its shards, none holding more than twice its share`, () => {
      const index = new KeyIndex();
      const n = 100_000;
      for (let i = 0; i < n; i++) index.set(keyOf(i), i);
      const sizes = index.shardSizes();
      expect(Math.max(...sizes), JSON.stringify(sizes)).to.be.at.most((2 * n) / sizes.length);
    });
  }
});
