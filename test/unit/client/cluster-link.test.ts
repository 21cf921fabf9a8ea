import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { RingCacheError } from '../../../src/errors';
import { ClusterLink } from '../../../src/client/cluster-link';
import type { TopologyClient } from '../../../src/client/topology-client';

/** A topology client whose every fetch fails with `error`, counting fetches and closes. */
function failingTopology(error: RingCacheError) {
  const counts = { fetches: 0, closes: 0 };
  const topology = {
    fetch: () => {
      counts.fetches++;
      return Promise.reject(error);
    },
    close: () => {
      counts.closes++;
    },
  } as unknown as TopologyClient;
  return { topology, counts };
}

function linkOf(topology: TopologyClient, events: EventEmitter): ClusterLink {
  return new ClusterLink({
    seeds: ['127.0.0.1:1'],
    timeoutMs: 100,
    topology,
    routing: { maxRetries: 3, maxOpsPerFrame: 256, maxFramesInFlight: 1 },
    watchTopology: false,
    tls: undefined,
    token: undefined,
    events,
    onMap: () => undefined,
  });
}

describe('ClusterLink', () => {
  it('stays closed when an error listener closes it: no reconnecting, no second attempt', async () => {
    const refused = new RingCacheError('UNAUTHENTICATED', 'bad token');
    const { topology, counts } = failingTopology(refused);
    const events = new EventEmitter();
    const seen: string[] = [];
    const closed = new Promise<void>((resolve) => {
      events.on('error', (err: RingCacheError) => {
        seen.push(`error ${err.code}`);
        // The fetch fails after a turn of the event loop, by when `link` is set.
        void link.close().then(resolve);
      });
    });
    events.on('reconnecting', () => seen.push('reconnecting'));
    const link = linkOf(topology, events);
    await closed;
    expect(seen).to.deep.equal(['error UNAUTHENTICATED']);
    expect(link.status).to.equal('closed');
    expect(link.closed).to.equal(true);
    expect(counts).to.deep.equal({ fetches: 1, closes: 1 });
    await link.whenReady(1000).then(
      () => expect.fail('a closed link is never ready'),
      (err: RingCacheError) => expect(err.message).to.match(/closed/),
    );
  });

  it('stays closed when a reconnecting listener closes it', async () => {
    const { topology, counts } = failingTopology(new RingCacheError('UNAVAILABLE', 'no node answered'));
    const events = new EventEmitter();
    const closed = new Promise<void>((resolve) =>
      events.on('reconnecting', () => void link.close().then(resolve)),
    );
    const link = linkOf(topology, events);
    await closed;
    expect(link.status).to.equal('closed');
    expect(counts.fetches).to.equal(1);
  });

  it('fails the calls waiting for a first connection when closed, and closes once', async () => {
    const { topology, counts } = failingTopology(new RingCacheError('UNAVAILABLE', 'no node answered'));
    const link = linkOf(topology, new EventEmitter());
    const waiting = link.whenReady(60_000);
    await Promise.all([link.close(), link.close()]);
    await waiting.then(
      () => expect.fail('a closed link is never ready'),
      (err: RingCacheError) => expect(err.message).to.match(/closed/),
    );
    expect(counts.closes).to.equal(1);
  });
});
