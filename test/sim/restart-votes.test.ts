import { expect } from 'chai';
import { NotCaughtUp, type ReplicaWrite } from '../../src/cluster/peer-transport';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { RingCacheError } from '../../src/errors';
import { SimCluster } from './sim-cluster';
import { setOp } from './ops';

/**
 * A replica that restarted empty answers its peers while it catches up. Its answers must not count
 * toward their quorums: its store proves nothing yet, and its ballot promises died with the process.
 * N=3, W=2, R=2: every node replicates every key.
 */
describe('a restarted replica while it catches up', function () {
  this.timeout(60_000);

  /** `op` run on `id`, and what it came to once `forMs` of virtual time passed. */
  async function outcomeOf(cluster: SimCluster, id: string, op: Operation, forMs: number): Promise<unknown> {
    let outcome: unknown = 'pending';
    const deadlineMs = cluster.time.now() + 3000;
    void Promise.resolve(cluster.core(id)!.execute(op, { forwarded: false, deadlineMs })).then(
      (o: Outcome) => (outcome = o),
    );
    await cluster.time.runUntil(cluster.time.now() + forMs);
    return outcome;
  }

  async function stopAll(cluster: SimCluster): Promise<void> {
    let stopped = false;
    void cluster.stopAll().then(() => (stopped = true));
    await cluster.time.runUntil(cluster.time.now() + 20_000);
    expect(stopped).to.equal(true);
  }

  // A = n1, B = n2, C = n3. A writes v2; A and B acknowledge it, C's copy is on a slow link. B is
  // killed and restarts empty; its catch-up from A is slow too. A quorum read at C counted its own
  // v1 and B's "absent", and returned v1 after v2 was acknowledged.
  it('gives no vote to a quorum read at another replica: the read never returns an older value', async () => {
    const cluster = new SimCluster({ seed: 31, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
    expect(await outcomeOf(cluster, 'n1', setOp('v1', 'all'), 100)).to.deep.include({
      stored: true,
    });

    cluster.net.setFault('n1', 'n3', { dropRate: 0, extraDelayMs: 10_000, refuse: false });
    expect(await outcomeOf(cluster, 'n1', setOp('v2'), 50)).to.deep.include({ stored: true });
    expect(cluster.core('n3')!.store.readRecord('k')?.value.toString(), "C's copy").to.equal('v1');

    cluster.crash('n2');
    cluster.net.setFault('n2', 'n1', { dropRate: 0, extraDelayMs: 2000, refuse: false });
    cluster.restart('n2');
    await cluster.time.runUntil(cluster.time.now() + 5);
    expect(cluster.core('n2')!.catchingUp, 'B catching up when the read starts').to.equal(true);
    // The read's deadline is 3 s away; A's answer comes back on the slow link, after it.
    const read = await outcomeOf(cluster, 'n3', { kind: 'get', key: 'k', consistency: 'default' }, 3500);
    if (read instanceof RingCacheError) expect(read.code, read.message).to.equal('QUORUM_NOT_MET');
    else {
      const got = (read as { entry?: { value: Buffer } }).entry?.value.toString();
      expect(got, 'the value read after v2 was acknowledged').to.equal('v2');
    }
    cluster.net.healAll();
    await stopAll(cluster);
  });

  it('answers a peer read and a prepare with "catching up", never from its store', async () => {
    const cluster = new SimCluster({ seed: 32, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
    cluster.crash('n2');
    cluster.net.setFault('n2', 'n1', { dropRate: 0, extraDelayMs: 2000, refuse: false });
    cluster.net.setFault('n2', 'n3', { dropRate: 0, extraDelayMs: 2000, refuse: false });
    cluster.restart('n2');
    await cluster.time.runUntil(cluster.time.now() + 10);
    const b = cluster.core('n2')!;
    expect(b.catchingUp).to.equal(true);
    expect(b.peers.read('k'), 'the read').to.be.instanceOf(NotCaughtUp);
    const ballot = { timestamp: b.store.hlc.now().timestamp, node: 'n1' };
    expect(b.peers.lookup('k', { ballot, requestIds: ['r1'] }), 'the prepare').to.be.instanceOf(NotCaughtUp);
    expect(b.ballots.size, 'promises made').to.equal(0);
    cluster.net.healAll();
    await cluster.time.runUntil(cluster.time.now() + 5000);
    expect(b.catchingUp).to.equal(false);
    expect(b.peers.read('k')).to.equal(undefined);
    await stopAll(cluster);
  });

  // The promise a replica made before it was killed must hold after it restarts: a coordinator with
  // a lower ballot from before the restart must not be granted its prepare, nor have its accept taken.
  it('grants no prepare and takes no accept of a ballot from before its restart', async () => {
    const cluster = new SimCluster({ seed: 33, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
    const early = cluster.core('n3')!.store.hlc.now(); // a round of n3's, slow to prepare at n2
    const late = cluster.core('n1')!.store.hlc.now();
    expect(cluster.core('n2')!.peers.lookup('k', { ballot: late, requestIds: ['r1'] })).to.deep.include({
      record: undefined,
    });
    expect(cluster.core('n2')!.ballots.size, 'n2 promised n1').to.equal(1);

    cluster.crash('n2');
    cluster.net.setFault('n2', 'n1', { dropRate: 0, extraDelayMs: 2000, refuse: false });
    cluster.restart('n2');
    await cluster.time.runUntil(cluster.time.now() + 10);
    const b = cluster.core('n2')!;
    expect(b.catchingUp).to.equal(true);
    const accept: ReplicaWrite = {
      key: 'k',
      record: {
        value: Buffer.from('x'),
        flags: 0,
        version: early,
        expiresAtMs: 0,
        tombstone: false,
      },
      requests: [{ id: 'r2', outcome: { kind: 'set', stored: true, version: early } as const }],
    };
    expect(b.peers.replicate(accept)?.code, 'an accept while catching up').to.equal('ABORTED');

    cluster.net.healAll();
    await cluster.time.runUntil(cluster.time.now() + 5000);
    expect(b.catchingUp).to.equal(false);
    const prepared = b.peers.lookup('k', { ballot: early, requestIds: ['r2'] });
    expect(prepared, 'a prepare from before the restart').to.not.be.instanceOf(NotCaughtUp);
    expect((prepared as { refused?: unknown }).refused, 'refused at the floor').to.not.equal(undefined);
    expect(b.peers.replicate(accept)?.code, 'its accept').to.equal('ABORTED');
    expect(b.store.readRecord('k'), 'nothing written').to.equal(undefined);
    // A new round, whose ballot is above every clock n2 saw, is granted.
    const fresh = cluster.core('n1')!.store.hlc.now();
    expect(b.peers.lookup('k', { ballot: fresh, requestIds: ['r3'] })).to.deep.include({ record: undefined });
    await stopAll(cluster);
  });
});
