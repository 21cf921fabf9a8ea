import { expect } from 'chai';
import { ballot, counter, NOW, parts } from './replica-fixture';

describe('RecordCopies: the requests a copy brings', () => {
  const a = ballot(1, 'n2');
  const q = { id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: a } };

  it('remembers them with the record they made, as its accept would have', () => {
    const { store, requests, replica, copies } = parts();
    store.applyRecord('c1', counter(6, a));
    copies.remember('c1', a, [q]);
    expect(requests.get(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
    expect(replica.prepare('c1', { ballot: ballot(2, 'n1'), requestIds: [q.id] }).known).to.deep.equal([q]);
  });

  it('remembers those that wrote nothing whatever record it holds: their first outcome stands', () => {
    const { store, requests, copies } = parts();
    store.applyRecord('r3', counter(6, ballot(3, 'n1')));
    const refused = { id: 'client-17', outcome: { kind: 'set' as const, stored: false, version: undefined } };
    copies.remember('r3', a, [refused, q]);
    expect(requests.getFirsthand(refused.id, 'r3', NOW)).to.deep.equal(refused.outcome);
    expect(requests.getFirsthand(q.id, 'r3', NOW)).to.equal(undefined);
  });

  it('keeps them as heard of when the replica holds another record (a newer one holds them or not on its own)', () => {
    const { store, requests, replica, copies } = parts();
    store.applyRecord('c1', counter(9, ballot(3, 'n1')));
    store.applyRecord('c1', counter(6, a));
    copies.remember('c1', a, [q]);
    copies.remember('other', a, [{ ...q, id: 'client-6' }]);
    expect(requests.getFirsthand(q.id, 'c1', NOW)).to.equal(undefined);
    expect(requests.getFirsthand('client-6', 'other', NOW)).to.equal(undefined);
    // Heard of: known here, and to a prepare that asks (lest its round apply it again), but this
    // replica is not one of those that took it.
    expect(requests.get(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
    const answer = replica.prepare('c1', { ballot: ballot(4, 'n1'), requestIds: [q.id] });
    expect(answer.known).to.deep.equal([]);
    expect(answer.heard).to.deep.equal([q]);
  });

  it('keeps them as heard of when the replica promised a higher ballot for the key, unless its own round reads the copy', () => {
    // The round that promised never read this record and will write over it: counted here, a
    // request whose round missed its quorum would look chosen.
    const { requests, ballots, copies } = parts();
    expect(ballots.prepare('c1', ballot(2, 'n1'), undefined, NOW)).to.equal(undefined);
    expect(copies.take({ key: 'c1', record: counter(6, a), madeBy: [q] })).to.equal(true);
    expect(requests.getFirsthand(q.id, 'c1', NOW)).to.equal(undefined);
    expect(requests.get(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
    // A coordinator's own prepare reads the copy: its round builds on the record.
    const own = parts();
    expect(own.ballots.prepare('c1', ballot(2, 'n3'), undefined, NOW)).to.equal(undefined);
    own.copies.take({ key: 'c1', record: counter(6, a), madeBy: [q] }, { ownRoundBallot: ballot(2, 'n3') });
    expect(own.requests.getFirsthand(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
  });

  // Late retries, seed 302,518: n1's round (ballot 2) was outbid by n2's (ballot 3), which read n1's
  // older record; n1's prepare then read a newer copy, of a round that had missed its quorum. Taken
  // firsthand, n1 counted among the replicas that took that round's increment, and its retry was
  // answered as applied after n2's round wrote over it.
  it("keeps them as heard of when its own round's copy comes after a promise above that round's ballot", () => {
    const { requests, ballots, copies } = parts();
    expect(ballots.prepare('c1', ballot(2, 'n1'), undefined, NOW)).to.equal(undefined);
    expect(ballots.prepare('c1', ballot(3, 'n2'), undefined, NOW)).to.equal(undefined);
    copies.take({ key: 'c1', record: counter(6, a), madeBy: [q] }, { ownRoundBallot: ballot(2, 'n1') });
    expect(requests.getFirsthand(q.id, 'c1', NOW)).to.equal(undefined);
    expect(requests.get(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
  });
});

describe('RecordCopies: a copy for another node, and one taken from it', () => {
  const a = ballot(1, 'n2');
  const q = { id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: a } };

  it('sends this node’s record with the requests whose accept made it, and only those', () => {
    const accepted = parts();
    expect(accepted.replica.accept({ key: 'c1', record: counter(6, a) }, [q])).to.equal(undefined);
    expect(accepted.copies.of('c1')).to.deep.equal({ key: 'c1', record: counter(6, a), madeBy: [q] });
    // A plain write made this record: the request is known, but did not make it.
    const plain = parts();
    plain.store.applyRecord('c1', counter(6, a));
    plain.requests.remember('c1', q, NOW);
    expect(plain.copies.of('c1')).to.deep.equal({ key: 'c1', record: counter(6, a) });
    expect(plain.copies.of('absent')).to.equal(undefined);
  });

  it('takes a copy with its requests, so that a retry’s prepare finds the request known', () => {
    const from = parts();
    expect(from.replica.accept({ key: 'c1', record: counter(6, a) }, [q])).to.equal(undefined);
    const to = parts();
    expect(to.copies.apply(from.copies.of('c1')!)).to.equal(true);
    expect(to.replica.prepare('c1', { ballot: ballot(2, 'n1'), requestIds: [q.id] }).known).to.deep.equal([
      q,
    ]);
  });

  it('takes no request with a copy older than the record it holds, but hears of it', () => {
    const { store, requests, copies } = parts();
    store.applyRecord('c1', counter(9, ballot(3, 'n1')));
    expect(copies.apply({ key: 'c1', record: counter(6, a), madeBy: [q] })).to.equal(false);
    expect(requests.getFirsthand(q.id, 'c1', NOW)).to.equal(undefined);
    expect(requests.get(q.id, 'c1', NOW)).to.deep.equal(q.outcome);
  });
});

describe('RecordCopies.take: one copy among those a read or round hears', () => {
  it('leaves out a copy this node’s limits refuse, and keeps its own', () => {
    const { store, copies } = parts();
    store.applyRecord('k', counter(1, ballot(1, 'n1')));
    const tooLarge = { ...counter(2, ballot(2, 'n2')), value: Buffer.alloc(1 << 17) };
    expect(() => copies.apply({ key: 'k', record: tooLarge })).to.throw();
    expect(copies.take({ key: 'k', record: tooLarge })).to.equal(false);
    expect(store.readRecord('k')?.version).to.deep.equal(ballot(1, 'n1'));
    expect(copies.take({ key: 'k', record: counter(3, ballot(3, 'n2')) })).to.equal(true);
  });
});
