import { expect } from 'chai';
import { pino } from 'pino';
import { DEFAULT_GOSSIP_CONFIG } from '../../../../src/cluster/membership/config';
import { Membership } from '../../../../src/cluster/membership/membership';
import { MAX_INCARNATION } from '../../../../src/cluster/membership/precedence';
import type { MemberState } from '../../../../src/cluster/membership/types';
import { FakeScheduler } from './fake-cluster';

/** Node `me` among a and b, with no network: only what handlePing is given reaches it. */
function node(selfId: string, refused: string[]): Membership {
  return new Membership({
    selfId,
    memberIds: ['me', 'a', 'b'],
    config: DEFAULT_GOSSIP_CONFIG,
    transport: {
      ping: () => Promise.reject(new Error('no network')),
      pingReq: () => Promise.reject(new Error('no network')),
    },
    logger: pino({ level: 'silent' }),
    scheduler: new FakeScheduler(),
    initialIncarnation: 1_700_000_000_000,
    onUpdateRefused: () => refused.push(selfId),
  });
}

describe('Membership refuses incarnations out of bounds', () => {
  it('ignores and counts a dead claim above MAX_INCARNATION, changing nothing and refuting nothing', () => {
    const refused: string[] = [];
    const a = node('a', refused);
    const me = node('me', refused);
    const changes: MemberState[] = [];
    a.onChange((_m, _from, to) => changes.push(to));
    const forged = { id: 'me', state: 'dead' as const, incarnation: Number.MAX_SAFE_INTEGER };

    a.handlePing('b', [forged]);
    const answer = me.handlePing('b', [forged]);

    expect(a.member('me')).to.include({ state: 'alive', incarnation: 0 });
    expect(changes).to.deep.equal([]);
    expect(me.member('me')).to.include({ state: 'alive', incarnation: 1_700_000_000_000 });
    expect(answer).to.deep.equal([]);
    expect(refused).to.deep.equal(['a', 'me']);
    expect(a.updatesRefused).to.equal(1);
  });

  it('lets a member accused dead at MAX_INCARNATION refute, and every member takes the refutation', () => {
    const refused: string[] = [];
    const a = node('a', refused);
    const me = node('me', refused);
    const accusation = { id: 'me', state: 'dead' as const, incarnation: MAX_INCARNATION };

    a.handlePing('b', [accusation]);
    expect(a.state('me')).to.equal('dead');
    const refutation = me.handlePing('b', [accusation]);
    expect(refutation[0]).to.deep.equal({ id: 'me', state: 'alive', incarnation: MAX_INCARNATION + 1 });
    a.handlePing('me', refutation);

    expect(a.member('me')).to.include({ state: 'alive', incarnation: Number.MAX_SAFE_INTEGER });
    expect(refused).to.deep.equal([]);
  });
});
