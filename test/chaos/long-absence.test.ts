import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { MemberStateWire, type ExplainResponseMsg, type GetResponseMsg } from '../../src/proto/messages';
import { metric, othersHold, TestCluster, until } from '../support/cluster';

/** A tombstone grace a test can outlast: deletes are forgotten 8 s after they were made. */
const GRACE_MS = 8000;

/**
 * A replica away longer than the tombstone grace must not bring back a value deleted meanwhile:
 * the others have purged the delete's tombstone by the time it returns, and anti-entropy copies a
 * key the other side lacks. Paused past its absence limit (half the grace less failure detection),
 * a node drops its data on resuming and catches up again ("Deletes and long absences" in
 * docs/architecture.md). Real processes, a real SIGSTOP, N=3, W=2.
 */
describe('a replica paused past the tombstone grace while its value is deleted (N=3, W=2)', function () {
  this.timeout(120_000);
  let t: TestCluster;
  before(async () => {
    // Hints live 1 s: the deletes' hints for n3 are gone long before it returns, so only dropping
    // its own copies keeps the value away. Anti-entropy every 2 s: it compares with n3 soon after.
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      tombstoneGraceMs: GRACE_MS,
      hintMaxAgeMs: 1000,
      antiEntropyMs: 2000,
    });
  });
  after(async () => {
    if (t?.cluster.isRunning('n3')) void t.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  it('does not bring the deleted value back once it returns', async () => {
    const n1 = new UnaryClient(t.address('n1'), 10_000);
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `gone:${i}`);
      for (const key of keys)
        await n1.cache('Set', { key, value: Buffer.from('v1'), flags: 1, consistency: 3 /* ALL */ });
      void t.cluster.kill('n3', 'SIGSTOP');
      try {
        // Deleted once the others hold n3 dead, so that no copy of a delete waits in n3's socket to
        // be read on its return (a pause holds what was sent; a cut-off replica gets nothing): only
        // the hints kept for it carry the deletes, and they expire while it is away.
        await until(
          'n3 held dead by n1 and n2',
          () => othersHold(t, 'n3', MemberStateWire.DEAD),
          30_000,
          100,
        );
        for (const key of keys) await n1.cache('Delete', { key });
        // Each delete's tombstone is purged a grace after it was made, at the sweep that follows.
        await until(
          "the deletes' tombstones purged on n1 and n2",
          async () =>
            (await metric(t, 'n1', 'ringcache_store_tombstones')) === 0 &&
            (await metric(t, 'n2', 'ringcache_store_tombstones')) === 0,
          GRACE_MS + 20_000,
          200,
        );
      } finally {
        void t.cluster.kill('n3', 'SIGCONT');
      }
      await until(
        'n3 to drop what it held, as paused past its absence limit',
        () => (t.logs.get('n3') ?? []).some((l) => l.includes('away from the cluster for too long')),
        20_000,
        100,
      );
      // Anti-entropy compares n3 with the others once it is back: what it still held would go to
      // them (a key the other side lacks is copied). A round scans, or reuses its last digests.
      const rounds = async (id: string) =>
        (await metric(t, id, 'ringcache_anti_entropy_scans_total')) +
        (await metric(t, id, 'ringcache_anti_entropy_scans_saved_total'));
      const [from1, from3] = [await rounds('n1'), await rounds('n3')];
      // n1 takes its two peers in turn: three rounds include one with n3.
      await until(
        'three anti-entropy rounds on n1 since n3 returned',
        async () => (await rounds('n1')) >= from1 + 3,
        30_000,
        200,
      );
      await until(
        'two anti-entropy rounds on n3 since it returned',
        async () => (await rounds('n3')) >= from3 + 2,
        30_000,
        200,
      );
      for (const key of keys) {
        const got = await n1.cache<GetResponseMsg>('Get', { key, consistency: 3 /* ALL */ });
        expect(got.found, `${key} read at ALL`).to.equal(false);
        const e = await n1.cluster<ExplainResponseMsg>('Explain', { key });
        const live = e.replicas.filter((r) => r.holds && !r.tombstone).map((r) => r.nodeId);
        expect(live, `${key}: replicas holding the deleted value`).to.deep.equal([]);
      }
    } finally {
      n1.close();
    }
  });
});
