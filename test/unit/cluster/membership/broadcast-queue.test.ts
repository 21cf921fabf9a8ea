import { expect } from 'chai';
import { BroadcastQueue, retransmitLimit } from '../../../../src/cluster/membership/broadcast-queue';
import type { MemberUpdate } from '../../../../src/cluster/membership/types';

const alive = (id: string, incarnation = 1): MemberUpdate => ({ id, state: 'alive', incarnation });

describe('retransmitLimit', () => {
  // prettier-ignore
  const table: [clusterSize: number, limit: number][] = [
    [0, 3], [1, 3], [2, 5], [3, 6], [7, 9], [10, 11], [100, 20],
  ];
  for (const [clusterSize, limit] of table) {
    it(`sends each update ${limit} times in a cluster of ${clusterSize}`, () => {
      expect(retransmitLimit(clusterSize)).to.equal(limit);
    });
  }
});

describe('BroadcastQueue', () => {
  it('sends the newest update first and caps each message', () => {
    const q = new BroadcastQueue();
    for (const id of ['a', 'b', 'c']) q.enqueue(alive(id));
    expect(q.take(2, 10).map((u) => u.id)).to.deep.equal(['c', 'b']);
  });

  it('prefers updates sent fewer times, so none starves behind the cap', () => {
    const q = new BroadcastQueue();
    for (const id of ['a', 'b', 'c']) q.enqueue(alive(id));
    q.take(2, 10);
    expect(q.take(2, 10).map((u) => u.id)).to.deep.equal(['a', 'c']);
  });

  it('drops an update once it has been sent the limit number of times', () => {
    const q = new BroadcastQueue();
    q.enqueue(alive('a'));
    expect(q.take(5, 2)).to.have.length(1);
    expect(q.take(5, 2)).to.have.length(1);
    expect(q.take(5, 2)).to.deep.equal([]);
    expect(q.size).to.equal(0);
  });

  it('keeps one pending update per member: newer news replaces older and resets its count', () => {
    const q = new BroadcastQueue();
    q.enqueue({ id: 'a', state: 'suspect', incarnation: 4 });
    q.take(5, 3);
    q.enqueue(alive('a', 5));
    expect(q.size).to.equal(1);
    for (let i = 0; i < 3; i++) expect(q.take(5, 3)).to.deep.equal([alive('a', 5)]);
    expect(q.take(5, 3)).to.deep.equal([]);
  });

  it('always puts the priority member (self) first, however often it was sent', () => {
    const q = new BroadcastQueue('me');
    q.enqueue(alive('me', 9));
    q.take(1, 10);
    for (const id of ['a', 'b']) q.enqueue(alive(id));
    expect(q.take(1, 10)).to.deep.equal([alive('me', 9)]);
  });

  it('skips excluded members without charging them a transmit', () => {
    const q = new BroadcastQueue();
    q.enqueue(alive('a'));
    q.enqueue(alive('b'));
    expect(q.take(5, 1, new Set(['b']))).to.deep.equal([alive('a')]);
    expect(q.take(5, 1)).to.deep.equal([alive('b')]);
  });

  it('returns copies: callers cannot edit what is queued', () => {
    const q = new BroadcastQueue();
    const u = alive('a');
    q.enqueue(u);
    u.incarnation = 99;
    const [sent] = q.take(1, 5);
    sent!.incarnation = 50;
    expect(q.take(1, 5)).to.deep.equal([alive('a')]);
  });
});
