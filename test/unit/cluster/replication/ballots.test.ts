import { expect } from 'chai';
import { BallotFence, PROMISE_WINDOW_MS } from '../../../../src/cluster/replication/ballots';

const v = (timestamp: number, node = 'n1') => ({ timestamp, node });

describe('BallotFence (read-modify-write prepare and accept)', () => {
  it('grants a ballot above the held version and refuses one at or below it, naming the fence', () => {
    const f = new BallotFence();
    expect(f.prepare('k', v(10), v(5), 0)).to.equal(undefined);
    expect(new BallotFence().prepare('k', v(5), v(5), 0)).to.deep.equal(v(5));
    expect(new BallotFence().prepare('k', v(4, 'n9'), v(5), 0)).to.deep.equal(v(5));
  });

  it('refuses a prepare at or below a ballot promised before, and grants a higher one', () => {
    const f = new BallotFence();
    f.prepare('k', v(10, 'n1'), undefined, 0);
    expect(f.prepare('k', v(9, 'n2'), undefined, 0)).to.deep.equal(v(10, 'n1'));
    expect(f.prepare('k', v(10, 'n1'), undefined, 0)).to.deep.equal(v(10, 'n1'));
    expect(f.prepare('k', v(10, 'n2'), undefined, 0)).to.equal(undefined); // node id breaks the tie
    expect(f.prepare('other', v(1), undefined, 0)).to.equal(undefined); // per key
  });

  it('keeps refusing below a promise dropped for room within its window', () => {
    const f = new BallotFence();
    f.prepare('k', v(20, 'n2'), v(5), 0); // the oldest promise, of the highest ballot here
    for (let i = 1; i <= 100_000; i++) f.prepare(`other-${i}`, v(6), undefined, 0);
    // A round that lost 'k' to ballot 20 before it was dropped may not finish here now.
    expect(f.accepts('k', v(10, 'n1'), v(5))).to.deep.equal(v(20, 'n2'));
    expect(f.prepare('k', v(10, 'n1'), v(5), 0)).to.deep.equal(v(20, 'n2'));
    // The dropped promise's own round may still finish: its accept is at the ballot promised.
    expect(f.accepts('k', v(20, 'n2'), v(5))).to.equal(undefined);
    expect(f.prepare('k', v(21, 'n1'), v(5), 0)).to.equal(undefined);
    // A copy of a record below the dropped promise may come from a round this node would refuse.
    expect(f.promisedAbove('never-promised', v(10, 'n1'))).to.equal(true);
    expect(f.promisedAbove('never-promised', v(20, 'n2'))).to.equal(false); // the promised round's own
    expect(f.promisedAbove('never-promised', v(22, 'n1'))).to.equal(false);
  });

  it('refuses the accept of a coordinator that lost the key to a higher ballot', () => {
    const f = new BallotFence();
    f.prepare('k', v(10, 'n1'), undefined, 0);
    f.prepare('k', v(20, 'n2'), undefined, 0);
    expect(f.accepts('k', v(10, 'n1'), undefined)).to.deep.equal(v(20, 'n2'));
    expect(f.accepts('k', v(20, 'n2'), undefined)).to.equal(undefined);
  });

  it('refuses an accept below the version a round reached, and takes the same one again', () => {
    const f = new BallotFence();
    f.prepare('k', v(20), undefined, 0);
    f.reached('k', v(20), 0);
    expect(f.accepts('k', v(10), v(20))).to.deep.equal(v(20)); // a slow coordinator's late write
    expect(f.accepts('k', v(20), v(20))).to.equal(undefined); // the same accept, resent
  });

  it('keeps a promise that a lower version reached', () => {
    const f = new BallotFence();
    f.prepare('k', v(20), undefined, 0);
    f.reached('k', v(19), 0);
    expect(f.prepare('k', v(19, 'n9'), v(19), 1)).to.deep.equal(v(20));
  });

  // The record that is the fence may go before every round of a lower ballot has ended: evicted
  // under memory pressure, or its tombstone purged. On a64362c the fence went with it, and a late
  // accept of a round that had lost the key was taken over a record the winner had built on.
  it('keeps the fence a round reached for the window, also once the record is gone', () => {
    const f = new BallotFence();
    f.prepare('k', v(10, 'n1'), undefined, 0); // round 1 prepared here, its accept slow
    f.prepare('k', v(20, 'n2'), undefined, 1); // round 2 wins the key
    f.reached('k', v(20, 'n2'), 2); // and its record is accepted here
    // The record is evicted (held: undefined): the late accept of round 1 is refused all the same.
    expect(f.accepts('k', v(10, 'n1'), undefined)).to.deep.equal(v(20, 'n2'));
    expect(f.prepare('k', v(15, 'n3'), undefined, 3)).to.deep.equal(v(20, 'n2'));
    // An accept that reached a replica no prepare asked fences the key there too.
    const g = new BallotFence();
    g.reached('k', v(20, 'n2'), 0);
    expect(g.accepts('k', v(10, 'n1'), undefined)).to.deep.equal(v(20, 'n2'));
    // Past the window no round of a lower ballot is still alive: the fence may go.
    expect(g.prepare('k', v(15, 'n3'), undefined, PROMISE_WINDOW_MS + 1)).to.equal(undefined);
  });

  it('forgets a promise no accept followed within the window', () => {
    const f = new BallotFence();
    f.prepare('k', v(20), undefined, 0);
    f.prepare('j', v(1), undefined, PROMISE_WINDOW_MS + 1);
    expect(f.size).to.equal(1);
    expect(f.prepare('k', v(15), undefined, PROMISE_WINDOW_MS + 1)).to.equal(undefined);
  });
});
