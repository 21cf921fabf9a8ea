import { expect } from 'chai';
import {
  MAX_RING_EPOCH,
  ringEpochInBounds,
  ringStateProblem,
} from '../../../../src/cluster/ring-change/ring-bounds';
import type { RingState } from '../../../../src/cluster/ring-change/topology';

const ring = (epoch: number, since = 1, departedSince?: number): RingState => ({
  epoch,
  members: [{ id: 'n1', address: '127.0.0.1:7401', http: '127.0.0.1:9401', since }],
  departed: departedSince === undefined ? [] : [{ id: 'n2', since: departedSince }],
});

describe('ring epochs from peers', () => {
  // prettier-ignore
  const epochs: [number, boolean][] = [
    [0, true], [1, true], [MAX_RING_EPOCH, true], [MAX_RING_EPOCH + 1, false],
    [Number.MAX_SAFE_INTEGER, false], [2 ** 64, false], [-1, false], [1.5, false], [Number.NaN, false],
  ];
  for (const [epoch, ok] of epochs) {
    it(`${ok ? 'takes' : 'refuses'} a pinged epoch of ${epoch}`, () => {
      expect(ringEpochInBounds(epoch)).to.equal(ok);
    });
  }

  // prettier-ignore
  const rings: [string, RingState, boolean][] = [
    ['a cluster.yml ring', ring(1), true],
    ['a ring after changes', ring(7, 3, 7), true],
    ['epoch 0', ring(0, 0), false],
    ['an epoch above MAX_RING_EPOCH', ring(MAX_RING_EPOCH + 1), false],
    ['an unsafe epoch', ring(2 ** 60), false],
    ['a member since after the epoch', ring(3, 4), false],
    ['a departure since 0', ring(3, 1, 0), false],
    ['a fractional since', ring(3, 1.5), false],
  ];
  for (const [what, state, ok] of rings) {
    it(`${ok ? 'takes' : 'refuses'} ${what}`, () => {
      expect(ringStateProblem(state) === undefined).to.equal(ok);
    });
  }
});
