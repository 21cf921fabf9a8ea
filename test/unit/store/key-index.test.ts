import { expect } from 'chai';
import fc from 'fast-check';
import { hashOf, KeyIndex } from '../../../src/store/key-index';

/** An index over a slot table of its own: slot -> key, as the store's slot table holds them. */
function indexWithSlots(): {
  index: KeyIndex;
  keys: string[];
  put: (key: string) => number;
  drop: (key: string) => void;
} {
  const keys: string[] = [''];
  const index = new KeyIndex((slot) => keys[slot]!);
  return {
    index,
    keys,
    put: (key) => {
      const held = index.get(key);
      if (held !== undefined) return held;
      keys.push(key);
      index.set(key, keys.length - 1);
      return keys.length - 1;
    },
    drop: (key) => {
      const slot = index.get(key);
      index.delete(key);
      if (slot !== undefined) keys[slot] = ''; // as SlotTable.release: after the index let go of it
    },
  };
}

describe('KeyIndex', () => {
  it('maps keys to slots like a Map, and counts them', () => {
    const { index, keys } = indexWithSlots();
    keys.push('a', '', 'a');
    index.set('a', 1);
    index.set('', 2);
    index.set('a', 3);
    expect([index.get('a'), index.get(''), index.get('b'), index.size]).to.deep.equal([3, 2, undefined, 2]);
    index.delete('a');
    index.delete('never there');
    expect([index.get('a'), index.get(''), index.size]).to.deep.equal([undefined, 2, 1]);
  });

  it('agrees with a Map through any sequence of sets and deletes, probe runs and doublings included', () => {
    // A few keys of a small alphabet: many share a bucket at the first sizes, so removals shift runs.
    const key = fc.string({ maxLength: 3, unit: fc.constantFrom('a', 'b', 'c', 'd', 'é', '𝄞') });
    const op = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), key }),
      fc.record({ kind: fc.constant('delete' as const), key }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 600 }), (ops) => {
        const { index, put, drop } = indexWithSlots();
        const model = new Map<string, number>();
        for (const { kind, key: k } of ops) {
          if (kind === 'set') model.set(k, put(k));
          else {
            drop(k);
            model.delete(k);
          }
          expect(index.size).to.equal(model.size);
        }
        for (const [k, slot] of model) expect(index.get(k), k).to.equal(slot);
        for (const { key: k } of ops) if (!model.has(k)) expect(index.get(k), k).to.equal(undefined);
      }),
      { numRuns: 300, seed: 4242 },
    );
  });

  it('finds every key after heavy churn at scale, and stays within 3/4 of its buckets', () => {
    const { index, put, drop } = indexWithSlots();
    const live = new Map<string, number>();
    for (let i = 0; i < 200_000; i++) {
      const k = `user:${i}`;
      live.set(k, put(k));
      if (i % 3 === 0) {
        const gone = `user:${Math.floor(i / 2)}`;
        drop(gone);
        live.delete(gone);
      }
    }
    expect(index.size).to.equal(live.size);
    for (const [k, slot] of live) if (index.get(k) !== slot) expect.fail(`${k}: ${index.get(k)} != ${slot}`);
    for (let i = 0; i < 1000; i++) expect(index.get(`absent:${i}`)).to.equal(undefined);
    expect(index.size * 4).to.be.at.most(index.buckets * 3);
  });

  // One table would rehash all its keys at once: sharded by the hash's top bits, each doubling is a
  // small part of it, provided keys that look alike (counters, ids, hex) spread over the shards.
  for (const [pattern, keyOf] of [
    ['sequential ids', (i: number) => `user:${i}`],
    ['ids in the middle', (i: number) => `session:${i}:data`],
    ['hex hashes', (i: number) => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0')],
  ] as const) {
    it(`spreads ${pattern} over its 32 shards, none holding more than twice its share`, () => {
      const n = 100_000;
      const counts = new Array<number>(32).fill(0);
      for (let i = 0; i < n; i++) counts[hashOf(keyOf(i), 0x2545f491) >>> 27]!++;
      expect(Math.max(...counts), JSON.stringify(counts)).to.be.at.most((2 * n) / 32);
    });
  }

  // FNV's collisions chain: blocks A ~ B from one state, then C ~ D from the state they share, make
  // AC, AD, BC and BD collide. With a fixed start an attacker finds them offline and sends keys that
  // all walk one probe run; each index starts from a seed of its own.
  it('seeds its hash: keys made to collide from one start do not from another', () => {
    const fnv = (h: number, block: string) => {
      for (let i = 0; i < block.length; i++) h = Math.imul(h ^ block.charCodeAt(i), 0x01000193) >>> 0;
      return h;
    };
    /** Two 4-character blocks that take state `h` to one state: a birthday search over 32 bits. */
    let rng = 0x9e3779b9;
    const unit = () => {
      rng ^= rng << 13;
      rng ^= rng >>> 17;
      rng ^= rng << 5;
      return String.fromCharCode((rng >>> 0) & 0xffff);
    };
    const collide = (h: number): [string, string, number] => {
      const seen = new Map<number, string>();
      for (;;) {
        const block = unit() + unit() + unit() + unit();
        const next = fnv(h, block);
        const other = seen.get(next);
        if (other !== undefined && other !== block) return [other, block, next];
        seen.set(next, block);
      }
    };
    const fixedStart = 0; // the seed: FNV's offset basis as it is
    let state = (0x811c9dc5 ^ fixedStart) >>> 0;
    let keys = [''];
    for (let round = 0; round < 3; round++) {
      const [a, b, next] = collide(state);
      keys = keys.flatMap((k) => [k + a, k + b]);
      state = next;
    }
    expect(new Set(keys.map((k) => hashOf(k, fixedStart))).size, 'with the seed they were made for').to.equal(
      1,
    );
    expect(new Set(keys.map((k) => hashOf(k, 0x2545f491))).size, 'with another seed').to.be.at.least(7);
  });
});
