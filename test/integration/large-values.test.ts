import { expect } from 'chai';
import { TestCluster } from '../support/cluster';

const MiB = 1024 * 1024;

/**
 * Many concurrent calls with large values share stream frames, and a frame is one gRPC message:
 * at 54f3451, 80 concurrent sets of 1 MiB values to one node made one 80 MiB frame, past gRPC's
 * 64 MiB message limit, and all 80 failed "Attempted to send message with a size larger than
 * 67108864"; 80 concurrent gets of them made an 80 MiB reply and all 80 failed after four attempts.
 * Now request frames stop at 4 MiB of values and replies past that come in parts (packed.ts).
 */
describe('concurrent calls with large values', function () {
  // A correctness test, not a speed one (bench/ measures speed): 240 MiB through three replicas on
  // two shared cores took past a 20 s deadline at load 13 (68 of 80 sets at ALL failed), so the
  // deadline only bounds a hang.
  this.timeout(300_000);

  for (const shape of [
    { nodes: 1, factor: 1, writeQuorum: 1 },
    // Also failed on 54f3451. Under the full suite's load a 4 MiB frame replicated twice outlasts
    // the SDK's flight budget on every replica: the SDK then waits for the attempts in flight (a late
    // answer counts) instead of failing them or sending each value to every replica.
    { nodes: 3, factor: 3, writeQuorum: 2 },
  ]) {
    describe(`N=${shape.factor}, W=${shape.writeQuorum}`, () => {
      let t: TestCluster;
      before(async () => {
        t = await TestCluster.start({
          ...shape,
          readQuorum: 1,
          maxValueBytes: 2 * MiB,
          maxMemoryBytes: 512 * MiB,
        });
      });
      after(() => t?.stop());

      it('80 sets of 1 MiB at once all succeed, and gets 20 at a time read them back', async () => {
        const cache = await t.client({ timeoutMs: 120_000 });
        const valueOf = (i: number) => Buffer.alloc(MiB, i);
        const sets = await Promise.allSettled(
          Array.from({ length: 80 }, (_, i) => cache.set(`big:${i}`, valueOf(i), { consistency: 'all' })),
        );
        const failedSets = sets.flatMap((r) =>
          r.status === 'rejected' ? [(r.reason as Error).message] : [],
        );
        expect(failedSets.slice(0, 2), `${failedSets.length} of 80 sets failed`).to.deep.equal([]);
        // Gets in waves of 20: each reply (20 MiB from one node) comes in parts of 4 MiB. The sets were
        // at ALL, so a read of any one replica sees them (W + R > N).
        const gets: PromiseSettledResult<Buffer | undefined>[] = [];
        for (let wave = 0; wave < 80; wave += 20) {
          gets.push(
            ...(await Promise.allSettled(
              Array.from({ length: 20 }, (_, i) => cache.get<Buffer>(`big:${wave + i}`)),
            )),
          );
        }
        const failedGets = gets.flatMap((r) =>
          r.status === 'rejected' ? [(r.reason as Error).message] : [],
        );
        expect(failedGets.slice(0, 2), `${failedGets.length} of 80 gets failed`).to.deep.equal([]);
        gets.forEach((r, i) => {
          const value = (r as PromiseFulfilledResult<Buffer | undefined>).value;
          expect(value?.length, `big:${i}`).to.equal(MiB);
          expect(value![MiB - 1], `big:${i}'s last byte`).to.equal(i);
        });
      });
    });
  }
});
