import { expect } from 'chai';
import type { Scheduler } from '../../../../src/cluster/membership/types';
import { RingContact } from '../../../../src/cluster/ring-change/ring-contact';

/** A RingContact on a clock the test moves by hand; `peers` says whether some peer is alive. */
function setUp(limitMs: number) {
  let now = 1000;
  const peers = { alive: true };
  const scheduler = { now: () => now } as unknown as Scheduler;
  const contact = new RingContact({ scheduler, limitMs, peerAlive: () => peers.alive });
  return { contact, peers, advance: (ms: number) => (now += ms) };
}

describe('RingContact', () => {
  it('takes its ring for current until it has heard no peer for longer than the limit', () => {
    const { contact, advance } = setUp(900);
    advance(900);
    expect(contact.unconfirmed, 'at the limit').to.equal(false);
    advance(1);
    expect(contact.unconfirmed, 'past it').to.equal(true);
  });

  it('is confirmed again as soon as a peer holds the same ring', () => {
    const { contact, advance } = setUp(900);
    advance(5000);
    expect(contact.unconfirmed).to.equal(true);
    contact.confirm();
    expect(contact.unconfirmed).to.equal(false);
    advance(901);
    expect(contact.unconfirmed, 'and unconfirmed once more after another silence').to.equal(true);
  });

  it('answers from its own copy when it takes every peer for dead: there is no one else to ask', () => {
    const { contact, peers, advance } = setUp(900);
    advance(5000);
    peers.alive = false;
    expect(contact.unconfirmed).to.equal(false);
    peers.alive = true;
    expect(contact.unconfirmed, 'a peer seen alive again is asked first').to.equal(true);
  });
});
