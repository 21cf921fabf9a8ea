import { expect } from 'chai';
import fc from 'fast-check';
import HashRing from 'hashring';
import { internalsOf } from '../../../src/ring/continuum';
import { Ring } from '../../../src/ring/ring';

const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => `n${i + 1}`);
const keys = (n: number, prefix = 'key'): string[] => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

/** hashring's answer without its LRU (which is a plain object: see the 'toString' test). */
function ringAnswer(ring: HashRing, key: string): string {
  const r = internalsOf(ring);
  return r.ring[r.find(r.hashValue(key))]!.server;
}

describe('Ring', () => {
  for (const [nodes, vnodes] of [
    [1, 160],
    [3, 160],
    [5, 40],
    [10, 160],
    [7, 160],
  ] as const) {
    it(`gives the same owner as hashring.get for 20,000 keys (${nodes} nodes, ${vnodes} vnodes)`, () => {
      const ring = new Ring(ids(nodes), { vnodes });
      const reference = new HashRing(ids(nodes), 'md5', { 'vnode count': vnodes });
      for (const key of keys(20_000)) expect(ring.owner(key), key).to.equal(reference.get(key));
    });
  }

  it('gives the same owner and preference list as hashring for random keys and random node sets', () => {
    const nodeSet = fc.uniqueArray(fc.stringMatching(/^[A-Za-z0-9_.-]{1,12}$/), {
      minLength: 1,
      maxLength: 12,
    });
    const key = fc.oneof(fc.string({ unit: 'binary', maxLength: 60 }), fc.string({ maxLength: 80 }));
    fc.assert(
      fc.property(
        nodeSet.filter((s) => !s.includes('__proto__')),
        fc.integer({ min: 1, max: 200 }),
        fc.array(key, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 1, max: 14 }),
        (members, vnodes, sample, n) => {
          const ring = new Ring(members, { vnodes });
          const reference = new HashRing(members, 'md5', { 'vnode count': vnodes });
          for (const k of sample) {
            expect(ring.owner(k)).to.equal(ringAnswer(reference, k));
            expect(ring.hashOf(k)).to.equal(internalsOf(reference).hashValue(k));
            expect(ring.preferenceList(k, n)).to.deep.equal(reference.range(k, Math.min(n, members.length)));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('answers keys named like Object.prototype members from the ring', () => {
    // Not compared with hashring.get: its LRU is a plain object, and get('__proto__') writes
    // Object.prototype.value for the whole process, after which get('valueOf') answers wrongly.
    const ring = new Ring(ids(3), { vnodes: 160 });
    const reference = new HashRing(ids(3), 'md5', { 'vnode count': 160 });
    for (const key of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(ring.owner(key)).to.equal(ringAnswer(reference, key)).and.to.equal(reference.range(key, 1)[0]);
    }
  });

  it('returns preference lists equal to hashring.range, of distinct nodes, capped at the node count', () => {
    const ring = new Ring(ids(5), { vnodes: 160 });
    const reference = new HashRing(ids(5), 'md5', { 'vnode count': 160 });
    for (const key of keys(5_000)) {
      for (const n of [1, 3, 5, 9]) {
        const list = ring.preferenceList(key, n);
        expect(list).to.deep.equal(reference.range(key, Math.min(n, 5)));
        expect(new Set(list).size).to.equal(Math.min(n, 5));
        expect(list[0]).to.equal(ring.owner(key));
      }
    }
  });

  it('shares frozen preference lists between keys that land on the same point', () => {
    const ring = new Ring(ids(3), { vnodes: 160 });
    const a = ring.preferenceList('key:1', 3);
    expect(ring.preferenceList('key:1', 3)).to.equal(a);
    expect(Object.isFrozen(a)).to.be.true;
    expect(() => a.push('n9')).to.throw(TypeError);
  });

  it('computes long lists without caching them and still matches hashring.range', () => {
    const members = ids(60); // 60 x 160 x 4 points x 60 > the cache budget
    const ring = new Ring(members, { vnodes: 160 });
    const reference = new HashRing(members, 'md5', { 'vnode count': 160 });
    for (const key of keys(50)) expect(ring.preferenceList(key, 60)).to.deep.equal(reference.range(key, 60));
  });

  it('gives shares that sum to 1 and match the fraction of keys each node owns', () => {
    const ring = new Ring(ids(4), { vnodes: 160 });
    const shares = ring.shares();
    expect([...shares.keys()]).to.deep.equal(ids(4));
    expect([...shares.values()].reduce((a, b) => a + b, 0)).to.be.closeTo(1, 1e-12);
    const counts = new Map<string, number>();
    const sample = keys(40_000, 'share');
    for (const key of sample) counts.set(ring.owner(key), (counts.get(ring.owner(key)) ?? 0) + 1);
    for (const [id, share] of shares)
      expect((counts.get(id) ?? 0) / sample.length).to.be.closeTo(share, 0.015);
  });

  it('gives a one-node ring the whole hash space', () => {
    const ring = new Ring(['solo'], { vnodes: 1 });
    expect(ring.shares().get('solo')).to.equal(1);
    expect(ring.preferenceList('k', 3)).to.deep.equal(['solo']);
  });

  it('rejects empty, duplicate and reserved node ids, bad vnodes and bad list lengths', () => {
    expect(() => new Ring([], { vnodes: 160 })).to.throw(/at least one node/);
    expect(() => new Ring(['n1', 'n1'], { vnodes: 160 })).to.throw(/'n1' appears twice/);
    expect(() => new Ring(['__proto__'], { vnodes: 160 })).to.throw(/reserved/);
    expect(() => new Ring(['n1'], { vnodes: 0 })).to.throw(/vnodes is 0/);
    const ring = new Ring(['n1'], { vnodes: 4 });
    expect(() => ring.preferenceList('k', 0)).to.throw(/length is 0/);
    expect(() => ring.preferenceList('k', 1.5)).to.throw(/length is 1.5/);
  });
});
