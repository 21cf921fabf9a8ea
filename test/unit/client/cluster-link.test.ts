import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { RingCacheError } from '../../../src/errors';
import { ClusterLink } from '../../../src/client/cluster-link';
import { clusterMapOf, type ClusterMap, type TopologyClient } from '../../../src/client/topology-client';
import type { TopologyResponseMsg } from '../../../src/proto/messages';

/** A Topology answer of one member at `epoch` (nothing dials it: no call is made). */
function topologyAnswer(epoch: number): TopologyResponseMsg {
  return {
    clusterName: 't',
    epoch,
    members: [
      {
        id: 'n1',
        address: '127.0.0.1:1',
        httpAddress: '127.0.0.1:2',
        state: 1,
        incarnation: 0,
        sinceEpoch: 1,
      },
    ],
    departed: [],
    vnodes: 16,
    hashAlgorithm: 'md5',
    replication: { factor: 1, writeQuorum: 1, readQuorum: 1 },
    answeredBy: 'n1',
    catchingUp: false,
  };
}

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

  it('stays closed when a reconnecting listener closes it (no second attempt)', async () => {
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

  it('takes no topology a refresh brings after close()', async () => {
    let release: ((map: ClusterMap) => void) | undefined;
    let fetches = 0;
    const topology = {
      fetch: () =>
        ++fetches === 1
          ? Promise.resolve(clusterMapOf(topologyAnswer(1)))
          : new Promise<ClusterMap>((resolve) => (release = resolve)),
      close: () => undefined,
    } as unknown as TopologyClient;
    const events = new EventEmitter();
    const seen: string[] = [];
    events.on('topology', () => seen.push(`topology (${link.status})`));
    const link = linkOf(topology, events);
    await link.whenReady(1000);
    const refreshed = link.refreshTopology();
    const closed = link.close();
    release!(clusterMapOf(topologyAnswer(2)));
    await Promise.all([refreshed, closed]);
    expect(seen).to.deep.equal([]);
    expect(link.router?.map.epoch).to.equal(1);
  });

  it("leaves a 'ready' listener's throw to the application, without connecting again", () => {
    // In a process of its own: the throw is the application's uncaught error, which ends it.
    const script = `
      const { EventEmitter } = require('node:events');
      const { ClusterLink } = require(${JSON.stringify(require.resolve('../../../src/client/cluster-link'))});
      const { clusterMapOf } = require(${JSON.stringify(require.resolve('../../../src/client/topology-client'))});
      let fetches = 0;
      process.on('exit', () => process.stdout.write('fetches ' + fetches + '\\n'));
      const topology = { fetch: async () => (fetches++, clusterMapOf(${JSON.stringify(topologyAnswer(1))})), close() {} };
      const events = new EventEmitter();
      events.on('ready', () => { throw new Error('a bug in the listener'); });
      new ClusterLink({ seeds: ['127.0.0.1:1'], timeoutMs: 100, topology,
        routing: { maxRetries: 3, maxOpsPerFrame: 256, maxFramesInFlight: 1 }, watchTopology: false,
        tls: undefined, token: undefined, events, onMap: () => undefined });
      setTimeout(() => process.exit(0), 3000).unref();
    `;
    const run = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 20_000 });
    expect(run.stderr).to.include('a bug in the listener');
    expect(run.stdout).to.equal('fetches 1\n');
    expect(run.status).to.equal(1);
  });
});
