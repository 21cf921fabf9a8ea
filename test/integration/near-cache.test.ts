import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ChangeWatch } from '../../src/client/change-watch';
import { loadServices } from '../../src/proto/load';
import type { WatchEventMsg } from '../../src/proto/messages';
import { TestCluster, until } from '../support/cluster';
import { limitRefusals } from '../support/node-metrics';

/**
 * Run by `node -e` with [seeds, the nodes' HTTP addresses, refusals of max_output_buffer_bytes so
 * far]: writes keys with 900-byte names (1 KB change events) until a node ended a change stream for
 * that limit, then sets nc:behind to 1 at ALL.
 */
const FLOOD_WRITER = `
const { RingCache } = require(${JSON.stringify(path.resolve(__dirname, '../../src/index.js'))});
const [seeds, https, before] = JSON.parse(process.argv[1]);
const { limitRefusals } = require(${JSON.stringify(path.resolve(__dirname, '../support/node-metrics.js'))});
const refused = async () => {
  let n = 0;
  for (const http of https) n += await limitRefusals(http, 'max_output_buffer_bytes');
  return n;
};
(async () => {
  const c = await RingCache.connect({ seeds });
  const long = 'x'.repeat(900);
  for (let i = 0; (await refused()) <= before; i++) {
    if (i === 400) throw new Error('200 MB of change events written, and no node ended a change stream');
    await Promise.all(Array.from({ length: 500 }, (_, j) => c.set('nc-flood/' + long + i + '-' + j, 1)));
  }
  await c.set('nc:behind', 1, { consistency: 'all' });
  await c.close();
})().catch((err) => { console.error(err); process.exit(1); });
`;

/** A raw Cache/Watch stream, as any gRPC client would open it. */
function rawWatch(address: string, prefix: string): { events: WatchEventMsg[]; close: () => void } {
  const { Cache } = loadServices();
  const client = new Cache(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    Watch(req: object): grpc.ClientReadableStream<WatchEventMsg>;
  };
  const events: WatchEventMsg[] = [];
  const stream = client.Watch({ prefix });
  stream.on('data', (e: WatchEventMsg) => events.push(e));
  stream.on('error', () => undefined);
  return {
    events,
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

describe('Cache/Watch and the near cache (issue 14 §3, §4)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3 });
  });
  after(() => t?.stop());

  it('streams the changes of a prefix, numbered, after an opening event', async () => {
    const cache = await t.client();
    // Watched at the key's first replica, which coordinates its touch: the other replicas receive
    // the touched copy as a replica write, a SET event.
    const at = cache.replicasOf('w:1')[0]!;
    const w = rawWatch(t.address(at), 'w:');
    try {
      await until('the opening event', () => w.events.length === 1);
      await cache.set('w:1', 'a', { consistency: 'all' });
      await cache.set('x:1', 'not watched', { consistency: 'all' });
      // Every write at ALL, so that n1 applies each before it is acknowledged: at the default W a
      // replica that cannot be reached at once right after the start gets a hint instead, and its
      // event may come after this test's wait (the touch's once did, in CI at 3a23072).
      await cache.touch('w:1', 60_000, { consistency: 'all' });
      await cache.delete('w:1', { consistency: 'all' });
      // A write the SDK sent again after a broken connection may be applied twice, under two
      // versions: so events are checked by what they say, not counted.
      await until('the delete event', () => w.events.some((e) => e.kind === 2)).catch((err: Error) => {
        const seen = w.events.map((e) => [e.sequence, e.key, e.kind]);
        throw new Error(`${err.message}; events seen: ${JSON.stringify(seen)}`);
      });
      expect(w.events[0], 'the opening event').to.include({ sequence: 0, key: '', kind: 0, node: at });
      expect(
        w.events.map((e) => e.sequence),
        'numbered one by one',
      ).to.deep.equal(w.events.map((_, i) => i));
      const changes = w.events.slice(1);
      expect(
        changes.map((e) => e.key),
        'only the prefix watched',
      ).to.deep.equal(changes.map(() => 'w:1'));
      expect(changes.every((e) => e.node === at)).to.equal(true);
      // A set, then a touch, then a delete, in that order, among what was streamed.
      const kinds = changes.map((e) => e.kind);
      const touchAt = kinds.indexOf(3, kinds.indexOf(1));
      const deleteAt = kinds.indexOf(2, touchAt);
      expect(
        [kinds.indexOf(1), touchAt, deleteAt],
        `set, touch, delete in ${JSON.stringify(kinds)}`,
      ).to.satisfy((at: number[]) => at.every((i) => i >= 0));
      const set = changes.find((e) => e.kind === 1)!;
      const deleted = changes.find((e) => e.kind === 2)!;
      expect(deleted.version?.timestamp).to.be.above(set.version!.timestamp);
    } finally {
      w.close();
    }
  });

  it('serves the new value once the change event has arrived, and never an older one than it saw', async () => {
    const reader = await t.client({ nearCache: { maxEntries: 1000, ttlMs: 60_000 } });
    const writer = await t.client();
    await writer.set('nc:k', 0, { consistency: 'all' });
    const seen: number[] = [];
    let lagMs = 0;
    for (let i = 1; i <= 50; i++) {
      // Cached: the second read is served from the process.
      await until('the value cached', async () => {
        seen.push((await reader.get<number>('nc:k')) ?? -1);
        const before = reader.nearCacheStats()!.hits;
        seen.push((await reader.get<number>('nc:k')) ?? -1);
        return reader.nearCacheStats()!.hits > before;
      });
      const invalidations = reader.nearCacheStats()!.invalidations;
      const writtenAt = Date.now();
      // At ALL: the reader's next get reads one replica, which must hold the write (W + R > N).
      await writer.set('nc:k', i, { consistency: 'all' });
      // Polled every millisecond for the lag figure; waited for as long as a loaded machine needs.
      await until(
        'the change event',
        () => reader.nearCacheStats()!.invalidations > invalidations,
        30_000,
        1,
      );
      lagMs = Math.max(lagMs, Date.now() - writtenAt);
      const after = await reader.get<number>('nc:k');
      expect(after, `read after the event of change ${i}`).to.equal(i);
      seen.push(after!);
    }
    const backwards = seen.filter((v, i) => i > 0 && v < seen[i - 1]!);
    expect(backwards, 'a value older than one already read').to.deep.equal([]);
    console.log(
      `      50 changes: each event reached the reader within ${lagMs} ms of the write; near cache ${JSON.stringify(reader.nearCacheStats())}`,
    );
  });

  it('never outlives its ttlMs, nor the TTL the value has in the cluster', async function () {
    this.timeout(120_000);
    // A near-cache TTL well above the value's cluster TTL: an entry of `nc:short` kept for ttlMs
    // instead of the cluster's TTL would still be served after the latter, and fail the check below.
    const nearTtlMs = 6000;
    const clusterTtlMs = 2000;
    const reader = await t.client({ nearCache: { ttlMs: nearTtlMs } });
    const writer = await t.client();
    // Nothing is cached until the reader's change streams to every node are open: served from the
    // process once a second read of a key in a row is a hit.
    const cachedHit = async (key: string): Promise<boolean> => {
      await reader.get(key);
      const before = reader.nearCacheStats()!.hits;
      const value = await reader.get(key);
      return value !== undefined && reader.nearCacheStats()!.hits > before;
    };
    await writer.set('nc:warm', 'v', { consistency: 'all' });
    await until('a warm-up key served from the near cache', () => cachedHit('nc:warm'), 30_000);
    await writer.set('nc:ttl', 'v', { consistency: 'all' });
    // Written again whenever the cluster already let it expire (a busy machine may take that long to
    // cache it): only the entry's bound below matters, counted from when the hit was seen.
    let cachedBy = 0;
    await until(
      'both keys served from the near cache',
      async () => {
        if ((await reader.get('nc:short')) === undefined)
          await writer.set('nc:short', 'v', { ttl: clusterTtlMs, consistency: 'all' });
        if (!(await cachedHit('nc:ttl')) || !(await cachedHit('nc:short'))) return false;
        cachedBy = Date.now();
        return true;
      },
      30_000,
    );
    // Each entry was read (and its expiry set) before `cachedBy`: nc:short's at most clusterTtlMs
    // from then (the remaining TTL a node answers), nc:ttl's at most nearTtlMs.
    const readAfter = async (key: string, ms: number): Promise<{ value: unknown; missed: boolean }> => {
      const wait = cachedBy + ms + 50 - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const misses = reader.nearCacheStats()!.misses;
      const value = await reader.get(key);
      return { value, missed: reader.nearCacheStats()!.misses === misses + 1 };
    };
    expect(
      await readAfter('nc:short', clusterTtlMs),
      'past its cluster TTL: expired, not served',
    ).to.deep.equal({
      value: undefined,
      missed: true,
    });
    expect(await readAfter('nc:ttl', nearTtlMs), 'past ttlMs: served from the cluster').to.deep.equal({
      value: 'v',
      missed: true,
    });
  });

  it('empties when a node ends the change stream of a reader that fell behind, then serves the new value', async function () {
    this.timeout(180_000);
    const reader = await t.client({ nearCache: { maxEntries: 1000, ttlMs: 600_000 } });
    const writer = await t.client();
    await writer.set('nc:behind', 0, { consistency: 'all' });
    await until('nc:behind served from the near cache', async () => {
      await reader.get('nc:behind');
      const hits = reader.nearCacheStats()!.hits;
      await reader.get('nc:behind');
      return reader.nearCacheStats()!.hits > hits;
    });
    const resets = reader.nearCacheStats()!.resets;
    // This process reads nothing while another one writes: each node holds the events of the
    // reader's change stream, until one of them passes max_output_buffer_bytes and that node ends
    // the stream. The last write, of the cached key, comes after: its event on that stream is lost.
    const https = t.config.nodes.map((n) => n.http);
    const refused = async () => {
      let n = 0;
      for (const http of https) n += await limitRefusals(http, 'max_output_buffer_bytes');
      return n;
    };

    const refusedBefore = await refused();
    execFileSync(process.execPath, ['-e', FLOOD_WRITER, JSON.stringify([t.seeds, https, refusedBefore])], {
      stdio: 'inherit',
      timeout: 150_000,
    });
    expect(await refused(), 'change streams a node ended for max_output_buffer_bytes').to.be.above(
      refusedBefore,
    );
    await until('the near cache emptied at the gap', () => reader.nearCacheStats()!.resets > resets, 30_000);
    await until('the new value read', async () => (await reader.get('nc:behind')) === 1, 30_000);
  });

  it('empties itself when a node it watches goes away, and fills again once all are back', async () => {
    const reader = await t.client({ nearCache: {} });
    await reader.set('nc:gap', 'v');
    await until('cached', async () => {
      await reader.get('nc:gap');
      return reader.nearCacheStats()!.entries > 0;
    });
    const resets = reader.nearCacheStats()!.resets;
    await t.cluster.kill('n2', 'SIGKILL');
    await until('a reset', () => reader.nearCacheStats()!.resets > resets);
    expect(reader.nearCacheStats()!.entries).to.equal(0);
    await reader.get('nc:gap');
    expect(reader.nearCacheStats()!.entries, 'nothing kept while a stream is down').to.equal(0);
    await t.cluster.startNode('n2');
    await until(
      'caching again',
      async () => {
        await reader.get('nc:gap');
        return reader.nearCacheStats()!.entries > 0;
      },
      15_000,
      100,
    );
  });
});

describe('ChangeWatch against a node that skips a sequence number', () => {
  it('says the watch is not live at the gap (the near cache empties), then live again', async () => {
    const server = new grpc.Server();
    const { Cache } = loadServices();
    let send: ((e: WatchEventMsg) => void) | undefined;
    server.addService(Cache.service, {
      Watch: (call: grpc.ServerWritableStream<unknown, WatchEventMsg>) => {
        send = (e) => call.write(e);
        send({ sequence: 0, key: '', kind: 0, version: null, node: 'fake' });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const live: boolean[] = [];
    const changed: string[] = [];
    const watch = new ChangeWatch({ onChange: (k) => changed.push(k), onLive: (l) => live.push(l) });
    try {
      watch.watch(new Map([['fake', `127.0.0.1:${port}`]]));
      await until('live', () => live.at(-1) === true);
      send!({ sequence: 1, key: 'a', kind: 1, version: { timestamp: 1, node: 'fake' }, node: 'fake' });
      send!({ sequence: 3, key: 'b', kind: 1, version: { timestamp: 2, node: 'fake' }, node: 'fake' });
      await until('the gap seen', () => changed.length === 2);
      // Not live at the gap (the near cache empties), live again from the next event on.
      expect(live).to.deep.equal([true, false, true]);
    } finally {
      watch.stop();
      server.forceShutdown();
    }
  });
});

describe('ChangeWatch against a node that ends the watch of a reader that fell behind', () => {
  it('is not live once the node ends it (the near cache empties), then live again on a new stream', async () => {
    const server = new grpc.Server();
    const { Cache } = loadServices();
    let opened = 0;
    server.addService(Cache.service, {
      Watch: (call: grpc.ServerWritableStream<unknown, WatchEventMsg>) => {
        opened++;
        call.write({ sequence: 0, key: '', kind: 0, version: null, node: 'fake' });
        // What a node does to a watcher past max_output_buffer_bytes (watch-service.ts).
        if (opened === 1)
          setImmediate(() =>
            call.emit('error', {
              code: grpc.status.RESOURCE_EXHAUSTED,
              details:
                'watcher fell behind: 300000 bytes of events held unread; limits.max_output_buffer_bytes is 262144',
            }),
          );
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    const live: boolean[] = [];
    const watch = new ChangeWatch({ onChange: () => undefined, onLive: (l) => live.push(l) });
    try {
      watch.watch(new Map([['fake', `127.0.0.1:${port}`]]));
      await until('live again on a second stream', () => opened === 2 && live.at(-1) === true, 30_000);
      expect(live).to.deep.equal([true, false, true]);
    } finally {
      watch.stop();
      server.forceShutdown();
    }
  });
});
