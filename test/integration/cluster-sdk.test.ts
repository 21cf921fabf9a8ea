import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import { LocalCluster } from '../../src/cli/local-cluster';
import { UnaryClient } from '../../src/cli/unary-client';
import type { StatsResponseMsg } from '../../src/proto/messages';
import { PackedConnection } from '../../src/transport/packed-connection';
import type { PackedOp } from '../../src/proto/packed';
import { PipelineConnection } from '../../src/transport/pipeline-connection';
import { Ring } from '../../src/ring/ring';
import { RingCache, RingCacheError, type ErrorCode } from '../../src/index';
import { TestCluster, testConfig, until } from '../support/cluster';
import { freePorts } from '../support/ports';
import type { ClusterMap } from '../../src/client/topology-client';

/** The client's cluster map with its ring (RingCache.cluster shows users less). */
const mapOf = (c: { cluster: unknown }) => c.cluster as ClusterMap;

async function expectError(p: Promise<unknown>, code: ErrorCode, pattern?: RegExp): Promise<RingCacheError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(RingCacheError);
    const e = err as RingCacheError;
    expect(e.code, e.message).to.equal(code);
    if (pattern) expect(e.message).to.match(pattern);
    return e;
  }
  return expect.fail(`expected RingCacheError ${code}`);
}

describe('a 3-node cluster (N=1) and the SDK that routes on the ring', function () {
  let t: TestCluster;
  let cache: RingCache;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 1, writeQuorum: 1, readQuorum: 1 });
    cache = await t.client();
  });
  after(() => t?.stop());

  describe('every SDK method', () => {
    it('stores strings, Buffers and JS values, and reads them back as they were', async () => {
      const obj = { name: 'Ada', tags: ['x', 'y'], n: 42, nested: { ok: true, when: null } };
      await cache.set('s', 'plain text');
      await cache.set('b', Buffer.from([1, 2, 3]));
      await cache.set('o', obj);
      expect(await cache.get('s')).to.equal('plain text');
      expect(await cache.get<Buffer>('b')).to.deep.equal(Buffer.from([1, 2, 3]));
      expect(await cache.get('o')).to.deep.equal(obj);
      expect(await cache.get('never')).to.equal(undefined);
    });

    it('sets with a TTL, touches and deletes', async () => {
      const setAt = Date.now();
      await cache.set('ttl-key', 'v', { ttl: 60_000 });
      const entry = await cache.getEntry('ttl-key');
      expect(entry!.ttlMs).to.be.within(60_000 - (Date.now() - setAt) - 1, 60_000);
      expect(await cache.touch('ttl-key', 0)).to.equal(true);
      expect((await cache.getEntry('ttl-key'))!.ttlMs).to.equal(0);
      expect(await cache.delete('ttl-key')).to.equal(true);
      expect(await cache.get('ttl-key')).to.equal(undefined);
      expect(await cache.touch('ttl-key', 1000)).to.equal(false);
    });

    it('respects set modes', async () => {
      expect(await cache.set('nx', 1, { mode: 'ifAbsent' })).to.equal(true);
      expect(await cache.set('nx', 2, { mode: 'ifAbsent' })).to.equal(false);
      expect(await cache.set('xx-missing', 1, { mode: 'ifPresent' })).to.equal(false);
      expect(await cache.get('nx')).to.equal(1);
    });

    it('increments counters', async () => {
      expect(await cache.incr('counter')).to.equal(1);
      expect(await cache.incr('counter', 9)).to.equal(10);
      expect(await cache.incr('counter-from', 1, { initial: 100 })).to.equal(101);
      await cache.set('not-a-number', 'abc');
      await expectError(cache.incr('not-a-number'), 'NOT_AN_INTEGER');
    });

    it('compare-and-sets, and throws VERSION_CONFLICT on a stale version', async () => {
      await cache.set('cas-key', 'v1');
      const e1 = await cache.getEntry('cas-key');
      const v2 = await cache.cas('cas-key', e1!.version, 'v2');
      expect(v2.timestamp).to.be.greaterThan(e1!.version.timestamp);
      await expectError(cache.cas('cas-key', e1!.version, 'v3'), 'VERSION_CONFLICT');
      expect(await cache.get('cas-key')).to.equal('v2');
    });

    it('getMany returns values in the order asked, across nodes', async () => {
      const keys = Array.from({ length: 60 }, (_, i) => `many-${i}`);
      const owners = new Set(keys.map((k) => mapOf(cache).ring.owner(k)));
      expect(owners.size).to.equal(3);
      const stored = await cache.setMany(keys.map((key, i) => ({ key, value: i })));
      expect(stored.every(Boolean)).to.equal(true);
      const values = await cache.getMany<number>([...keys, 'many-absent'].reverse());
      expect(values).to.deep.equal([undefined, ...keys.map((_, i) => i).reverse()]);
    });
  });

  describe('routing', () => {
    it('stores each key on exactly the node the ring names', async () => {
      const before = await statsByNode(t);
      const keys = Array.from({ length: 300 }, (_, i) => `owned-${i}`);
      await cache.setMany(keys.map((key) => ({ key, value: 'x' })));
      const after = await statsByNode(t);
      const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes });
      for (const id of ['n1', 'n2', 'n3']) {
        const expected = keys.filter((k) => ring.owner(k) === id).length;
        expect(after.get(id)!.keys - before.get(id)!.keys, `keys on ${id}`).to.equal(expected);
      }
    });

    it('batches concurrent calls bound for one node into one frame', async () => {
      const fresh = await t.client();
      await fresh.get('warm-up'); // opens the stream to one node
      const before = fresh.framesSent();
      await Promise.all(Array.from({ length: 300 }, (_, i) => fresh.set(`batch-${i}`, i)));
      const after = fresh.framesSent();
      const sent = (id: string) => (after.get(id) ?? 0) - (before.get(id) ?? 0);
      // 300 calls over 3 nodes in one event-loop turn go out as one frame per node. Not asserted
      // exactly: a frame that outlives its flight budget on a busy machine is sent again, and the
      // node is probed, each a frame of its own. One frame per call would be 300.
      for (const id of ['n1', 'n2', 'n3']) expect(sent(id), `frames to ${id}`).to.be.at.least(1);
      const total = ['n1', 'n2', 'n3'].reduce((n, id) => n + sent(id), 0);
      expect(300 / total, `calls per frame (${total} frames)`).to.be.at.least(10);
    });

    it('a node receiving a key it does not own forwards it to the owner and answers correctly', async () => {
      const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes });
      const key = Array.from({ length: 100 }, (_, i) => `fwd-${i}`).find((k) => ring.owner(k) === 'n2')!;
      await cache.set(key, 'on-n2');
      const stale = new PipelineConnection({ address: t.address('n1') }); // a client with a wrong idea of the ring
      let epoch = 0;
      const withEpoch = new PipelineConnection({ address: t.address('n1'), onEpoch: (e) => (epoch = e) });
      try {
        const res = await withEpoch.send({ op: 'get', get: { key, consistency: 0 } }, Date.now() + 3000);
        expect(res.code).to.equal(0);
        expect(res.get!.value.toString()).to.equal('on-n2');
        expect(epoch).to.equal(1);
        const set = await stale.send(
          {
            op: 'set',
            set: { key, value: Buffer.from('via-n1'), flags: 1, ttlMs: 0, mode: 0, consistency: 0 },
          },
          Date.now() + 3000,
        );
        expect(set.code).to.equal(0);
        expect(set.set!.version!.node).to.equal('n2'); // written by the owner, not by n1
        expect(await cache.get(key)).to.equal('via-n1');
      } finally {
        stale.close();
        withEpoch.close();
      }
    });

    it('answers packed gets from the local store, and forwards or refuses the ones it cannot', async () => {
      // PipelinePacked answers a get of a key this node holds without the general operation path;
      // this checks that shortcut gives the same answers as that path.
      const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: t.config.vnodes });
      const keys = Array.from({ length: 200 }, (_, i) => `packed-${i}`);
      const mine = keys.find((k) => ring.owner(k) === 'n1')!;
      const theirs = keys.find((k) => ring.owner(k) === 'n3')!;
      const setAt = Date.now();
      await cache.set(mine, 'here', { ttl: 60_000 });
      await cache.set(theirs, 'there');
      const conn = new PackedConnection({ address: t.address('n1') });
      try {
        const deadline = Date.now() + 3000;
        const [hit, miss, forwarded, badKey, unknownKind] = await Promise.all([
          conn.send([0, mine, 0], deadline),
          conn.send([0, `${mine}-absent`, 0], deadline),
          conn.send([0, theirs, 0], deadline),
          conn.send([0, '', 0], deadline),
          conn.send([9, mine] as unknown as PackedOp, deadline), // a kind no node knows
        ]);
        expect(hit.slice(0, 2)).to.deep.equal([0, true]);
        expect(Buffer.from(hit[2] as Uint8Array).toString()).to.equal('here');
        expect(hit[5]).to.equal('n1'); // version node
        expect(hit[6]).to.be.within(60_000 - (Date.now() - setAt) - 1, 60_000); // remaining ttl
        expect(miss).to.deep.equal([0, false]);
        expect(forwarded.slice(0, 2)).to.deep.equal([0, true]);
        expect(Buffer.from(forwarded[2] as Uint8Array).toString()).to.equal('there');
        expect(forwarded[5]).to.equal('n3');
        expect(badKey[0]).to.equal(3); // INVALID_ARGUMENT
        expect(badKey[2]).to.equal('INVALID_ARGUMENT');
        expect(unknownKind[0]).to.equal(3);
        expect(unknownKind[1]).to.match(/operation 4 is malformed or of an unknown kind/);
      } finally {
        conn.close();
      }
    });

    it('refuses values the codec cannot encode before anything is sent', async () => {
      const fresh = await t.client();
      await expectError(fresh.set('fn', { f: () => 1 }), 'INVALID_ARGUMENT', /value\.f is a function/);
      await expectError(fresh.set('sym', [Symbol('x')]), 'INVALID_ARGUMENT', /value\[0\] is a symbol/);
      await expectError(fresh.set('undef', undefined), 'INVALID_ARGUMENT', /undefined/);
      expect([...fresh.framesSent().values()].reduce((a, b) => a + b, 0)).to.equal(0);
    });

    it('reports a key over the limit with a typed error', async () => {
      await expectError(cache.set('k'.repeat(2000), 1), 'KEY_TOO_LARGE', /max_key_bytes is 1024/);
    });
  });
});

describe('a 3-node cluster (N=1) with a node killed', () => {
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 1, writeQuorum: 1, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('the SDK sees the stopped node through the topology watch, and keys owned by others still work', async () => {
    const watcher = await t.client();
    await t.cluster.kill('n3', 'SIGKILL');
    await until(
      'n3 marked dead in the client',
      () => watcher.cluster.members.get('n3')?.state === 'dead',
      20_000,
    );
    const ring = mapOf(watcher).ring;
    const key = Array.from({ length: 50 }, (_, i) => `alive-${i}`).find((k) => ring.owner(k) !== 'n3')!;
    await watcher.set(key, 'still here');
    expect(await watcher.get(key)).to.equal('still here');
  });
});

describe('connecting and starting with bad input', () => {
  it('fails after the deadline when no seed answers, listing what was tried', async () => {
    // One seed takes the connection and never says a word: only the deadline ends the wait for it.
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const mute = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
    const [refusing] = await freePorts(1);
    try {
      const err = await expectError(
        RingCache.connect({ seeds: [mute, `127.0.0.1:${refusing}`], timeoutMs: 800, connectTimeoutMs: 1000 }),
        'UNAVAILABLE',
      );
      expect(err.message).to.match(/no ringcache node answered within 800 ms/);
      expect(err.message).to.include(`${mute}: no answer before the deadline`);
      expect(err.message).to.include(`127.0.0.1:${refusing}`);
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('says when a seed is not a ringcache node', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      await expectError(
        RingCache.connect({ seeds: [`127.0.0.1:${port}`], timeoutMs: 1000, connectTimeoutMs: 1500 }),
        'UNAVAILABLE',
        new RegExp(`127.0.0.1:${port}`),
      );
    } finally {
      server.close();
    }
  });

  it('refuses malformed seeds', async () => {
    await expectError(RingCache.connect({ seeds: [] }), 'INVALID_ARGUMENT', /seeds/);
    await expectError(RingCache.connect({ seeds: ['no-port'] }), 'INVALID_ARGUMENT', /host:port/);
  });

  it('`up` says which node and port when a port is already in use', async () => {
    const config = await testConfig({ nodes: 2, factor: 1 });
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(config.nodes[1]!.port, '127.0.0.1', r));
    const cluster = new LocalCluster(config);
    try {
      await cluster.start().then(
        () => expect.fail('start should fail'),
        (err: Error) =>
          expect(err.message).to.match(
            new RegExp(`node n2: port ${config.nodes[1]!.port} on 127.0.0.1 is already in use`),
          ),
      );
      expect(cluster.isRunning('n1')).to.equal(false);
    } finally {
      blocker.close();
      await cluster.stop();
    }
  });
});

async function statsByNode(t: TestCluster): Promise<Map<string, StatsResponseMsg>> {
  const out = new Map<string, StatsResponseMsg>();
  for (const n of t.config.nodes) {
    const c = new UnaryClient(n.address);
    try {
      out.set(n.id, await c.cluster<StatsResponseMsg>('Stats', {}));
    } finally {
      c.close();
    }
  }
  return out;
}
