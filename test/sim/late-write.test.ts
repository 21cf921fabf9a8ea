import { expect } from 'chai';
import type { Operation, OperationContext, Outcome } from '../../src/cluster/replication/operation';
import { RingCacheError } from '../../src/errors';
import { SimCluster } from './sim-cluster';
import { deleteOp, setOp } from './ops';

const SEEDS = Number(process.env.SIM_SEEDS ?? 10);

/**
 * A client's write reaches node n3 only after n3 was paused past the client's deadline (it waited in
 * n3's socket), and after a later write of the key, through n1, was acknowledged. The core is given
 * what the server gives it: a deadline counted from receipt, and the client's notAfter in n3's clock.
 * N=3, W=2, R=2.
 */
describe('a write that reaches its coordinator after its notAfter (paused node)', function () {
  this.timeout(300_000);

  async function run(c: SimCluster, node: string, op: Operation, ctx: OperationContext): Promise<Outcome> {
    let outcome: Outcome | undefined;
    void Promise.resolve(c.core(node)!.execute(op, ctx)).then((o) => (outcome = o));
    while (outcome === undefined) await c.time.runUntil(c.time.now() + 1);
    return outcome;
  }

  /** Every replica's copy of k once the cluster is quiet: its value, or '-' for none or a tombstone. */
  async function settle(c: SimCluster): Promise<string[]> {
    await c.time.runUntil(c.time.now() + 10_000);
    return c.ids().map((id) => {
      const r = c.core(id)!.store.readRecord('k');
      return r && !r.tombstone ? r.value.toString() : '-';
    });
  }

  /** The stale write `stale` on n3 after v2 was acknowledged; `bounded`: with the client's notAfter. */
  async function lateWrite(seed: number, stale: Operation, bounded: boolean) {
    const c = new SimCluster({ seed, nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2 });
    c.startAll();
    await c.time.runUntil(c.time.now() + 3000);
    const now = (id: string) => c.core(id)!.view.scheduler.now();
    expect(
      await run(c, 'n3', setOp('v0'), { forwarded: false, deadlineMs: now('n3') + 2000 }),
    ).to.deep.include({
      stored: true,
    });
    // The client sends `stale` to n3, which is paused before reading it; it gives up at its deadline.
    const notAfterMs = now('n3') + 1000;
    c.pause('n3');
    await c.time.runUntil(c.time.now() + 1500);
    const v2 = await run(c, 'n1', setOp('v2'), { forwarded: false, deadlineMs: now('n1') + 2000 });
    expect(v2, 'v2 acknowledged').to.deep.include({ stored: true });
    c.resume('n3');
    const ctx: OperationContext = { forwarded: false, deadlineMs: now('n3') + 1000 };
    if (bounded) ctx.notAfterMs = notAfterMs;
    const late = await run(c, 'n3', stale, ctx);
    const holding = await settle(c);
    let stopped = false;
    void c.stopAll().then(() => (stopped = true));
    await c.time.runUntil(c.time.now() + 20_000);
    expect(stopped).to.equal(true);
    return { late, holding };
  }

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`refuses a late set and a late delete, and every replica ends on v2 (seed ${seed})`, async () => {
      for (const stale of [setOp('v1'), deleteOp()]) {
        const { late, holding } = await lateWrite(seed, stale, true);
        expect(late, `${stale.kind} refused`).to.be.instanceOf(RingCacheError);
        expect((late as RingCacheError).code).to.equal('DEADLINE_EXCEEDED');
        expect(holding, `every replica after the late ${stale.kind}`).to.deep.equal(['v2', 'v2', 'v2']);
      }
    });
  }

  it('without a notAfter (old clients) the late write still wins: the hole the bound closes', async () => {
    const { late, holding } = await lateWrite(1, setOp('v1'), false);
    expect(late).to.deep.include({ stored: true });
    expect(holding).to.deep.equal(['v1', 'v1', 'v1']);
  });
});
