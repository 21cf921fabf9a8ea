import { expect } from 'chai';
import { movedShare, ownershipDiff, rangeContains, type MovedRange } from '../../../src/ring/ownership-diff';
import { Ring } from '../../../src/ring/ring';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const sample = Array.from({ length: 20_000 }, (_, i) => `diff:${i}`);

function inAny(diff: MovedRange[], hash: number): MovedRange | undefined {
  return diff.find((r) => rangeContains(r, hash));
}

/** Every sampled key is in a moved range exactly when its list changed, and the range says how. */
function expectExact(before: Ring, after: Ring, n: number, diff: MovedRange[]): void {
  for (const key of sample) {
    const was = before.preferenceList(key, n);
    const now = after.preferenceList(key, n);
    const range = inAny(diff, before.hashOf(key));
    if (was.join() === now.join()) {
      expect(range, key).to.equal(undefined);
    } else {
      expect(range, key).to.not.equal(undefined);
      expect(range!.before).to.deep.equal(was);
      expect(range!.after).to.deep.equal(now);
    }
  }
}

describe('ownershipDiff', () => {
  for (const n of [1, 3]) {
    it(`finds exactly the keys whose preference list of ${n} changes when a 4th node joins 3`, () => {
      const before = new Ring(ids(3), { vnodes: 160 });
      const after = new Ring(ids(4), { vnodes: 160 });
      const diff = ownershipDiff(before, after, n);
      expectExact(before, after, n, diff);
      for (const r of diff) expect(r.after).to.include('n4');
    });

    it(`finds exactly the keys whose preference list of ${n} changes when a node leaves 5`, () => {
      const before = new Ring(ids(5), { vnodes: 160 });
      const after = new Ring(['n1', 'n2', 'n4', 'n5'], { vnodes: 160 });
      const diff = ownershipDiff(before, after, n);
      expectExact(before, after, n, diff);
      for (const r of diff) expect(r.before).to.include('n3');
    });
  }

  it('moves about a quarter of the primaries when a 4th node joins 3, and agrees with the keys', () => {
    const before = new Ring(ids(3), { vnodes: 160 });
    const after = new Ring(ids(4), { vnodes: 160 });
    const share = movedShare(ownershipDiff(before, after, 1));
    expect(share).to.equal(after.shares().get('n4'));
    const movedKeys = sample.filter((k) => before.owner(k) !== after.owner(k)).length / sample.length;
    expect(movedKeys).to.be.closeTo(share, 0.015);
    expect(share).to.be.within(0.2, 0.3);
  });

  it('reports nothing between equal rings', () => {
    expect(
      ownershipDiff(new Ring(ids(3), { vnodes: 40 }), new Ring(ids(3), { vnodes: 40 }), 3),
    ).to.deep.equal([]);
  });

  it('reports the whole circle as one range when every key changes hands', () => {
    const diff = ownershipDiff(new Ring(['a'], { vnodes: 8 }), new Ring(['b'], { vnodes: 8 }), 1);
    expect(diff).to.have.length(1);
    expect(diff[0]!.start).to.equal(diff[0]!.end);
    expect(movedShare(diff)).to.equal(1);
    expect(diff[0]).to.deep.include({ before: ['a'], after: ['b'] });
  });

  it('treats ranges as (start, end] and lets start > end wrap through 0', () => {
    expect(rangeContains({ start: 10, end: 20 }, 10)).to.be.false;
    expect(rangeContains({ start: 10, end: 20 }, 20)).to.be.true;
    expect(rangeContains({ start: 2 ** 32 - 5, end: 3 }, 0)).to.be.true;
    expect(rangeContains({ start: 2 ** 32 - 5, end: 3 }, 2 ** 32 - 1)).to.be.true;
    expect(rangeContains({ start: 2 ** 32 - 5, end: 3 }, 4)).to.be.false;
    expect(movedShare([{ start: 2 ** 32 - 5, end: 3, before: [], after: [] }])).to.equal(8 / 2 ** 32);
  });

  it('covers the hash 0 and the top of the circle like the rings do', () => {
    const before = new Ring(ids(3), { vnodes: 160 });
    const after = new Ring(ids(4), { vnodes: 160 });
    const diff = ownershipDiff(before, after, 1);
    for (const hash of [0, 1, 2 ** 32 - 1]) {
      const changed = before.preferenceListOfHash(hash, 1)[0] !== after.preferenceListOfHash(hash, 1)[0];
      expect(inAny(diff, hash) !== undefined).to.equal(changed);
    }
  });
});
