import { expect } from 'chai';
import type { Operation, Outcome } from '../../../../src/cluster/replication/operation';
import { RingCacheError } from '../../../../src/errors';
import { formatVersion } from '../../../../src/store/version';
import { SimCluster } from '../../../sim/sim-cluster';

/**
 * A read-modify-write sent again with its request id (the SDK's retry through another replica after
 * a timeout, or a user's) comes back with its first outcome, version included, and writes nothing:
 * a retried cas that reported version v while the key moved on to v' would make the caller's next
 * cas on v fail VERSION_CONFLICT, and a retried touch would stream a change that never happened.
 */
describe('a read-modify-write retried with its request id', () => {
  let cluster: SimCluster;

  beforeEach(async () => {
    cluster = new SimCluster({ seed: 11, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    cluster.startAll();
    await cluster.time.runUntil(cluster.time.now() + 1000);
  });

  afterEach(async () => {
    void cluster.stopAll();
    await cluster.time.runUntil(cluster.time.now() + 20_000);
  });

  /** Runs `op` at node `via` in virtual time until it settles; its outcome. */
  async function run(via: string, op: Operation): Promise<Outcome> {
    let outcome: Outcome | undefined;
    void Promise.resolve(
      cluster.core(via)!.execute(op, { forwarded: false, deadlineMs: cluster.time.now() + 5000 }),
    ).then((o) => (outcome = o));
    await cluster.time.runUntil(cluster.time.now() + 2000);
    if (outcome === undefined) throw new Error(`${op.kind} at ${via} did not settle`);
    if (outcome instanceof RingCacheError) throw outcome;
    return outcome;
  }

  /** The key's version on every node, formatted. */
  function versions(key: string): string[] {
    return cluster.ids().map((id) => {
      const v = cluster.core(id)!.store.versionOf(key);
      return v ? formatVersion(v) : '-';
    });
  }

  const value = (s: string) => Buffer.from(s);

  function versionOf(outcome: Outcome): string {
    if (outcome instanceof RingCacheError || outcome.kind !== 'cas')
      throw new Error(`not a cas: ${JSON.stringify(outcome)}`);
    return formatVersion(outcome.version);
  }

  it('answers a cas with the version it first reported, everywhere, and writes nothing new', async () => {
    const set = await run('n1', {
      kind: 'set',
      key: 'k',
      value: value('a'),
      flags: 1,
      ttlMs: 0,
      mode: 'always',
      consistency: 'all',
    });
    if (set instanceof RingCacheError || set.kind !== 'set' || !set.version) throw new Error('set failed');
    const expected = set.version;
    const cas: Operation = {
      kind: 'cas',
      key: 'k',
      expected,
      value: value('b'),
      flags: 1,
      ttlMs: 0,
      consistency: 'default',
      requestId: 'cas-1',
    };
    const firstVersion = versionOf(await run('n1', cas));
    const after = versions('k');
    expect(after, 'every replica at the version cas reported').to.deep.equal([
      firstVersion,
      firstVersion,
      firstVersion,
    ]);
    for (const via of ['n1', 'n2', 'n3']) {
      expect(versionOf(await run(via, cas)), `retry through ${via}`).to.equal(firstVersion);
      expect(versions('k'), `record after the retry through ${via}`).to.deep.equal(after);
    }
  });

  it('answers a touch again without writing the key again', async () => {
    await run('n1', {
      kind: 'set',
      key: 't',
      value: value('a'),
      flags: 1,
      ttlMs: 60_000,
      mode: 'always',
      consistency: 'all',
    });
    const touch: Operation = {
      kind: 'touch',
      key: 't',
      ttlMs: 120_000,
      consistency: 'all',
      requestId: 'touch-1',
    };
    expect(await run('n2', touch)).to.deep.equal({ kind: 'touch', found: true });
    const after = versions('t');
    for (const via of ['n1', 'n2', 'n3']) {
      expect(await run(via, touch)).to.deep.equal({ kind: 'touch', found: true });
      expect(versions('t'), `record after the retry through ${via}`).to.deep.equal(after);
    }
  });
});
