import { expect } from 'chai';
import { BallotFence } from '../../../../src/cluster/replication/ballots';

const v = (timestamp: number, node = 'n1') => ({ timestamp, node });

/** The fences a restarted replica re-establishes instead of remembering (ballots.ts). */
describe('BallotFence after a restart', () => {
  it('is not settled until its fences are re-established, nor after its store was dropped', () => {
    const f = new BallotFence();
    expect(f.settled).to.equal(false);
    f.settle(v(100, 'n2'));
    expect(f.settled).to.equal(true);
    f.unsettle();
    expect(f.settled).to.equal(false);
  });

  it('refuses every prepare and accept at or below the floor, naming the floor, whatever the key', () => {
    const f = new BallotFence();
    f.settle(v(100, 'n2'));
    expect(f.prepare('k', v(100, 'n9'), undefined, 0)).to.deep.equal(v(100, 'n2'));
    expect(f.prepare('other', v(99, 'n1'), undefined, 0)).to.deep.equal(v(100, 'n2'));
    expect(f.accepts('k', v(50, 'n1'), undefined)).to.deep.equal(v(100, 'n2'));
    expect(f.size, 'nothing promised below the floor').to.equal(0);
    expect(f.prepare('k', v(101, 'n1'), undefined, 0)).to.equal(undefined);
    expect(f.accepts('k', v(101, 'n1'), undefined)).to.equal(undefined);
  });

  it('keeps the highest floor when settled again', () => {
    const f = new BallotFence();
    f.settle(v(100, 'n2'));
    f.unsettle();
    f.settle(v(80, 'n2'));
    expect(f.prepare('k', v(90), undefined, 0)).to.deep.equal(v(100, 'n2'));
    f.settle(v(200, 'n2'));
    expect(f.prepare('k', v(150), undefined, 0)).to.deep.equal(v(200, 'n2'));
  });

  it('fences nothing before the first settle: the node coordinating its own rounds is not held back', () => {
    const f = new BallotFence();
    expect(f.prepare('k', v(1), undefined, 0)).to.equal(undefined);
    expect(f.accepts('k', v(1), undefined)).to.equal(undefined);
  });
});
