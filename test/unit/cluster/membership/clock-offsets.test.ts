import { expect } from 'chai';
import { ClockOffsets, judgeClock, type ClockOffset } from '../../../../src/cluster/membership/clock-offsets';

describe('clock offsets measured from pings', () => {
  it('puts the peer read at the middle of the round trip, give or take half of it', () => {
    const offsets = new ClockOffsets();
    // Sent at 1000, acked at 1010 (this clock); the peer said 3005: it is 2000 ms ahead, ±5.
    expect(offsets.record('b', 1000, 1010, 3005)).to.equal(true);
    expect(offsets.estimate('b')).to.deep.equal({ offsetMs: 2000, errorMs: 5 });
  });

  it('believes the sample with the shortest round trip in the window', () => {
    const offsets = new ClockOffsets(3);
    offsets.record('b', 0, 400, 900); // slow ping: offset 700 ± 200
    offsets.record('b', 1000, 1002, 1601); // quick: 600 ± 1
    offsets.record('b', 2000, 2100, 2670); // 620 ± 50
    expect(offsets.estimate('b')).to.deep.equal({ offsetMs: 600, errorMs: 1 });
  });

  it('keeps only the window: an old quick sample gives way once the window has moved past it', () => {
    const offsets = new ClockOffsets(2);
    offsets.record('b', 0, 2, 1001); // 1000 ± 1
    offsets.record('b', 1000, 1100, 2040); // 990 ± 50
    expect(offsets.estimate('b')).to.deep.equal({ offsetMs: 1000, errorMs: 1 });
    offsets.record('b', 2000, 2100, 3060); // 1010 ± 50
    expect(offsets.estimate('b')).to.deep.equal({ offsetMs: 990, errorMs: 50 });
  });

  it('drops at once the samples a clock step made wrong (their ranges do not meet the newest)', () => {
    const offsets = new ClockOffsets();
    offsets.record('b', 0, 2, 10_001); // 10 s ahead ± 1, then the peer's clock was set right
    offsets.record('b', 1000, 1010, 1005); // 0 ± 5: cannot be true with the first
    expect(offsets.estimate('b')).to.deep.equal({ offsetMs: 0, errorMs: 5 });
  });

  it('keeps peers apart and forgets one on request', () => {
    const offsets = new ClockOffsets();
    offsets.record('b', 0, 2, 101);
    offsets.record('c', 0, 2, 1);
    expect(offsets.peers()).to.have.members(['b', 'c']);
    offsets.forget('b');
    expect(offsets.estimate('b')).to.equal(undefined);
    expect(offsets.estimate('c')).to.deep.equal({ offsetMs: 0, errorMs: 1 });
  });

  const refused: Array<[what: string, sentAtMs: number, ackedAtMs: number, peerWallMs: number]> = [
    ['a peer that reports no clock (0)', 0, 2, 0],
    ['a negative clock', 0, 2, -5],
    ['a clock past 2^53', 0, 2, 2 ** 53],
    ['a clock that is not a number', 0, 2, Number.NaN],
    ['an ack before its ping (this clock stepped back)', 100, 50, 1000],
    ['a non-finite send time', Number.NaN, 50, 1000],
  ];
  for (const [what, sentAtMs, ackedAtMs, peerWallMs] of refused) {
    it(`keeps nothing from ${what}`, () => {
      const offsets = new ClockOffsets();
      expect(offsets.record('b', sentAtMs, ackedAtMs, peerWallMs)).to.equal(false);
      expect(offsets.estimate('b')).to.equal(undefined);
    });
  }

  it('refuses a window that holds nothing', () => {
    expect(() => new ClockOffsets(0)).to.throw(RangeError, /windowSize/);
  });
});

describe('judging a clock against the live peers', () => {
  const of =
    (table: Record<string, ClockOffset>) =>
    (peer: string): ClockOffset | undefined =>
      table[peer];
  const BOUND = 500;
  const cases: Array<[what: string, live: string[], table: Record<string, ClockOffset>, out: boolean]> = [
    [
      'both peers 2 s behind: this clock is the odd one',
      ['b', 'c'],
      { b: { offsetMs: -2000, errorMs: 1 }, c: { offsetMs: -2000, errorMs: 1 } },
      true,
    ],
    [
      'one of two peers 2 s ahead: that peer is the odd one',
      ['b', 'c'],
      { b: { offsetMs: 2000, errorMs: 1 }, c: { offsetMs: 0, errorMs: 1 } },
      false,
    ],
    [
      'one skewed peer measured, the other not yet',
      ['b', 'c'],
      { b: { offsetMs: -2000, errorMs: 1 } },
      false,
    ],
    [
      'past the bound only within the error: not sure, not counted',
      ['b', 'c'],
      { b: { offsetMs: -600, errorMs: 150 }, c: { offsetMs: -600, errorMs: 150 } },
      false,
    ],
    [
      'past the bound by more than the error',
      ['b', 'c'],
      { b: { offsetMs: -600, errorMs: 50 }, c: { offsetMs: 601, errorMs: 50 } },
      true,
    ],
    [
      'exactly at the bound',
      ['b', 'c'],
      { b: { offsetMs: -500, errorMs: 0 }, c: { offsetMs: -500, errorMs: 0 } },
      false,
    ],
    [
      'one live peer, beyond: neither can tell which is wrong',
      ['b'],
      { b: { offsetMs: 2000, errorMs: 1 } },
      true,
    ],
    ['no live peer', [], {}, false],
    [
      'two of four beyond is not more than half',
      ['b', 'c', 'd', 'e'],
      { b: { offsetMs: -900, errorMs: 1 }, c: { offsetMs: -900, errorMs: 1 } },
      false,
    ],
    [
      "a dead peer's samples do not count (it is not live)",
      ['c'],
      { b: { offsetMs: -900, errorMs: 1 }, c: { offsetMs: 0, errorMs: 1 } },
      false,
    ],
  ];
  for (const [what, live, table, out] of cases) {
    it(`${out ? 'is' : 'is not'} out of bounds: ${what}`, () => {
      const verdict = judgeClock(live, of(table), BOUND);
      expect(verdict.outOfBounds).to.equal(out);
      expect(verdict.livePeers).to.equal(live.length);
    });
  }

  it('names the peers beyond the bound with their offsets', () => {
    const verdict = judgeClock(
      ['b', 'c'],
      of({ b: { offsetMs: -2000, errorMs: 1 }, c: { offsetMs: 3, errorMs: 1 } }),
      BOUND,
    );
    expect(verdict.beyond).to.deep.equal([{ peer: 'b', offsetMs: -2000, errorMs: 1 }]);
  });
});
