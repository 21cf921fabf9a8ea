import { expect } from 'chai';
import HashRing from 'hashring';
import { buildContinuum, internalsOf, newHashRing, positionOf } from '../../../src/ring/continuum';

describe('continuum', () => {
  it('holds hashring points in hashring order with their owners', () => {
    const ids = ['n1', 'n2', 'n3'];
    const { points, owners } = buildContinuum(ids, 40);
    const ring = internalsOf(newHashRing(ids, 40)).ring;
    expect(points.length)
      .to.equal(ring.length)
      .and.to.equal(3 * 40 * 4);
    ring.forEach((entry, i) => {
      expect(points[i]).to.equal(entry.value);
      expect(ids[owners[i]!]).to.equal(entry.server);
    });
  });

  it('loses one digest per node where hashring floors (1 / n) * vnodes * n in floating point', () => {
    // Documented in continuum.ts: 7 nodes x 160 vnodes gives 159 digests per node.
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    expect(buildContinuum(ids, 160).points.length).to.equal(7 * 159 * 4);
  });

  for (const nodes of [1, 3, 5]) {
    it(`positionOf equals hashring.find on every point, its neighbours, 0 and 2^32 - 1 (${nodes} nodes)`, () => {
      const ids = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
      const { points } = buildContinuum(ids, 20);
      const reference = internalsOf(newHashRing(ids, 20));
      const probes = [0, 1, 2 ** 32 - 1, 2 ** 32 - 2];
      for (const p of points) probes.push(p, Math.max(0, p - 1), Math.min(2 ** 32 - 1, p + 1));
      for (const hash of probes)
        expect(positionOf(points, hash), `hash ${hash}`).to.equal(reference.find(hash));
    });
  }

  it('positionOf returns the first of equal points and wraps past the last point', () => {
    const points = Uint32Array.from([10, 20, 20, 20, 30]);
    expect(positionOf(points, 0)).to.equal(0);
    expect(positionOf(points, 10)).to.equal(0);
    expect(positionOf(points, 11)).to.equal(1);
    expect(positionOf(points, 20)).to.equal(1);
    expect(positionOf(points, 21)).to.equal(4);
    expect(positionOf(points, 31)).to.equal(0);
    // hashring's own find on the same points agrees.
    const fake = Object.assign(Object.create(HashRing.prototype) as HashRing, {
      ring: [...points].map((value) => ({ value, server: 's' })),
      size: points.length,
    });
    for (let hash = 0; hash <= 32; hash++)
      expect(positionOf(points, hash)).to.equal(internalsOf(fake).find(hash));
  });
});
