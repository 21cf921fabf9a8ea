import { expect } from 'chai';
import type { PeerEndpoint } from '../../src/cluster/peer-transport';
import { RingCacheError } from '../../src/errors';
import { SimNetwork } from './sim-network';
import { VirtualTime } from './virtual-time';

describe("the simulator's network", () => {
  it('answers a call whose signal was aborted before it was made, at once, with UNAVAILABLE', async () => {
    const time = new VirtualTime();
    const net = new SimNetwork(time, () => 0.5);
    const host = (id: string) => ({ owner: `${id}#1`, endpoint: {} as PeerEndpoint, now: () => time.now() });
    net.attach('a', host('a'));
    net.attach('b', host('b'));
    const aborted = AbortSignal.abort();
    // It threw a ReferenceError (its deadline read before it was made) out of the caller's stack.
    const answer = await net.call<string | RingCacheError>(
      'a',
      'b',
      time.now() + 1000,
      () => 'answered',
      (err) => err,
      aborted,
    );
    expect(answer).to.be.instanceOf(RingCacheError);
    expect((answer as RingCacheError).code).to.equal('UNAVAILABLE');
  });
});
