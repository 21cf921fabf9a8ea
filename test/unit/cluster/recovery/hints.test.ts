import { expect } from 'chai';
import { HintStore } from '../../../../src/cluster/recovery/hints';
import type { StoreRecord } from '../../../../src/store/types';

/** A live record of `bytes` value bytes at version `timestamp@node`. */
function rec(timestamp: number, bytes = 4, node = 'n1'): StoreRecord {
  return {
    value: Buffer.alloc(bytes, 0x61),
    flags: 0,
    version: { timestamp, node },
    expiresAtMs: 0,
    tombstone: false,
  };
}

const roomy = { maxCount: 100, maxBytes: 1 << 20 };

describe('HintStore', () => {
  // A stand-in's hint is taken from a peer's Replicate frame: its value is a view into that frame.
  it('keeps a value of its own, not a view holding the whole message it came in', () => {
    const frame = Buffer.alloc(256 * 1024, 0x62);
    const value = frame.subarray(1000, 1100);
    const hints = new HintStore(roomy);
    hints.add('n2', 'k', { ...rec(1), value });
    const [[, kept]] = hints.peek('n2', 1) as [[string, StoreRecord]];
    expect(kept.value.equals(value)).to.equal(true);
    expect(kept.value.buffer.byteLength, 'the memory the hint holds').to.be.below(frame.length);
  });

  describe('one hint per (target, key)', () => {
    it('keeps the newer version when a key is hinted twice, counting it once', () => {
      const hints = new HintStore(roomy);
      expect(hints.add('n2', 'k', rec(1, 4))).to.equal(true);
      expect(hints.add('n2', 'k', rec(2, 10))).to.equal(true);
      expect(hints.count).to.equal(1);
      expect(hints.bytes).to.equal(1 + 10);
      expect(hints.peek('n2', 10)).to.deep.equal([['k', rec(2, 10)]]);
    });

    it('ignores an older version arriving after a newer one, and reports it as kept', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'k', rec(5, 4));
      expect(hints.add('n2', 'k', rec(3, 8))).to.equal(true);
      expect(hints.peek('n2', 10)[0]![1].version.timestamp).to.equal(5);
      expect(hints.bytes).to.equal(1 + 4);
      expect(hints.dropped).to.equal(0);
    });

    it('breaks a timestamp tie by node id, as last-writer-wins does', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'k', rec(7, 4, 'n3'));
      hints.add('n2', 'k', rec(7, 4, 'n1'));
      expect(hints.peek('n2', 1)[0]![1].version.node).to.equal('n3');
      hints.add('n2', 'k', rec(7, 4, 'n4'));
      expect(hints.peek('n2', 1)[0]![1].version.node).to.equal('n4');
    });

    it('keeps the same key separately for different targets', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'k', rec(1));
      hints.add('n3', 'k', rec(2));
      expect(hints.count).to.equal(2);
      expect(hints.countFor('n2')).to.equal(1);
      expect(hints.countFor('n3')).to.equal(1);
      expect(hints.targets()).to.have.members(['n2', 'n3']);
    });
  });

  describe('bounds', () => {
    it('drops a new key past maxCount and counts the drop', () => {
      const hints = new HintStore({ maxCount: 2, maxBytes: 1 << 20 });
      expect(hints.add('n2', 'a', rec(1))).to.equal(true);
      expect(hints.add('n3', 'b', rec(1))).to.equal(true);
      expect(hints.add('n2', 'c', rec(1))).to.equal(false);
      expect(hints.dropped).to.equal(1);
      expect(hints.count).to.equal(2);
      expect(hints.countFor('n2')).to.equal(1);
    });

    it('still replaces a held key when the count is at its bound', () => {
      const hints = new HintStore({ maxCount: 1, maxBytes: 1 << 20 });
      hints.add('n2', 'a', rec(1));
      expect(hints.add('n2', 'a', rec(2))).to.equal(true);
      expect(hints.dropped).to.equal(0);
      expect(hints.peek('n2', 1)[0]![1].version.timestamp).to.equal(2);
    });

    it('drops a hint whose key and value bytes would pass maxBytes', () => {
      // key 'a' (1 byte) + 9 value bytes = 10 bytes per hint
      const hints = new HintStore({ maxCount: 100, maxBytes: 20 });
      expect(hints.add('n2', 'a', rec(1, 9))).to.equal(true);
      expect(hints.add('n2', 'b', rec(1, 9))).to.equal(true);
      expect(hints.bytes).to.equal(20);
      expect(hints.add('n2', 'c', rec(1, 1))).to.equal(false);
      expect(hints.dropped).to.equal(1);
      expect(hints.bytes).to.equal(20);
    });

    it('counts key bytes in UTF-8, not in UTF-16 code units', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'é', rec(1, 0));
      expect(hints.bytes).to.equal(2);
    });

    it('credits the replaced hint’s bytes when a newer version of the key arrives', () => {
      const hints = new HintStore({ maxCount: 100, maxBytes: 15 });
      hints.add('n2', 'a', rec(1, 9));
      // 1 + 14 = 15 fits only because the old 10 bytes are given back
      expect(hints.add('n2', 'a', rec(2, 14))).to.equal(true);
      expect(hints.bytes).to.equal(15);
    });

    it('keeps the older hint when its newer replacement does not fit', () => {
      const hints = new HintStore({ maxCount: 100, maxBytes: 10 });
      hints.add('n2', 'a', rec(1, 9));
      expect(hints.add('n2', 'a', rec(2, 10))).to.equal(false);
      expect(hints.dropped).to.equal(1);
      expect(hints.peek('n2', 1)[0]![1].version.timestamp).to.equal(1);
      expect(hints.bytes).to.equal(10);
    });

    it('does not create an empty target entry for a dropped hint', () => {
      const hints = new HintStore({ maxCount: 0, maxBytes: 100 });
      expect(hints.add('n2', 'a', rec(1))).to.equal(false);
      expect(hints.targets()).to.deep.equal([]);
    });
  });

  describe('the requests that made a hint (a read-modify-write accept)', () => {
    const madeBy = [
      { id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: rec(2).version } },
    ];

    it('hands them off with the record, counted at 64 bytes each, and drops them with an older hint', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'k', rec(1));
      hints.add('n2', 'k', rec(2), madeBy);
      expect(hints.peek('n2', 10)).to.deep.equal([['k', rec(2), madeBy]]);
      expect(hints.bytes).to.equal(1 + 4 + 64);
      hints.add('n2', 'k', rec(3));
      expect(hints.peek('n2', 10)).to.deep.equal([['k', rec(3)]]);
      expect(hints.bytes).to.equal(1 + 4);
      hints.remove('n2', 'k', rec(3));
      expect(hints.bytes).to.equal(0);
    });

    it("keeps them when the hint moves to a departed target's replicas", () => {
      const members = new Set(['n2', 'n3']);
      const hints = new HintStore(
        roomy,
        undefined,
        (id) => members.has(id),
        () => ['n3'],
      );
      hints.add('n2', 'k', rec(2), madeBy);
      members.delete('n2');
      hints.rehomeLeft();
      expect(hints.peek('n3', 10)).to.deep.equal([['k', rec(2), madeBy]]);
    });
  });

  describe('peek', () => {
    it('returns at most max hints, oldest first, and leaves them in place', () => {
      const hints = new HintStore(roomy);
      for (const key of ['a', 'b', 'c', 'd']) hints.add('n2', key, rec(1));
      expect(hints.peek('n2', 3).map(([k]) => k)).to.deep.equal(['a', 'b', 'c']);
      expect(hints.peek('n2', 10).map(([k]) => k)).to.deep.equal(['a', 'b', 'c', 'd']);
      expect(hints.count).to.equal(4);
    });

    it('returns nothing for a target with no hints', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'a', rec(1));
      expect(hints.peek('n3', 10)).to.deep.equal([]);
      expect(hints.countFor('n3')).to.equal(0);
    });
  });

  describe('remove', () => {
    it('forgets the hint that was handed off and frees its count and bytes', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'a', rec(1, 4));
      hints.add('n2', 'b', rec(1, 4));
      hints.remove('n2', 'a', rec(1, 4));
      expect(hints.count).to.equal(1);
      expect(hints.bytes).to.equal(5);
      expect(hints.peek('n2', 10).map(([k]) => k)).to.deep.equal(['b']);
    });

    it('keeps a newer hint that arrived while an older version was being handed off', () => {
      const hints = new HintStore(roomy);
      const handedOff = rec(1);
      hints.add('n2', 'a', handedOff);
      hints.add('n2', 'a', rec(2));
      hints.remove('n2', 'a', handedOff);
      expect(hints.count).to.equal(1);
      expect(hints.peek('n2', 1)[0]![1].version.timestamp).to.equal(2);
    });

    it('forgets the target once its last hint is removed', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'a', rec(1));
      hints.remove('n2', 'a', rec(1));
      expect(hints.targets()).to.deep.equal([]);
      expect(hints.count).to.equal(0);
      expect(hints.bytes).to.equal(0);
    });

    it('ignores unknown targets and keys', () => {
      const hints = new HintStore(roomy);
      hints.add('n2', 'a', rec(1));
      hints.remove('n3', 'a', rec(1));
      hints.remove('n2', 'zz', rec(1));
      expect(hints.count).to.equal(1);
    });

    it('makes room for new hints once hints are removed', () => {
      const hints = new HintStore({ maxCount: 1, maxBytes: 100 });
      hints.add('n2', 'a', rec(1));
      expect(hints.add('n2', 'b', rec(1))).to.equal(false);
      hints.remove('n2', 'a', rec(1));
      expect(hints.add('n2', 'b', rec(1))).to.equal(true);
    });
  });

  describe('age and departed targets (issue 11 §3, §6)', () => {
    const NOW = 1_700_000_000_000;
    /** A record written `agoMs` before NOW, by its version's clock. */
    const writtenAgo = (agoMs: number): StoreRecord => ({
      ...rec(0),
      version: { timestamp: (NOW - agoMs) * 1024, node: 'n1' },
    });
    const clock = { now: () => NOW };

    it('drops, unsent, a hint whose write is older than maxAgeMs, and counts it', () => {
      const hints = new HintStore({ ...roomy, maxAgeMs: 1000 }, clock);
      hints.add('n2', 'old', writtenAgo(1001));
      hints.add('n2', 'fresh', writtenAgo(999));
      expect(hints.peek('n2', 10).map(([k]) => k)).to.deep.equal(['fresh']);
      expect(hints.count).to.equal(1);
      expect(hints.expired).to.equal(1);
    });

    it('keeps every hint when no maxAgeMs is set', () => {
      const hints = new HintStore(roomy, clock);
      hints.add('n2', 'old', writtenAgo(10_000_000));
      expect(hints.peek('n2', 10)).to.have.length(1);
    });

    it("gives every hint of a target that left, and only those, to its keys' replicas on the new ring", () => {
      const members = new Set(['n1', 'n2', 'n3', 'n4']);
      const replicasOf = (key: string) => (key === 'a' ? ['n3', 'n4'] : ['n4', 'n5']);
      const hints = new HintStore(roomy, clock, (id) => members.has(id), replicasOf);
      hints.add('n2', 'a', rec(1));
      hints.add('n2', 'b', rec(1));
      hints.add('n3', 'a', rec(2));
      expect(hints.rehomeLeft()).to.deep.equal([]);
      members.delete('n2');
      expect(hints.rehomeLeft()).to.deep.equal([{ target: 'n2', rehomed: 2 }]);
      expect(hints.targets().sort()).to.deep.equal(['n3', 'n4']);
      // n3 held a newer hint for 'a' already; n5 is no member.
      expect(hints.peek('n3', 10)).to.deep.equal([['a', rec(2)]]);
      expect(hints.peek('n4', 10).map(([k]) => k)).to.deep.equal(['a', 'b']);
      expect(hints.expired).to.equal(0);
    });

    it('keeps the age a hint had when it moves to the new replicas', () => {
      let now = NOW;
      const members = new Set(['n2', 'n3']);
      const hints = new HintStore(
        { ...roomy, maxAgeMs: 1000 },
        { now: () => now },
        (id) => members.has(id),
        () => ['n3'],
      );
      // Its version runs 600 ms ahead (an HLC a fast clock pushed): only the kept age bounds it.
      hints.add('n2', 'a', writtenAgo(-600));
      now += 600;
      members.delete('n2');
      hints.rehomeLeft();
      now += 500; // 1,100 ms since it was first kept
      expect(hints.peek('n3', 10), 'past maxAgeMs').to.deep.equal([]);
    });

    it("keeps a hint for a node that left for the key's replicas, and drops it when there are none", () => {
      const hints = new HintStore(
        roomy,
        clock,
        (id) => id !== 'gone',
        (key) => (key === 'a' ? ['n3'] : []),
      );
      expect(hints.add('gone', 'a', rec(1)), 'taken').to.equal(true);
      expect(hints.targets()).to.deep.equal(['n3']);
      expect(hints.add('gone', 'b', rec(1)), 'taken').to.equal(true);
      expect(hints.count).to.equal(1);
      expect(hints.expired).to.equal(1);
    });
  });
});
