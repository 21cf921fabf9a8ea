import { expect } from 'chai';
import type { Operation, Outcome } from '../../src/cluster/replication/operation';
import { wallMsOf } from '../../src/store/hlc';
import { SimCluster } from './sim-cluster';

/**
 * Hints live hints.max_age_ms (30 s), less than the tombstone grace (60 s), so that no hint outlives
 * the delete that followed its write. A node whose clock is 40 s fast (within max_clock_offset_ms)
 * pulls every HLC 40 s ahead: ages read from HLC timestamps then come out 40 s short.
 */
describe('a hint kept while the HLCs run ahead of the wall clocks', function () {
  this.timeout(120_000);

  async function outcomeOf(c: SimCluster, id: string, op: Operation, forMs: number): Promise<unknown> {
    let outcome: unknown = 'pending';
    const deadlineMs = c.core(id)!.view.scheduler.now() + 3000; // on the node's own (skewed) clock
    void Promise.resolve(c.core(id)!.execute(op, { forwarded: false, deadlineMs })).then(
      (o: Outcome) => (outcome = o),
    );
    await c.time.runUntil(c.time.now() + forMs);
    return outcome;
  }

  // X = n3, whose clock is 40 s fast, writes a key (n1 and n2 take its HLC), then crashes. v1 is written through
  // n1 (a hint for X kept there), then deleted through n2 (a hint with the tombstone kept there). X
  // returns 66 s later, after every tombstone was purged: both hints looked 26 s old and were handed
  // to it; the tombstone, past its purge time, was swept before v1 came over a slower link, and
  // anti-entropy then copied v1 back to n1 and n2.
  it('brings no deleted value back to a replica that returns after the tombstones were purged', async () => {
    const c = new SimCluster({
      seed: 51,
      nodes: 3,
      factor: 3,
      writeQuorum: 2,
      readQuorum: 2,
      antiEntropyMs: 5000,
      tombstoneGraceMs: 60_000,
      hintMaxAgeMs: 30_000,
      sweepIntervalMs: 1000,
      // 40 s is within half of it, so n3 still takes writes (a clock further off refuses them).
      maxClockOffsetMs: 90_000,
    });
    c.skew('n3', 40_000);
    c.startAll();
    await c.time.runUntil(c.time.now() + 2000);
    const set = (key: string, value: string): Operation => ({
      kind: 'set',
      key,
      value: Buffer.from(value),
      flags: 0,
      ttlMs: 0,
      mode: 'always',
      consistency: 'all',
    });
    expect(await outcomeOf(c, 'n3', set('other', 'x'), 500)).to.deep.include({ stored: true });
    const ahead = wallMsOf(c.core('n1')!.store.hlc.last) - c.time.now();
    expect(ahead, "n1's HLC ahead of its wall clock").to.be.above(39_000);

    c.crash('n3');
    for (let t = 0; t < 50 && c.core('n2')!.membership.state('n3') !== 'dead'; t++) {
      await c.time.runUntil(c.time.now() + 200);
    }
    expect(c.core('n1')!.membership.state('n3'), 'n3 seen dead').to.equal('dead');
    expect(await outcomeOf(c, 'n1', { ...set('k', 'v1'), consistency: 'default' }, 500)).to.deep.include({
      stored: true,
    });
    expect(
      await outcomeOf(c, 'n2', { kind: 'delete', key: 'k', consistency: 'default' }, 500),
    ).to.deep.include({
      deleted: true,
    });
    expect(c.core('n1')!.hints.countFor('n3'), 'the hint kept for n3 on n1').to.equal(1);
    await c.time.runUntil(c.time.now() + 65_000);
    expect(c.core('n1')!.store.readRecord('k'), "n1's tombstone purged").to.equal(undefined);

    c.net.setFault('n1', 'n3', { dropRate: 0, extraDelayMs: 3000, refuse: false });
    c.restart('n3');
    await c.time.runUntil(c.time.now() + 30_000);
    c.net.healAll();
    expect(c.core('n3')!.catchingUp, 'n3 caught up').to.equal(false);
    const read = await outcomeOf(c, 'n1', { kind: 'get', key: 'k', consistency: 'all' }, 8000);
    expect(read, 'a read at ALL').to.deep.equal({ kind: 'get', entry: undefined });
    const holders = c.ids().filter((id) => {
      const r = c.core(id)?.store.readRecord('k');
      return r !== undefined && !r.tombstone;
    });
    expect(holders, 'nodes holding v1').to.deep.equal([]);
    let stopped = false;
    void c.stopAll().then(() => (stopped = true));
    await c.time.runUntil(c.time.now() + 20_000);
    expect(stopped).to.equal(true);
  });
});
