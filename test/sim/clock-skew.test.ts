import { expect } from 'chai';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { DEFAULT_MAX_CLOCK_OFFSET_MS } from '../../src/config/defaults';
import { RingCacheError } from '../../src/errors';
import type { Version } from '../../src/store/version';
import type { FinalState, HistoryEntry } from './history';
import { realTimeOrder } from './real-time-order';
import { SimCluster } from './sim-cluster';
import { setOp } from './ops';

const SEEDS = Number(process.env.SIM_SEEDS ?? 20);
/** The default bound, as a cluster.yml that does not set it runs with. */
const MAX_CLOCK_OFFSET_MS = DEFAULT_MAX_CLOCK_OFFSET_MS;
/** Between v1's acknowledgement and v2's sending: past the default bound, well within F's skew. */
const GAP_MS = 600;

/**
 * A node whose clock runs 2 s fast, four times max_clock_offset_ms. Its versions win over writes
 * the others make up to 2 s later, unless something has seen its clock first.
 *
 * F = n3 (2 s fast), S = n1, X = n2; N=3, W=2. `set v1` through F is acknowledged by F and X; the
 * links into S are slow (1 s), so S has seen neither v1 nor any clock pushed by it. 600 ms after v1
 * was acknowledged, `set v2` through S is acknowledged by S and X. Before clocks were measured, v1
 * (F's clock, 2 s ahead) outranked v2 and every replica ended on v1. Now F, having measured its
 * clock against S's and X's during the warm-up, refuses v1 with UNAVAILABLE; the client sends it to
 * the next node, as the SDK does, and v2 wins.
 */
describe('a node whose clock is 2 s fast (the default max_clock_offset_ms)', function () {
  this.timeout(300_000);

  /**
   * Runs `op` through the nodes in order, moving on after UNAVAILABLE as the SDK does, and records it
   * on the world's clock, which no node's skew touches.
   */
  async function write(
    c: SimCluster,
    history: HistoryEntry[],
    through: string[],
    op: Operation & { kind: 'set' },
  ): Promise<{ node: string; outcome: Outcome }> {
    const invokedAtMs = c.time.now();
    for (const node of through) {
      let outcome: Outcome | undefined;
      const deadlineMs = c.core(node)!.view.scheduler.now() + 3000;
      void Promise.resolve(c.core(node)!.execute(op, { forwarded: false, deadlineMs })).then(
        (o) => (outcome = o),
      );
      while (outcome === undefined) await c.time.runUntil(c.time.now() + 1);
      if (outcome instanceof RingCacheError && outcome.code === 'UNAVAILABLE') continue;
      const ok = !(outcome instanceof RingCacheError) && 'stored' in outcome && outcome.stored;
      history.push({
        ...{ id: history.length + 1, kind: 'set', key: op.key, node, required: 2, factor: 3 },
        ...{ invokedAtMs, completedAtMs: c.time.now(), status: ok ? 'ok' : 'unknown' },
        value: op.value.toString(),
        version: ok ? (outcome as { version?: Version }).version : undefined,
      });
      return { node, outcome };
    }
    throw new Error(`every node refused ${op.value.toString()}`);
  }

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`ends on the write sent 600 ms after the other was acknowledged (seed ${seed})`, async () => {
      const c = new SimCluster({
        seed,
        nodes: 3,
        factor: 3,
        writeQuorum: 2,
        readQuorum: 2,
        antiEntropyMs: 2000,
        maxClockOffsetMs: MAX_CLOCK_OFFSET_MS,
      });
      c.skew('n3', 2000);
      c.startAll();
      await c.time.runUntil(c.time.now() + 3000);

      const history: HistoryEntry[] = [];
      c.net.setFault('n3', 'n1', { dropRate: 0, extraDelayMs: 1000 });
      c.net.setFault('n2', 'n1', { dropRate: 0, extraDelayMs: 1000 });
      const v1 = await write(c, history, ['n3', 'n2', 'n1'], setOp('v1'));
      expect(
        v1.outcome,
        `v1 acknowledged: ${v1.outcome instanceof Error ? v1.outcome.message : 'yes'}`,
      ).to.deep.include({ stored: true });
      await c.time.runUntil(c.time.now() + GAP_MS);
      expect(c.core('n1')!.store.readRecord('k'), 'S has not seen v1').to.equal(undefined);
      const v2 = await write(c, history, ['n1'], setOp('v2'));
      expect(v2.outcome, 'v2 acknowledged').to.deep.include({ stored: true });

      c.net.healAll();
      await c.time.runUntil(c.time.now() + 10_000);
      const holding = c.ids().map((id) => c.core(id)!.store.readRecord('k')?.value.toString());
      const newest = c.core('n1')!.store.readRecord('k');
      const final: FinalState = {
        reads: new Map([['k', { found: newest !== undefined, version: newest?.version }]]),
        replicas: new Map(),
        counters: new Map(),
      };
      const violations = realTimeOrder(MAX_CLOCK_OFFSET_MS)(history, final);
      expect(violations, JSON.stringify(violations)).to.deep.equal([]);
      expect(holding, 'every replica').to.deep.equal(['v2', 'v2', 'v2']);

      let stopped = false;
      void c.stopAll().then(() => (stopped = true));
      await c.time.runUntil(c.time.now() + 20_000);
      expect(stopped).to.equal(true);
    });
  }
});
