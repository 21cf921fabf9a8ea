import { expect } from 'chai';
import {
  allowedFrom,
  applyUpdate,
  incarnationInBounds,
  MAX_INCARNATION,
  needsRefutation,
  refutingIncarnation,
  type MemberVersion,
} from '../../../../src/cluster/membership/precedence';
import type { MemberState, MemberUpdate } from '../../../../src/cluster/membership/types';

const states: MemberState[] = ['alive', 'suspect', 'dead', 'left'];
const v = (state: MemberState, incarnation: number): MemberVersion => ({ state, incarnation });

describe('applyUpdate (SWIM precedence)', () => {
  // [current, update, accepted?] with update incarnation relative to current incarnation 5.
  // prettier-ignore
  const table: [MemberState, MemberState, number, boolean][] = [
    ['alive', 'alive', 6, true], ['alive', 'alive', 5, false], ['alive', 'alive', 4, false],
    ['suspect', 'alive', 6, true], ['suspect', 'alive', 5, false],
    ['dead', 'alive', 6, true], ['dead', 'alive', 5, false],
    ['left', 'alive', 6, true], ['left', 'alive', 5, false],
    ['alive', 'suspect', 5, true], ['alive', 'suspect', 6, true], ['alive', 'suspect', 4, false],
    ['suspect', 'suspect', 6, true], ['suspect', 'suspect', 5, false],
    ['dead', 'suspect', 9, false], ['left', 'suspect', 9, false],
    ['alive', 'dead', 5, true], ['alive', 'dead', 4, false],
    ['suspect', 'dead', 5, true], ['suspect', 'dead', 4, false],
    ['dead', 'dead', 6, true], ['dead', 'dead', 5, false],
    ['left', 'dead', 9, false],
    ['alive', 'left', 5, true], ['suspect', 'left', 5, true], ['dead', 'left', 5, true],
    ['alive', 'left', 4, false], ['left', 'left', 6, true], ['left', 'left', 5, false],
  ];
  for (const [current, state, incarnation, accepted] of table) {
    it(`${accepted ? 'takes' : 'ignores'} ${state}(${incarnation}) over ${current}(5)`, () => {
      const next = applyUpdate(v(current, 5), { id: 'x', state, incarnation });
      expect(next).to.deep.equal(accepted ? v(state, incarnation) : undefined);
    });
  }

  it('adds an unknown member only when it is reported alive', () => {
    expect(applyUpdate(undefined, { id: 'x', state: 'alive', incarnation: 0 })).to.deep.equal(v('alive', 0));
    for (const state of ['suspect', 'dead', 'left'] as const) {
      expect(applyUpdate(undefined, { id: 'x', state, incarnation: 9 })).to.equal(undefined);
    }
  });

  it('ignores incarnations that are negative, fractional or unsafe', () => {
    for (const incarnation of [-1, 1.5, Number.NaN, 2 ** 53]) {
      expect(applyUpdate(v('alive', 0), { id: 'x', state: 'alive', incarnation })).to.equal(undefined);
    }
  });

  it('only ever produces transitions that allowedFrom permits', () => {
    for (const from of states) {
      for (const to of states) {
        for (const incarnation of [4, 5, 6]) {
          const next = applyUpdate(v(from, 5), { id: 'x', state: to, incarnation });
          if (next) expect(allowedFrom[next.state], `${from} -> ${to}`).to.include(from);
        }
      }
    }
  });
});

describe('refutation about self', () => {
  it('refutes suspect and dead, even while leaving', () => {
    for (const state of ['suspect', 'dead'] as const) {
      expect(needsRefutation({ id: 'me', state, incarnation: 1 }, 5, false)).to.equal(true);
      expect(needsRefutation({ id: 'me', state, incarnation: 1 }, 5, true)).to.equal(true);
    }
  });

  it('refutes left unless it is leaving', () => {
    expect(needsRefutation({ id: 'me', state: 'left', incarnation: 5 }, 5, false)).to.equal(true);
    expect(needsRefutation({ id: 'me', state: 'left', incarnation: 5 }, 5, true)).to.equal(false);
  });

  it('outbids an alive from its previous life but not its own echo', () => {
    expect(needsRefutation({ id: 'me', state: 'alive', incarnation: 9 }, 5, false)).to.equal(true);
    expect(needsRefutation({ id: 'me', state: 'alive', incarnation: 5 }, 5, false)).to.equal(false);
  });

  it('raises the incarnation above both its own and the accusation', () => {
    expect(refutingIncarnation(3, 7)).to.equal(8);
    expect(refutingIncarnation(7, 3)).to.equal(8);
    expect(refutingIncarnation(4, 4)).to.equal(5);
  });
});

describe('incarnations at the bound', () => {
  const MAX = MAX_INCARNATION;
  const SAFE = Number.MAX_SAFE_INTEGER;

  // [update, its incarnation, in bounds?]: accusations and left stop at MAX, alive (a refutation) at MAX + 1.
  // prettier-ignore
  const bounds: [MemberState, number, boolean][] = [
    ['alive', MAX, true], ['alive', MAX + 1, true], ['alive', SAFE + 1, false],
    ['suspect', MAX, true], ['suspect', MAX + 1, false],
    ['dead', MAX, true], ['dead', MAX + 1, false],
    ['left', MAX, true], ['left', MAX + 1, false],
    ['dead', 2 ** 64, false], ['alive', Number.POSITIVE_INFINITY, false],
  ];
  for (const [state, incarnation, inBounds] of bounds) {
    it(`${inBounds ? 'takes' : 'refuses'} ${state}(${incarnation}) over alive(5), and needsRefutation agrees`, () => {
      expect(incarnationInBounds({ id: 'x', state, incarnation })).to.equal(inBounds);
      const next = applyUpdate(v('alive', 5), { id: 'x', state, incarnation });
      expect(next).to.deep.equal(inBounds ? v(state, incarnation) : undefined);
      expect(needsRefutation({ id: 'me', state, incarnation }, 5, false)).to.equal(inBounds);
    });
  }

  // [own incarnation, accusation, refutation]: the refutation is in bounds and outbids the accusation.
  // prettier-ignore
  const refutations: [number, MemberUpdate, MemberVersion][] = [
    [5, { id: 'me', state: 'dead', incarnation: MAX }, v('alive', MAX + 1)],
    [5, { id: 'me', state: 'suspect', incarnation: MAX }, v('alive', MAX + 1)],
    [5, { id: 'me', state: 'left', incarnation: MAX }, v('alive', MAX + 1)],
    [MAX + 1, { id: 'me', state: 'dead', incarnation: MAX }, v('alive', MAX + 1)],
    [MAX, { id: 'me', state: 'suspect', incarnation: MAX }, v('alive', MAX + 1)],
    [MAX + 1, { id: 'me', state: 'suspect', incarnation: 7 }, v('alive', MAX + 1)],
    [MAX - 1, { id: 'me', state: 'dead', incarnation: MAX - 1 }, v('alive', MAX)],
  ];
  for (const [own, accusation, refutation] of refutations) {
    it(`at own ${own}, refutes ${accusation.state}(${accusation.incarnation}) with ${refutation.state}(${refutation.incarnation}), which every holder takes`, () => {
      expect(needsRefutation(accusation, own, false)).to.equal(true);
      const incarnation = refutingIncarnation(own, accusation.incarnation);
      expect(v('alive', incarnation)).to.deep.equal(refutation);
      // Whoever took the accusation takes the refutation over it.
      const held = applyUpdate(v('alive', Math.min(own, accusation.incarnation)), accusation);
      const holder = held ?? v(accusation.state, accusation.incarnation);
      expect(applyUpdate(holder, { id: 'me', state: 'alive', incarnation })).to.deep.equal(refutation);
    });
  }

  it('while leaving, answers an accusation at MAX with left(MAX), which beats it', () => {
    const incarnation = refutingIncarnation(5, MAX, 'left');
    expect(incarnation).to.equal(MAX);
    expect(applyUpdate(v('dead', MAX), { id: 'me', state: 'left', incarnation })).to.deep.equal(
      v('left', MAX),
    );
  });
});
