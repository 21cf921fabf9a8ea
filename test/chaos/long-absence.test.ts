import { expect } from 'chai';
import { UnaryClient } from '../../src/cli/unary-client';
import { MemberStateWire, type ExplainResponseMsg, type GetResponseMsg } from '../../src/proto/messages';
import { metric, othersHold, TestCluster, until } from '../support/cluster';

/**
 * A tombstone grace a test can outlast: deletes are forgotten 5 s after they were made. Each test
 * waits out a grace with n3 paused, so every second of it is two of the file's (8 s before). Shorter
 * is not weaker: n3's absence limit is one tick (1 s) at 5 s as it was at 8 s (half the grace less
 * the 3.1 s failure detection takes at 3 nodes, at least a tick: absence.ts), the pause still
 * outlasts the grace (the deletes come once n3 is held dead, and n3 resumes only once their
 * tombstones are purged), and the config rule hint age + max clock offset < grace holds (1.5 s).
 */
const GRACE_MS = 5000;

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
    // its own copies keeps the value away. Anti-entropy every second: it compares with n3 soon after,
    // and the three rounds each test awaits once n3 is back take 3 s rather than 6 (at 40 keys a
    // round is nothing to scan).
    t = await TestCluster.start({
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      tombstoneGraceMs: GRACE_MS,
      hintMaxAgeMs: 1000,
      antiEntropyMs: 1000,
    });
  });
  after(async () => {
    if (t?.cluster.isRunning('n3')) void t.cluster.kill('n3', 'SIGCONT');
    await t?.stop();
  });

  /** n3's log lines since the last forgetN3Logs(). */
  const n3Logs = (): string[] => t.logs.get('n3') ?? [];
  const forgetN3Logs = () => t.logs.delete('n3');

  /**
   * Once n3 resumed: it drops what it held, anti-entropy compares it with the others, and no key of
   * `keys` is found at ALL, or held live by any replica.
   */
  async function expectGoneAfterReturn(n1: UnaryClient, keys: string[]): Promise<void> {
    await until(
      'n3 to drop what it held, as paused past its absence limit',
      () => n3Logs().some((l) => l.includes('away from the cluster for too long')),
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
  }

  /**
   * Pauses n3 (SIGSTOP), runs `first` (n3 still alive to the others), deletes `keys` through n1 once
   * n1 and n2 hold n3 dead, and resumes n3 once the deletes' tombstones are purged on n1 and n2. The
   * deletes come after n3 is held dead, so that no copy of one waits in n3's socket to be read on its
   * return (a pause holds what was sent; a cut-off replica gets nothing): only the hints kept for it
   * carry them, and those expire while it is away.
   */
  async function deleteWhileN3Away(n1: UnaryClient, keys: string[], first?: () => Promise<unknown>) {
    forgetN3Logs();
    await t.cluster.kill('n3', 'SIGSTOP');
    try {
      await first?.();
      await until('n3 held dead by n1 and n2', () => othersHold(t, 'n3', MemberStateWire.DEAD), 30_000, 100);
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
  }

  it('does not bring the deleted value back once it returns', async () => {
    const n1 = new UnaryClient(t.address('n1'), 10_000);
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `gone:${i}`);
      for (const key of keys)
        await n1.cache('Set', { key, value: Buffer.from('v1'), flags: 1, consistency: 3 /* ALL */ });
      await deleteWhileN3Away(n1, keys);
      await expectGoneAfterReturn(n1, keys);
    } finally {
      n1.close();
    }
  });

  it('refuses, on its return, the copies of writes held in its socket since before the grace', async () => {
    const n1 = new UnaryClient(t.address('n1'), 10_000);
    try {
      await until('n3 alive for n1 and n2', () => othersHold(t, 'n3', MemberStateWire.ALIVE), 30_000, 100);
      const keys = Array.from({ length: 20 }, (_, i) => `held:${i}`);
      // Set at once, n3 alive for the others: each write's copy for n3 is sent, and waits in its
      // socket. n1 and n2 acknowledge (W=2).
      await deleteWhileN3Away(n1, keys, () =>
        Promise.all(keys.map((key) => n1.cache('Set', { key, value: Buffer.from('v1'), flags: 1 }))),
      );
      // The copies are read late: refused, or they would be the only ones left, and anti-entropy
      // would copy them back to n1 and n2.
      await until(
        'n3 to refuse the copies it read late',
        () => n3Logs().some((l) => l.includes('replica write refused: too late (its sender gave up on it)')),
        20_000,
        100,
      );
      expect(await metric(t, 'n3', 'ringcache_replica_writes_refused_late_total')).to.be.at.least(1);
      await expectGoneAfterReturn(n1, keys);
    } finally {
      n1.close();
    }
  });
});
