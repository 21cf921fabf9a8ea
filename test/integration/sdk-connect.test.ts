import { expect } from 'chai';
import Keyv from 'keyv';
import { once } from 'node:events';
import { LocalCluster } from '../../src/cli/local-cluster';
import type { ClusterMap } from '../../src/client/topology-client';
import { RingCache, RingCacheError } from '../../src/index';
import { KeyvRingCache } from '../../src/keyv';
import { testConfig, TestCluster, until } from '../support/cluster';
import { freePorts } from '../support/ports';

/** A cluster's config on free ports, not started: clients can be made before it exists. */
async function laterCluster(): Promise<{ cluster: LocalCluster; seeds: string[] }> {
  const config = await testConfig({ nodes: 3 });
  return { cluster: new LocalCluster(config), seeds: config.nodes.map((n) => n.address) };
}

/** The next `event` of `emitter` (events.once would reject on an 'error' event, which these clients emit too). */
function nextEvent<T = unknown>(emitter: RingCache, event: string): Promise<T> {
  return new Promise<T>((resolve) => emitter.once(event, resolve));
}

describe('an application that starts before its cache cluster', function () {
  this.timeout(90_000);
  const started: LocalCluster[] = [];
  const clients: { close(): Promise<void> }[] = [];

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(started.splice(0).map((c) => c.stop()));
  });

  it('connect() keeps trying the seeds with backoff and resolves once the cluster is up', async () => {
    const { cluster, seeds } = await laterCluster();
    // Nothing listens until the nodes have started, seconds later: the first attempts fail.
    const connecting = RingCache.connect({ seeds, connectTimeoutMs: 60_000 });
    started.push(cluster);
    await cluster.start();
    const cache = await connecting;
    clients.push(cache);
    expect(cache.status).to.equal('ready');
    await cache.set('late:1', 'v', { consistency: 'all' });
    expect(await cache.get('late:1')).to.equal('v');
  });

  it('new RingCache() answers UNAVAILABLE while the cluster is down, says so in its events, and serves once it is up', async () => {
    const { cluster, seeds } = await laterCluster();
    const cache = new RingCache({ seeds, timeoutMs: 500 });
    clients.push(cache);
    const errors: unknown[] = [];
    cache.on('error', (err) => errors.push(err));
    const reconnecting = await nextEvent<{ delayMs: number; error: RingCacheError }>(cache, 'reconnecting');
    expect(reconnecting.error.code).to.equal('UNAVAILABLE');
    expect(reconnecting.delayMs).to.be.greaterThan(0);
    expect(cache.status).to.equal('reconnecting');
    const early = await cache.get('late:2').then(
      () => undefined,
      (e: unknown) => e as RingCacheError,
    );
    expect(early?.code).to.equal('UNAVAILABLE');
    expect(early?.message).to.match(/not connected to the cluster after 500 ms; last attempt: /);
    expect(errors.length).to.be.greaterThan(0);

    const ready = nextEvent(cache, 'ready');
    started.push(cluster);
    await cluster.start();
    await ready;
    expect(cache.status).to.equal('ready');
    await cache.set('late:2', 2, { consistency: 'all' });
    expect(await cache.get('late:2')).to.equal(2);
  });

  it('a call made before the first connection waits for it within its deadline', async () => {
    const { cluster, seeds } = await laterCluster();
    const cache = new RingCache({ seeds });
    clients.push(cache);
    await nextEvent(cache, 'reconnecting');
    const call = cache.set('late:3', 3, { timeoutMs: 60_000, consistency: 'all' });
    started.push(cluster);
    await cluster.start();
    expect(await call).to.equal(true);
    expect(await cache.get('late:3')).to.equal(3);
  });

  it('a Keyv store made while the cluster is down recovers when it comes up', async () => {
    const { cluster, seeds } = await laterCluster();
    const store = new KeyvRingCache({ seeds, timeoutMs: 500 });
    const keyv = new Keyv({ store, namespace: 'app' });
    clients.push({ close: () => keyv.disconnect() });
    const errors: unknown[] = [];
    keyv.on('error', (err) => errors.push(err));
    expect(await keyv.set('k', 'v').catch(() => false)).to.equal(false);
    started.push(cluster);
    await cluster.start();
    await until('the Keyv store to take a set', () => keyv.set('k', 'v').catch(() => false), 30_000);
    expect(await keyv.get('k')).to.equal('v');
    expect(errors.length).to.be.greaterThan(0);
  });

  it('connect() gives up after connectTimeoutMs with the last failure, naming the seeds', async () => {
    const [port] = await freePorts(1);
    const err = await RingCache.connect({ seeds: [`127.0.0.1:${port}`], connectTimeoutMs: 1500 }).then(
      () => undefined,
      (e: unknown) => e as RingCacheError,
    );
    expect(err?.code).to.equal('UNAVAILABLE');
    expect(err?.message).to.match(
      /not connected to the cluster after 1500 ms; last attempt: .*127\.0\.0\.1:/,
    );
  });
});

describe('a connected client: AbortSignal, topology and close events', function () {
  this.timeout(90_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3 });
  });
  after(() => t?.stop());

  it('rejects a call whose signal is aborted with the signal’s reason', async () => {
    const cache = await t.client();
    const reason = new Error('user left the page');
    const aborted = await cache.get('sig:1', { signal: AbortSignal.abort(reason) }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(aborted).to.equal(reason);
    const controller = new AbortController();
    const pending = cache.set('sig:2', 2, { signal: controller.signal });
    controller.abort();
    const err = await pending.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // Aborted before its answer, or answered first: either way the call settled, and never hung.
    if (err) expect(err.name).to.equal('AbortError');
    expect(await cache.get('sig:3', { signal: new AbortController().signal })).to.equal(undefined);
  });

  it("puts keyPrefix before every key it uses, flush included, and reports replicas by the caller's key", async () => {
    const plain = await t.client();
    const app = await t.client({ keyPrefix: 'app1:' });
    await plain.set('other:k', 'theirs', { consistency: 'all' });
    await app.set('k', 'mine', { consistency: 'all' });
    await app.setMany([{ key: 'j', value: 1 }], { consistency: 'all' });
    expect(await plain.get('app1:k', { consistency: 'all' })).to.equal('mine');
    expect(await plain.get('app1:j', { consistency: 'all' })).to.equal(1);
    expect(await app.get('k')).to.equal('mine');
    expect(app.replicasOf('k')).to.deep.equal(plain.replicasOf('app1:k'));
    expect(app.replicasOf('k')).to.have.lengthOf(3);
    await app.flush();
    expect(await plain.get('app1:k', { consistency: 'all' })).to.equal(undefined);
    expect(await plain.get('other:k', { consistency: 'all' })).to.equal('theirs');
  });

  it('says how long a key has to live: ms, null for never, undefined for absent', async () => {
    const cache = await t.client();
    await cache.set('ttl:1', 1, { ttl: 60_000, consistency: 'all' });
    await cache.set('ttl:2', 2, { consistency: 'all' });
    const left = await cache.ttl('ttl:1', { consistency: 'all' });
    expect(left).to.be.a('number').within(1, 60_000);
    expect(await cache.ttl('ttl:2', { consistency: 'all' })).to.equal(null);
    expect(await cache.ttl('ttl:absent')).to.equal(undefined);
  });

  it('emits topology when a member dies, and close when closed', async () => {
    const cache = await t.client();
    const maps: ClusterMap[] = [];
    cache.on('topology', (map: ClusterMap) => maps.push(map));
    await t.cluster.kill('n3', 'SIGKILL');
    await until(
      'a topology event with n3 dead',
      () => maps.some((m) => m.members.get('n3')?.state === 'dead'),
      30_000,
    );
    const closed = once(cache, 'close');
    await cache.close();
    await closed;
    expect(cache.status).to.equal('closed');
  });
});
