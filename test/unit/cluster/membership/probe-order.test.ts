import { expect } from 'chai';
import { pickRandom, ProbeOrder, shuffle } from '../../../../src/cluster/membership/probe-order';
import { seededRandom } from './fake-cluster';

describe('ProbeOrder', () => {
  const members = ['b', 'c', 'd', 'e'];

  it('probes every member exactly once per round', () => {
    const order = new ProbeOrder(seededRandom(7));
    for (let round = 0; round < 5; round++) {
      const seen = members.map(() => order.next(members));
      expect([...seen].sort()).to.deep.equal(members);
    }
  });

  it('is the same order for the same seed', () => {
    const a = new ProbeOrder(seededRandom(3));
    const b = new ProbeOrder(seededRandom(3));
    for (let i = 0; i < 12; i++) expect(a.next(members)).to.equal(b.next(members));
  });

  it('skips members that stopped being candidates mid-round', () => {
    const order = new ProbeOrder(seededRandom(1));
    const first = order.next(members)!;
    const rest = members.filter((m) => m !== first);
    const remaining = [order.next(rest), order.next(rest), order.next(rest)];
    expect([...remaining].sort()).to.deep.equal(rest);
  });

  it('has nothing to probe when there are no candidates', () => {
    expect(new ProbeOrder(seededRandom(1)).next([])).to.equal(undefined);
  });
});

describe('pickRandom', () => {
  it('picks k distinct members, or all of them when there are fewer', () => {
    const picked = pickRandom(['a', 'b', 'c', 'd'], 2, seededRandom(5));
    expect(new Set(picked).size).to.equal(2);
    expect(pickRandom(['a'], 3, seededRandom(5))).to.deep.equal(['a']);
    expect(pickRandom(['a', 'b'], 0, seededRandom(5))).to.deep.equal([]);
  });

  it('shuffles in place without losing or duplicating items', () => {
    const items = [1, 2, 3, 4, 5, 6];
    expect([...shuffle(items, seededRandom(9))].sort()).to.deep.equal([1, 2, 3, 4, 5, 6]);
  });
});
