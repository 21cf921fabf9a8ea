import { expect } from 'chai';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { formatViolations } from './checkers';
import { runSchedule } from './run';
import type { SimSchedule } from './schedule';
import { SimCluster } from './sim-cluster';

/**
 * A node paused past its absence limit drops its data on its return (docs/architecture.md, "Deletes
 * and long absences"). Answers to its own calls that were on their way while it was paused arrive
 * after that: copies its peers read before a delete whose tombstones they have purged since. Taken
 * into the emptied store, such a copy is a value the others lack, and anti-entropy spreads it back.
 * A read's repair (short-grace seed 804,846, in broken-seeds/), a read-modify-write's prepare
 * answers and an anti-entropy pull each took them; none does now. Found by a review of that fix.
 */
describe('copies answered to a node after it dropped its data', function () {
  this.timeout(60_000);

  // The short-grace scenario's cluster: a 6 s grace that the pauses below outlast.
  const cluster: SimSchedule['cluster'] = {
    ...{ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 2, antiEntropyMs: 300, hintMaxAgeMs: 2000 },
    ...{ tombstoneGraceMs: 6000, maxClockOffsetMs: 500, sweepIntervalMs: 100 },
  };
  /** n3's links from the others slowed by `ms`, so that their answers reach it while it is paused. */
  const slow = (atMs: number, ms: number): SimSchedule['steps'] =>
    (['n1', 'n2'] as const).map((from) => ({
      ...({ atMs, type: 'link', from, to: 'n3' } as const),
      ...{ dropRate: 0, extraDelayMs: ms },
    }));

  it("are not taken from a read-modify-write's prepare answers", async () => {
    // A touch at n3 sends its prepares; n3 pauses before the answers come; r1 is deleted and the
    // tombstones purged meanwhile. On 2df999d n3 took r1's copy from an answer after its drop.
    const schedule: SimSchedule = {
      scenario: 'short-grace',
      cluster,
      durationMs: 13_000,
      steps: [
        { atMs: 0, type: 'op', kind: 'set', key: 'r1', node: 'n1', consistency: 'all' },
        ...slow(100, 30),
        {
          atMs: 990,
          type: 'op',
          kind: 'touch',
          key: 'r1',
          node: 'n3',
          consistency: 'default',
          forwarded: true,
        },
        { atMs: 999, type: 'pause', node: 'n3' },
        { atMs: 1100, type: 'op', kind: 'delete', key: 'r1', node: 'n1', consistency: 'default' },
        { atMs: 9500, type: 'resume', node: 'n3' },
      ],
    };
    const result = await runSchedule(schedule, 1);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    expect(result.final.reads.get('r1')?.found).to.equal(false);
  });

  it('are not taken from an anti-entropy pull', async () => {
    // n3 misses r1's set (cut from n1), so its next comparison pulls r1; it pauses as the pull goes
    // out, and r1 is deleted meanwhile. On 2df999d n3 took the pulled copy after its drop.
    const schedule: SimSchedule = {
      scenario: 'short-grace',
      cluster,
      durationMs: 13_000,
      steps: [
        { atMs: 0, type: 'cut', from: 'n1', to: 'n3' },
        { atMs: 310, type: 'op', kind: 'set', key: 'r1', node: 'n1', consistency: 'default' },
        { atMs: 320, type: 'heal' },
        ...slow(1508.9, 600),
        { atMs: 1509, type: 'pause', node: 'n3' },
        { atMs: 1809, type: 'op', kind: 'delete', key: 'r1', node: 'n1', consistency: 'default' },
        { atMs: 9500, type: 'resume', node: 'n3' },
        { atMs: 9550, type: 'heal' },
      ],
    };
    const result = await runSchedule(schedule, 1);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    expect(result.final.reads.get('r1')?.found).to.equal(false);
  });

  it('let no counter count on from a value deleted meanwhile', async () => {
    // As the first, with an increment: on 2df999d the last increment, after the delete, returned 6
    // (the deleted 5, plus 1), which no checker judges (increments skips deleted counters).
    const schedule: SimSchedule = {
      scenario: 'short-grace',
      cluster,
      durationMs: 13_000,
      steps: [
        {
          atMs: 0,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n3',
          delta: 5,
          consistency: 'all',
          forwarded: true,
        },
        ...slow(100, 30),
        {
          atMs: 990,
          type: 'op',
          kind: 'incr',
          key: 'c0',
          node: 'n3',
          delta: 1,
          consistency: 'default',
          forwarded: true,
        },
        { atMs: 999, type: 'pause', node: 'n3' },
        { atMs: 1100, type: 'op', kind: 'delete', key: 'c0', node: 'n1', consistency: 'default' },
        { atMs: 9500, type: 'resume', node: 'n3' },
        { atMs: 9600, type: 'heal' },
        { atMs: 12_500, type: 'op', kind: 'incr', key: 'c0', node: 'n1', delta: 1, consistency: 'default' },
      ],
    };
    const result = await runSchedule(schedule, 1);
    expect(result.violations, formatViolations(result.violations)).to.deep.equal([]);
    const last = result.history.filter((e) => e.kind === 'incr').at(-1);
    expect(last?.status).to.equal('ok');
    expect(last?.counter, 'the increment after the delete counts from zero').to.equal(1);
  });

  it("are not what a read held in the paused node's socket answers, nor repairs", async () => {
    // Short-grace seed 804,846 with a caller that waits as long as it takes: a get reaches n3 as it
    // is paused, r1 is deleted and its tombstones purged, n3 resumes. On 4d2b0be the get ran before
    // n3 noticed the pause, on its own copy of r1, and answered the deleted value (its repair was
    // already fenced). Now the pause is noticed as the request is served, and the store dropped first.
    const sim = new SimCluster({ seed: 1, ...cluster });
    const { time, net } = sim;
    const call = (node: string, op: Operation): Promise<Outcome> =>
      net.call<Outcome>(
        'client',
        node,
        Number.POSITIVE_INFINITY,
        (e) => e.execute(op, { forwarded: false, deadlineMs: net.nowOf(node) + 2000 }),
        (err) => err,
      );
    const settled = async <T>(p: Promise<T>): Promise<T> => {
      let out: { v: T } | undefined;
      void p.then((v) => (out = { v }));
      while (!out) await time.runUntil(time.now() + 10);
      return out.v;
    };
    try {
      sim.startAll();
      await time.runUntil(time.now() + 1000);
      const value = Buffer.from('v1');
      const set = {
        kind: 'set',
        key: 'r1',
        value,
        flags: 1,
        ttlMs: 0,
        mode: 'always',
        consistency: 'all',
      } as const;
      expect(await settled(call('n1', set))).to.include({ kind: 'set' });
      const held = call('n3', { kind: 'get', key: 'r1', consistency: 'quorum' });
      sim.pause('n3'); // the get waits in n3's socket
      expect(await settled(call('n1', { kind: 'delete', key: 'r1', consistency: 'quorum' }))).to.include({
        kind: 'delete',
      });
      await time.runUntil(time.now() + 9000); // past the 6 s grace: n1 and n2 purged the tombstone
      sim.resume('n3');
      const answer = await settled(held);
      const found = 'entry' in answer ? answer.entry : undefined;
      expect(found, 'the held get answered the deleted value').to.equal(undefined);
      await time.runUntil(time.now() + 3000); // anti-entropy rounds, every 300 ms
      for (const id of ['n1', 'n2', 'n3'])
        expect(sim.core(id)!.store.readRecord('r1'), id).to.equal(undefined);
    } finally {
      sim.dispose();
    }
  });
});
