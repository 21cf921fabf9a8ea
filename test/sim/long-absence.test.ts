import { expect } from 'chai';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { SimCluster } from './sim-cluster';
import { deleteOp, setOp } from './ops';

/**
 * A replica away for longer than tombstone_grace_ms: the deletes made meanwhile are forgotten by the
 * others (their tombstones purged), so whatever it still holds of those keys must not come back.
 * N=3, W=2 on three nodes; grace 60 s, hints kept 30 s, the tombstone sweep on, anti-entropy on.
 */
describe('a replica away for longer than the tombstone grace', function () {
  this.timeout(120_000);

  const GRACE_MS = 60_000;

  const set = (value: string) => setOp(value, 'all');

  function cluster(seed: number): SimCluster {
    const c = new SimCluster({
      seed,
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 2,
      antiEntropyMs: 5000,
      tombstoneGraceMs: GRACE_MS,
      sweepIntervalMs: 1000,
    });
    c.startAll();
    return c;
  }

  /** `op` run on `id`, and what it came to once `forMs` of virtual time passed. */
  async function outcomeOf(c: SimCluster, id: string, op: Operation, forMs: number): Promise<unknown> {
    let outcome: unknown = 'pending';
    const deadlineMs = c.time.now() + 3000;
    void Promise.resolve(c.core(id)!.execute(op, { forwarded: false, deadlineMs })).then(
      (o: Outcome) => (outcome = o),
    );
    await c.time.runUntil(c.time.now() + forMs);
    return outcome;
  }

  /** Every node that holds a live copy of `k`. */
  const holders = (c: SimCluster) =>
    c.ids().filter((id) => {
      const r = c.core(id)?.store.readRecord('k');
      return r !== undefined && !r.tombstone;
    });

  async function stopAll(c: SimCluster): Promise<void> {
    let stopped = false;
    void c.stopAll().then(() => (stopped = true));
    await c.time.runUntil(c.time.now() + 20_000);
    expect(stopped).to.equal(true);
  }

  const isolate = (c: SimCluster, id: string) => {
    for (const other of c.ids()) {
      if (other === id) continue;
      c.net.cut(id, other);
      c.net.cut(other, id);
    }
  };

  // v1 on A, B and C (n1, n2, n3); C is cut off for 70 s; the delete is acknowledged by A and B,
  // whose tombstones are purged at 60 s; at the heal anti-entropy copied C's v1 back to A and B (a
  // key the other side lacks is copied), and a read at ALL returned v1.
  it('brings no deleted value back when it returns from a partition', async () => {
    const c = cluster(41);
    await c.time.runUntil(c.time.now() + 1000);
    expect(await outcomeOf(c, 'n1', set('v1'), 100)).to.deep.include({ stored: true });
    expect(holders(c)).to.deep.equal(['n1', 'n2', 'n3']);

    isolate(c, 'n3');
    await c.time.runUntil(c.time.now() + 100);
    const deleted = await outcomeOf(c, 'n1', deleteOp(), 3500);
    expect(deleted).to.deep.include({ kind: 'delete', deleted: true });
    await c.time.runUntil(c.time.now() + 70_000 - 3600);
    expect(c.core('n1')!.store.readRecord('k'), "A's tombstone purged").to.equal(undefined);

    c.net.healAll();
    await c.time.runUntil(c.time.now() + 20_000);
    const read = await outcomeOf(c, 'n1', { kind: 'get', key: 'k', consistency: 'all' }, 3500);
    expect(read, 'a read at ALL').to.deep.equal({ kind: 'get', entry: undefined });
    expect(holders(c), 'nodes holding v1').to.deep.equal([]);
    expect(
      c.ids().map((id) => c.core(id)!.absence.drops),
      'data drops per node',
    ).to.deep.equal([0, 0, 1]);
    expect(c.core('n3')!.catchingUp, 'n3 caught up again').to.equal(false);
    await stopAll(c);
  });

  // The same absence as a pause (SIGSTOP): the node's own timers stop with it, so it never sees its
  // peers as dead. The delete is made once the others took it for dead, so none is sent to it.
  it('brings no deleted value back when it resumes from a long pause', async () => {
    const c = cluster(42);
    await c.time.runUntil(c.time.now() + 1000);
    expect(await outcomeOf(c, 'n1', set('v1'), 100)).to.deep.include({ stored: true });

    c.pause('n3');
    for (let t = 0; t < 50 && c.core('n1')!.membership.state('n3') !== 'dead'; t++) {
      await c.time.runUntil(c.time.now() + 200);
    }
    expect(c.core('n1')!.membership.state('n3'), 'n3 seen dead').to.equal('dead');
    const deleted = await outcomeOf(c, 'n1', deleteOp(), 100);
    expect(deleted).to.deep.include({ kind: 'delete', deleted: true });
    await c.time.runUntil(c.time.now() + 70_000);
    expect(c.core('n1')!.store.readRecord('k'), "A's tombstone purged").to.equal(undefined);

    c.resume('n3');
    await c.time.runUntil(c.time.now() + 20_000);
    const read = await outcomeOf(c, 'n2', { kind: 'get', key: 'k', consistency: 'all' }, 3500);
    expect(read, 'a read at ALL').to.deep.equal({ kind: 'get', entry: undefined });
    expect(holders(c), 'nodes holding v1').to.deep.equal([]);
    expect(
      c.ids().map((id) => c.core(id)!.absence.drops),
      'data drops per node',
    ).to.deep.equal([0, 0, 1]);
    expect(c.core('n3')!.catchingUp, 'n3 caught up again').to.equal(false);
    await stopAll(c);
  });

  // v1..v5 acknowledged at W=2; n2 and n3 crash and stay down 70 s, so n1 is cut off past the limit;
  // they restart empty (memory only). n1 dropped its data at the limit, the restarted nodes caught
  // up from it with nothing, and a read at ALL found none of the acknowledged writes.
  it('keeps every acknowledged write when the others crash for longer than the limit', async () => {
    const c = cluster(44);
    await c.time.runUntil(c.time.now() + 1000);
    const keys = ['a', 'b', 'c', 'd', 'e'];
    for (const key of keys) {
      const write = { ...set(`v-${key}`), key, consistency: 'default' as const };
      expect(await outcomeOf(c, 'n1', write, 100)).to.deep.include({ stored: true });
    }
    c.crash('n2');
    c.crash('n3');
    await c.time.runUntil(c.time.now() + 70_000);
    c.restart('n2');
    c.restart('n3');
    await c.time.runUntil(c.time.now() + 20_000);
    for (const id of c.ids())
      for (const key of keys)
        expect(c.core(id)!.store.readRecord(key)?.value.toString(), `${key} on ${id}`).to.equal(`v-${key}`);
    for (const key of keys) {
      const read = await outcomeOf(c, 'n2', { kind: 'get', key, consistency: 'all' }, 3500);
      expect(read, `a read of ${key} at ALL`).to.have.nested.property('entry.value');
      expect((read as { entry: { value: Buffer } }).entry.value.toString()).to.equal(`v-${key}`);
    }
    expect(c.core('n1')!.absence.drops, 'data drops on n1').to.equal(0);
    expect(c.core('n1')!.absence.restores, 'data set aside and kept on n1').to.equal(1);
    expect(c.core('n1')!.catchingUp, 'n1 serves again').to.equal(false);
    await stopAll(c);
  });

  it('keeps its data when it returns before the limit, and the delete reaches it', async () => {
    const c = cluster(43);
    await c.time.runUntil(c.time.now() + 1000);
    for (const key of ['k', 'kept'])
      expect(await outcomeOf(c, 'n1', { ...set('v1'), key }, 100)).to.deep.include({ stored: true });

    isolate(c, 'n3');
    await c.time.runUntil(c.time.now() + 100);
    const deleted = await outcomeOf(c, 'n1', deleteOp(), 3500);
    expect(deleted).to.deep.include({ kind: 'delete', deleted: true });
    await c.time.runUntil(c.time.now() + 10_000);
    c.net.healAll();
    await c.time.runUntil(c.time.now() + 20_000);
    expect(c.core('n3')!.store.readRecord('kept')?.value.toString(), 'its copy of a live key').to.equal('v1');
    expect(c.core('n3')!.store.readRecord('k')?.tombstone, 'the delete reached it').to.equal(true);
    expect(c.core('n3')!.absence.drops, 'data drops').to.equal(0);
    await stopAll(c);
  });
});
