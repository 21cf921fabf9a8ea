import { expect } from 'chai';
import { RingCacheError } from '../../../../src/errors';
import { ballot, counter, parts } from './replica-fixture';

/**
 * A replica's answers to a read-modify-write round. Its accept may reach it twice (sent again after
 * a connection broke, say); the copy that arrives after the replica promised a higher ballot must
 * not hide that it took the first.
 */
describe('ReadModifyWriteReplica: an accept that arrives twice', () => {
  const replica = () => parts().replica;
  const a = ballot(1, 'n2');
  const b = ballot(2, 'n1');
  const q = { id: 'client-62', outcome: { kind: 'incr' as const, value: 31, version: a } };

  // The simulator's 'duplicates' scenario, seed 739: on cb73550 the second copy was refused, its
  // refusal reached the coordinator first, and with its other replica refusing too the coordinator
  // took the round for one that left nothing anywhere; the retry applied the increment again.
  it('answers the copy as taken, though a higher ballot was promised in between', () => {
    const r = replica();
    expect(r.prepare('c0', { ballot: a, requestIds: [q.id] }).refused).to.equal(undefined);
    expect(r.accept({ key: 'c0', record: counter(31, a) }, [q])).to.equal(undefined);
    expect(r.prepare('c0', { ballot: b, requestIds: [] }).refused, 'b promised').to.equal(undefined);
    expect(r.accept({ key: 'c0', record: counter(31, a) }, [q]), 'the copy').to.equal(undefined);
  });

  // Seed 1112: a round that completes a record another left short of its quorum accepts it again,
  // with the requests it carries, at its own ballot. A copy of that accept is the one taken now.
  it('answers as taken a copy of an accept that carried a request again, at a later ballot', () => {
    const r = replica();
    r.prepare('c0', { ballot: a, requestIds: [q.id] });
    r.accept({ key: 'c0', record: counter(31, a) }, [q]);
    const c = ballot(3, 'n1');
    r.prepare('c0', { ballot: c, requestIds: [q.id] });
    expect(r.accept({ key: 'c0', record: counter(31, c) }, [q]), 'the completing accept').to.equal(undefined);
    r.prepare('c0', { ballot: ballot(4, 'n2'), requestIds: [] });
    expect(r.accept({ key: 'c0', record: counter(31, c) }, [q]), 'its copy').to.equal(undefined);
  });

  it('answers as taken a copy of an accept it took, after a newer copy of the record came with no promise', () => {
    const { replica, copies } = parts();
    replica.prepare('c0', { ballot: a, requestIds: [q.id] });
    expect(replica.accept({ key: 'c0', record: counter(31, a) }, [q])).to.equal(undefined);
    // Read repair, say: a newer record, and no prepare.
    copies.take({ key: 'c0', record: counter(32, ballot(3, 'n1')) });
    expect(replica.accept({ key: 'c0', record: counter(31, a) }, [q]), 'the copy').to.equal(undefined);
  });

  // Leases with two coordinators, seed 218,477 (W = 3): n1 coordinated a retry of a request n2's
  // round was accepting, promised its own ballot, and read n2's record from n3. n2's accept reached
  // n1 after that: taken as a copy seen again, it made n2's round reach W and its caller told n2's
  // version, while n1's round, which had counted n1 among those that did not remember the request,
  // wrote the record again at its own ballot.
  it("refuses an accept below its promise whose record it took only after promising, through its own round's read", () => {
    const { replica, ballots, copies, store } = parts();
    store.applyRecord('c0', counter(30, ballot(0, 'n3')));
    // This node's own round at b promises b (round-prepare.ts), then takes the copy a replica sent.
    expect(ballots.prepare('c0', b, store.versionOf('c0'), 0)).to.equal(undefined);
    copies.take({ key: 'c0', record: counter(31, a), madeBy: [q] }, { ownRoundBallot: b });
    const refused = replica.accept({ key: 'c0', record: counter(31, a) }, [q]);
    expect(refused, "a's accept, after b was promised").to.be.instanceOf(RingCacheError);
    expect((refused as RingCacheError).code).to.equal('ABORTED');
  });

  it('still refuses, below a higher promise, an accept it never took, even of a request it knows', () => {
    const r = replica();
    r.prepare('c0', { ballot: a, requestIds: [q.id] });
    r.accept({ key: 'c0', record: counter(31, a) }, [q]);
    r.prepare('c0', { ballot: b, requestIds: [] });
    // Another round (another coordinator, a lower ballot) that also carries q: not the accept taken.
    const other = ballot(1, 'n1');
    const refused = r.accept({ key: 'c0', record: counter(33, other) }, [
      { ...q, outcome: { ...q.outcome, version: other } },
    ]);
    expect(refused).to.be.instanceOf(RingCacheError);
    expect((refused as RingCacheError).code).to.equal('ABORTED');
    // Nor is a round with no request it took answered as taken.
    const fresh = { id: 'client-70', outcome: { kind: 'incr' as const, value: 32, version: a } };
    expect((r.accept({ key: 'c0', record: counter(32, a) }, [fresh]) as RingCacheError).code).to.equal(
      'ABORTED',
    );
  });
});

describe('ReadModifyWriteReplica: a prepare answer', () => {
  const a = ballot(1, 'n2');
  const q = { id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: a } };

  it('names the requests whose accept made the record it sends, so a coordinator that builds on it carries them on', () => {
    const { replica } = parts();
    expect(replica.accept({ key: 'c1', record: counter(6, a) }, [q])).to.equal(undefined);
    const found = replica.prepare('c1', { ballot: ballot(2, 'n1'), requestIds: [] });
    expect(found.record?.version).to.deep.equal(a);
    expect(found.madeBy).to.deep.equal([q]);
  });

  it('names none for a record no accept made, and sends no record with a refusal', () => {
    const { store, replica } = parts();
    store.applyRecord('c1', counter(6, a));
    expect(replica.prepare('c1', { ballot: ballot(2, 'n1'), requestIds: [] })).to.not.have.property('madeBy');
    expect(replica.prepare('c1', { ballot: ballot(1, 'n0'), requestIds: [] })).to.include({
      record: undefined,
    });
  });
});
