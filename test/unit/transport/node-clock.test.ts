import { expect } from 'chai';
import { NodeClock } from '../../../src/transport/node-clock';
import {
  packFrame,
  packReply,
  refusedFrameResults,
  trailingNumberOf,
  unpackFrame,
} from '../../../src/proto/packed';

describe('NodeClock', () => {
  it('knows nothing before the first sample', () => {
    expect(new NodeClock().noLaterThan(1000)).to.equal(undefined);
  });

  it('moves a local instant by the offset, less half the round trip it was measured with', () => {
    const c = new NodeClock();
    // Sent at 1000, answered at 1010; the node read 5005 meanwhile: offset 4000 +- 5.
    c.record(1000, 1010, 5005);
    expect(c.noLaterThan(2000)).to.equal(2000 + 4000 - 5);
  });

  it('believes the sample with the shortest round trip of its window', () => {
    const c = new NodeClock(3);
    c.record(0, 200, 1050); // slow: offset 950 +- 100
    c.record(1000, 1002, 2001); // quick: offset 1000 +- 1
    c.record(2000, 2100, 3070); // slow again: 1020 +- 50
    expect(c.noLaterThan(0)).to.equal(999);
    // Three more slow ones push the quick one out of the window.
    for (let i = 0; i < 3; i++) c.record(3000, 3040, 4010); // offset 990 +- 20
    expect(c.noLaterThan(0)).to.equal(970);
  });

  it('knows nothing again once reset (a new stream, maybe to a restarted node)', () => {
    const c = new NodeClock();
    c.record(1000, 1002, 2001);
    c.reset();
    expect(c.noLaterThan(0)).to.equal(undefined);
  });

  it('drops at once the samples a clock step made wrong', () => {
    const c = new NodeClock();
    c.record(1000, 1002, 2001); // offset 1000 +- 1, then the node's clock was set back
    c.record(3000, 3040, 3020); // offset 0 +- 20: cannot be true with the first
    expect(c.noLaterThan(0)).to.equal(-20);
  });

  it('keeps no sample whose reply came before its send (the clock stepped back)', () => {
    const c = new NodeClock();
    c.record(1000, 900, 5000);
    expect(c.noLaterThan(0)).to.equal(undefined);
  });
});

describe('packed frames with a trailing number', () => {
  it('reads a positive integer after the operations as the trailing number, and nothing else', () => {
    expect(trailingNumberOf(unpackFrame(packFrame(1, 50, [[0, 'k', 0]], 123)))).to.equal(123);
    expect(trailingNumberOf(unpackFrame(packFrame(1, 50, [[0, 'k', 0]])))).to.equal(undefined);
    expect(trailingNumberOf([1, 50])).to.equal(undefined);
    for (const bad of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, '7'])
      expect(trailingNumberOf([1, 50, [0, 'k', 0], bad]), String(bad)).to.equal(undefined);
  });

  it("ends every part of a reply in parts with the node's clock", () => {
    const big = Buffer.alloc(3 * 1024 * 1024);
    const parts = packReply(
      7,
      1,
      [
        [0, true, big],
        [0, true, big],
      ],
      4242,
    ).map(unpackFrame);
    expect(parts).to.have.lengthOf(2);
    for (const p of parts) {
      expect(p).to.have.lengthOf(4);
      expect(trailingNumberOf(p)).to.equal(4242);
    }
  });

  it('takes a refusal followed by a clock for a refusal of the whole frame', () => {
    const failure = [8, 'frame asks for too many operations', ''];
    expect(refusedFrameResults([3, 1, failure, 4242], 2)).to.deep.equal([failure, failure]);
    expect(refusedFrameResults([3, 1, failure], 2)).to.deep.equal([failure, failure]);
    expect(refusedFrameResults([3, 1, failure, [0, true], 4242], 2)).to.equal(undefined);
  });
});
