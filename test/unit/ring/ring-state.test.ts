import { expect } from 'chai';
import fc from 'fast-check';
import {
  changedRing,
  digestOf,
  initialRing,
  mergeRings,
  relationOf,
  type RingMember,
  type RingState,
} from '../../../src/ring/ring-state';

const member = (id: string): RingMember => ({ id, address: `${id}.local:7400`, http: `${id}.local:8400` });
const base = changedRing(initialRing(['n1', 'n2', 'n3', 'n4', 'n5'].map(member)), [
  ...['n1', 'n2', 'n3', 'n4', 'n5'].map(member),
  member('n6'),
]);
const ids = (s: RingState) => s.members.map((m) => m.id).sort();
const join = (s: RingState, id: string) => changedRing(s, [...s.members, member(id)]);
const leave = (s: RingState, id: string) =>
  changedRing(
    s,
    s.members.filter((m) => m.id !== id),
  );

/** A change: join of a new id or leave of a member, picked by a number so fast-check can shrink it. */
type Change = { kind: 'join' | 'leave'; pick: number };
const changes = fc.array(
  fc.record({ kind: fc.constantFrom<'join' | 'leave'>('join', 'leave'), pick: fc.nat(20) }),
  { maxLength: 5 },
);
function applyAll(start: RingState, list: Change[], side: string): RingState {
  let s = start;
  for (const [i, c] of list.entries()) {
    if (c.kind === 'join' || s.members.length <= 1) s = join(s, `${side}${i}x${c.pick}`);
    else s = leave(s, s.members[c.pick % s.members.length]!.id);
  }
  return s;
}

describe('ring state: one ring after a split (issue 13 §3)', () => {
  it('takes a later change of the same line as newer, and its own past as older', () => {
    const after = join(base, 'n7');
    expect(relationOf(base, after)).to.equal('newer');
    expect(relationOf(after, base)).to.equal('older');
    expect(relationOf(after, after)).to.equal('same');
  });

  it('merges a join on one side and a leave on the other into a ring with both, one epoch past both', () => {
    const a = join(base, 'n7'); // epoch 3 on the minority side
    const b = leave(base, 'n3'); // epoch 3 on the majority side
    expect(a.epoch).to.equal(b.epoch);
    expect(relationOf(a, b)).to.equal('concurrent');
    const merged = mergeRings(a, b);
    expect(merged.epoch).to.equal(4);
    expect(ids(merged)).to.deep.equal(['n1', 'n2', 'n4', 'n5', 'n6', 'n7']);
    expect(merged.departed.map((d) => d.id)).to.deep.equal(['n3']);
    expect(digestOf(mergeRings(b, a))).to.equal(digestOf(merged));
    expect(relationOf(a, merged)).to.equal('newer');
    expect(relationOf(b, merged)).to.equal('newer');
  });

  it('never merges rings of epoch 1: each node keeps its cluster.yml until a change arrives', () => {
    const mine = initialRing(['n1', 'n2'].map(member));
    const joiner = initialRing(['n1', 'n2', 'n3'].map(member)); // a joining node lists itself
    expect(relationOf(mine, joiner)).to.equal('older');
    const joined = join(mine, 'n3');
    expect(relationOf(joiner, joined)).to.equal('newer');
  });

  it('lets a member that left come back with a later join', () => {
    const gone = leave(base, 'n2');
    const back = join(gone, 'n2');
    expect(ids(back)).to.include('n2');
    expect(relationOf(gone, back)).to.equal('newer');
    expect(ids(mergeRings(back, leave(base, 'n4'))))
      .to.include('n2')
      .and.not.include('n4');
  });

  it('property: merging is order-free and keeps every change of both sides', () => {
    fc.assert(
      fc.property(changes, changes, (left, right) => {
        const a = applyAll(base, left, 'a');
        const b = applyAll(base, right, 'b');
        const relation = relationOf(a, b);
        const merged = relation === 'concurrent' ? mergeRings(a, b) : relation === 'older' ? a : b;
        const other = relationOf(b, a);
        const merged2 = other === 'concurrent' ? mergeRings(b, a) : other === 'older' ? b : a;
        expect(digestOf(merged2), 'the same ring whichever side merges').to.equal(digestOf(merged));
        expect(merged2.epoch).to.equal(merged.epoch);
        // Every member a side added is in, unless the other side removed it later; every leave holds.
        for (const side of [a, b]) {
          for (const m of side.members) {
            if (m.since <= base.epoch) continue;
            expect(ids(merged), `join of ${m.id}`).to.include(m.id);
          }
          for (const d of side.departed) expect(ids(merged), `leave of ${d.id}`).to.not.include(d.id);
        }
        expect(['same', 'newer']).to.include(relationOf(a, merged));
        expect(['same', 'newer']).to.include(relationOf(b, merged));
      }),
      { numRuns: 300 },
    );
  });
});
