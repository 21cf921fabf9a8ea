import { expect } from 'chai';
import { decodeValue } from '../../src/client/codec';
import { METADATA } from '../../src/proto/messages';
import { PipelineConnection } from '../../src/transport/pipeline-connection';
import type { RingCache } from '../../src/index';
import { TestCluster, until } from '../support/cluster';

interface LoadResult {
  acked: Map<string, number>;
  calls: number;
  failed: number;
  longestStallMs: number;
  errors: Map<string, number>;
}

/**
 * Closed-loop writers at full speed: each writer owns its keys, so the last acknowledged value of a key
 * is well defined. Some writes overwrite an earlier key of the same writer.
 */
async function writeLoad(cache: RingCache, writers: number, stop: () => boolean): Promise<LoadResult> {
  const result: LoadResult = { acked: new Map(), calls: 0, failed: 0, longestStallMs: 0, errors: new Map() };
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      let seq = 0;
      while (!stop()) {
        seq++;
        const overwrite = seq % 5 === 0 && seq > 10;
        const key = overwrite ? `w${w}-k${seq - 7}` : `w${w}-k${seq}`;
        const started = Date.now();
        result.calls++;
        try {
          await cache.set(key, seq, { timeoutMs: 3000 });
          result.acked.set(key, seq);
        } catch (err) {
          result.failed++;
          const msg = (err as Error).message.slice(0, 80);
          result.errors.set(msg, (result.errors.get(msg) ?? 0) + 1);
        }
        result.longestStallMs = Math.max(result.longestStallMs, Date.now() - started);
      }
    }),
  );
  return result;
}

for (const victim of ['n1', 'n2', 'n3']) {
  describe(`the kill test: N=3, W=2, ${victim} killed with SIGKILL under write load`, function () {
    this.timeout(60_000);
    let t: TestCluster;

    before(async () => {
      t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
    });
    after(() => t?.stop());

    it('loses no acknowledged write, and the restarted node catches up', async () => {
      const writer = await t.client({ timeoutMs: 3000 });
      let stopping = false;
      const load = writeLoad(writer, 32, () => stopping);
      await until('some writes acknowledged', () => writer.cluster.members.size === 3, 5000);
      await new Promise((r) => setTimeout(r, 1500));
      const killedAt = Date.now();
      void t.cluster.kill(victim, 'SIGKILL');
      const markedDead = until(
        `${victim} marked dead`,
        () => writer.cluster.members.get(victim)?.state === 'dead',
        15_000,
        20,
      ).then(() => Date.now());
      await new Promise((r) => setTimeout(r, 2500));
      stopping = true;
      const res = await load;
      const deadAfterMs = (await markedDead) - killedAt;

      const reader = await t.client({ timeoutMs: 5000 });
      const keys = [...res.acked.keys()];
      const values = await reader.getMany<number>(keys, { consistency: 'quorum' });
      const lost = keys.filter((k, i) => values[i] !== res.acked.get(k));
      const failedShare = res.failed / res.calls;
      console.log(
        `      ${victim}: ${res.calls} writes, ${res.acked.size} keys acked, ${res.failed} failed ` +
          `(${(failedShare * 100).toFixed(3)}%), longest stall ${res.longestStallMs} ms, marked dead after ${deadAfterMs} ms, lost ${lost.length}`,
      );
      if (res.errors.size) console.log('      failures:', [...res.errors].slice(0, 3));
      expect(res.acked.size).to.be.greaterThan(1000);
      expect(lost, `lost writes, e.g. ${lost.slice(0, 5).join(', ')}`).to.deep.equal([]);
      expect(failedShare).to.be.at.most(0.01);

      // Restarted empty with the same id: hints and the catch-up Sync refill it. Read from it directly
      // with consistency one (every node is a replica at N=3, so it answers from its own store).
      await t.cluster.startNode(victim);
      // Right after the restart, before it caught up: quorum reads must not see its empty store as
      // "not found" (the other replica of the quorum has the newest version).
      await until(
        `clients see ${victim} alive`,
        () => reader.cluster.members.get(victim)?.state === 'alive',
        10_000,
        20,
      );
      const early = await reader.getMany<number>(keys, { consistency: 'quorum' });
      expect(
        keys.filter((k, i) => early[i] !== res.acked.get(k)).length,
        'quorum reads lost right after restart',
      ).to.equal(0);
      const direct = new PipelineConnection({
        address: t.address(victim),
        metadata: { [METADATA.forwardedBy]: 'test' },
      });
      try {
        const sample = keys.filter((_, i) => i % 7 === 0);
        await until(
          `${victim} holds every acknowledged write again`,
          async () => {
            const got = await Promise.all(
              sample.map((key) =>
                direct.send({ op: 'get', get: { key, consistency: 1 } }, Date.now() + 3000),
              ),
            );
            return got.every(
              (r, i) =>
                r.code === 0 &&
                r.get!.found &&
                decodeValue(r.get!.value, r.get!.flags) === res.acked.get(sample[i]!),
            );
          },
          15_000,
          250,
        );
      } finally {
        direct.close();
      }
    });
  });
}
