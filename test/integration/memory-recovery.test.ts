import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { UnaryClient } from '../../src/cli/unary-client';
import { metric, metricsOf, TestCluster, until } from '../support/cluster';
import { FLOOD_SUSPICION_TIMEOUT_MS, peerViewsOf, Victim } from '../support/victim';

const KiB = 1024;
const MiB = 1024 * KiB;

/** The status of a call that is expected to fail: OK when it did not. */
async function codeOf(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
    return { code: grpc.status.OK, details: '' };
  } catch (err) {
    const e = err as grpc.ServiceError;
    return { code: e.code, details: e.details };
  }
}

/**
 * A node's memory guard keeps its RSS within a target by making the store hold less than max_memory
 * while the rest of the process needs the room. A client flood must not be such a need: what clients
 * may hold of a node is bounded by its budgets, and past them they are refused. So a flood evicts no
 * key written before it while the store is below max_memory, leaves the node serving other clients
 * and its peers, and once it ends the store has all of max_memory again.
 */
/**
 * Waits until n1's memory guard presses its store no more. A timeout names what the guard last read
 * (a rest of the process that does not come down, RSS held over the target, collections that do
 * not run).
 */
async function pressureGone(t: TestCluster): Promise<void> {
  await until(
    'n1 presses its store no more',
    async () => {
      const m = await metricsOf(t, 'n1', [
        'ringcache_memory_pressure_bytes',
        'ringcache_memory_rest_bytes',
        'ringcache_memory_guard_collections_total',
        'process_resident_memory_bytes',
        'ringcache_store_bytes',
      ]);
      if (m.ringcache_memory_pressure_bytes === 0) return true;
      throw new Error(`n1's /metrics: ${JSON.stringify(m)}`);
    },
    60_000,
  );
}

describe('the memory guard through client floods', function () {
  this.timeout(300_000);
  let t: TestCluster;
  let c: UnaryClient;
  const kept = 24_000;

  before(async () => {
    // Peers judge the flooded node dead only if it stays silent for 10 s (see victim.ts).
    t = await TestCluster.start({
      nodes: 3,
      maxMemoryBytes: 64 * MiB,
      suspicionTimeoutMs: FLOOD_SUSPICION_TIMEOUT_MS,
      // Replies of 30 MB below: cluster.yml's default at 64 MiB is 8 MiB.
      limits: { maxReplyBytes: 32 * MiB },
    });
    c = new UnaryClient(t.address('n1'), 60_000);
    // 24,000 keys of 1 KiB (about 27 MB of the store's 64 MiB) on every node, at ALL.
    const value = Buffer.alloc(KiB, 1);
    for (let i = 0; i < kept; i += 500) {
      const items = Array.from({ length: 500 }, (_, j) => ({ key: `kept/${i + j}`, value }));
      await c.cache('SetMany', { items, consistency: 3 });
    }
    // The store's pressure left by the writes above has gone: the floods start from a node at rest.
    await pressureGone(t);
  });
  after(async () => {
    c?.close();
    await t?.stop();
  });

  it('evicts no key written before floods of large replies and large writes, and serves others through them', async () => {
    const evictedBefore = await metric(t, 'n1', 'ringcache_store_evictions_total');
    const victim = new Victim(t.address('n1'));
    const flooders = Array.from({ length: 4 }, () => new UnaryClient(t.address('n1'), 60_000));
    const answers = new Map<string, number>();
    const count = (s: { code: number; details: string }) => {
      const limit = /limits\.(\w+)/.exec(s.details)?.[1];
      const name = `${grpc.status[s.code]}${limit ? ` ${limit}` : s.code ? ` ${s.details}` : ''}`;
      answers.set(name, (answers.get(name) ?? 0) + 1);
    };
    /** Each flooder sends `call()` eight at a time, one after another, for `ms`. */
    const flood = (ms: number, call: (f: UnaryClient, i: number) => Promise<unknown>) => {
      const endAt = Date.now() + ms;
      let i = 0;
      return Promise.all(
        flooders.flatMap((f) =>
          Array.from({ length: 8 }, async () => {
            while (Date.now() < endAt) count(await codeOf(call(f, i++)));
          }),
        ),
      );
    };
    let flooded = 0;
    try {
      // Replies: one 100 KiB key asked 300 times per GetMany (30 MB, within max_reply_bytes).
      await c.cache('Set', { key: 'big', value: Buffer.alloc(100 * KiB, 2), consistency: 3 });
      const keys = new Array<string>(300).fill('big');
      await flood(8000, (f) => f.cache('GetMany', { keys }));
      // Each reply held is past an eighth of the budgets: n1 counts itself flooded, for its window.
      flooded = await metric(t, 'n1', 'ringcache_memory_guard_flooded');
      // Writes: 1 MiB values to 16 keys (16 MiB more in the store, which stays below max_memory).
      const big = Buffer.alloc(MiB, 3);
      await flood(8000, (f, i) => f.cache('Set', { key: `flood/${i % 16}`, value: big }));
    } finally {
      await victim.stop();
      for (const f of flooders) f.close();
    }
    const report = `flood answers ${JSON.stringify([...answers])}; victim calls ${victim.calls}`;
    expect(victim.failures.slice(0, 5), report).to.deep.equal([]);
    const views = peerViewsOf(t, 'n1', ['n2', 'n3']);
    expect(views.dead, `peers that declared n1 dead (suspected ${views.suspicions} times)`).to.deep.equal([]);
    for (const name of answers.keys())
      expect(name, report).to.match(/^(OK|RESOURCE_EXHAUSTED max_client_(output|input)_bytes)$/);
    const evicted = (await metric(t, 'n1', 'ringcache_store_evictions_total')) - evictedBefore;
    expect(evicted, `keys n1 evicted; ${report}`).to.equal(0);
    expect(flooded, 'ringcache_memory_guard_flooded after the flood of replies').to.equal(1);
    // The store holds all of max_memory once the flood has gone, and n1 no longer counts itself flooded.
    await pressureGone(t);
    await until(
      'n1 no longer counts itself flooded',
      async () => {
        const now = await metric(t, 'n1', 'ringcache_memory_guard_flooded');
        if (now !== 0) throw new Error(`ringcache_memory_guard_flooded ${now}`);
        return true;
      },
      60_000,
    );
    const read = await c.cache<{ results: { found: boolean }[] }>('GetMany', {
      keys: Array.from({ length: 1000 }, (_, i) => `kept/${i * 24}`),
      consistency: 1,
    });
    expect(read.results.filter((r) => !r.found)).to.have.length(0);
  });
});
