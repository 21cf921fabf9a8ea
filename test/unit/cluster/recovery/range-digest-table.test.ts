import { expect } from 'chai';
import { RangeDigestTable } from '../../../../src/cluster/recovery/range-digest-table';
import { Ring } from '../../../../src/ring/ring';
import type { Store } from '../../../../src/store/store';
import { ManualTime } from '../../../support/manual-time';
import { seededRandom } from '../../../support/seeded-random';
import { makeStore, utf8, type FakeClock } from '../../store/fake-clock';

const ring = new Ring(['n1', 'n2', 'n3'], { vnodes: 16 });

/** The digests a table built from scratch over `store` finds now: what the kept ones must equal. */
function freshDigests(store: Store, r: Ring): number[] {
  const time = new ManualTime();
  const table = new RangeDigestTable(store, time, 1e9);
  table.start(r, 1);
  time.advanceUntil('the fresh build', () => table.digestsOf(r, 1) !== undefined, 1);
  const d = table.digestsOf(r, 1)!;
  table.stop();
  return [...d.a, ...d.b];
}

/** A random change to `store`: sets with and without TTLs, deletes, touches, releases, reads, time. */
function randomChange(store: Store, clock: FakeClock, random: () => number): void {
  const key = `k${Math.floor(random() * 8000)}`;
  const op = random();
  if (op < 0.45) {
    const ttlMs = random() < 0.3 ? 1 + Math.floor(random() * 3000) : 0;
    store.set(key, utf8('v'.repeat(Math.floor(random() * 200))), 0, { ttlMs });
  } else if (op < 0.6) store.delete(key);
  else if (op < 0.7) store.touch(key, 1 + Math.floor(random() * 3000));
  else if (op < 0.75) {
    const version = store.versionOf(key);
    if (version) store.release(key, version);
  } else if (op < 0.9) store.get(key);
  else if (op < 0.97) clock.advance(Math.floor(random() * 400));
  else store.sweep(1000);
}

describe('RangeDigestTable', () => {
  it('keeps every range digest equal to a fresh build through writes, deletes, expiries, evictions and purges, during its own build too', () => {
    for (const seed of [1, 2, 3]) {
      const random = seededRandom(seed);
      // Small enough that writes evict; a short grace so tombstones are purged within the run.
      const { store, clock } = makeStore({ maxMemoryBytes: 512 << 10, tombstoneGraceMs: 2000 });
      for (let i = 0; i < 6000; i++) store.set(`k${i}`, utf8('v'.repeat(i % 100)), 0);
      const evictedBefore = store.stats().evictions;
      const time = new ManualTime();
      // 2,000 slots a second: the build over 6,000 slots takes three steps, changes land between them.
      const table = new RangeDigestTable(store, time, 2000);
      table.start(ring, 1);
      expect(table.digestsOf(ring, 1), 'digests while the build runs').to.equal(undefined);
      let steps = 0;
      while (table.digestsOf(ring, 1) === undefined) {
        for (let i = 0; i < 300; i++) randomChange(store, clock, random);
        time.advance(100);
        steps++;
      }
      expect(steps, 'time steps the build took').to.be.greaterThan(5);
      for (let i = 0; i < 20_000; i++) randomChange(store, clock, random);
      const kept = table.digestsOf(ring, 1)!;
      const expected = freshDigests(store, ring);
      expect(
        expected.some((d) => d !== 0),
        'some range holds records',
      ).to.equal(true);
      expect([...kept.a, ...kept.b], `seed ${seed}: kept digests`).to.deep.equal(expected);
      expect(store.stats().evictions, 'evictions in the run').to.be.greaterThan(evictedBefore);
      expect(store.stats().expirations, 'expiries in the run').to.be.greaterThan(0);
    }
  });

  it('builds again for a new ring, and answers nothing for it until the build is done', () => {
    const { store } = makeStore({ maxMemoryBytes: 4 << 20 });
    for (let i = 0; i < 5000; i++) store.set(`k${i}`, utf8('v'), 0);
    const time = new ManualTime();
    const table = new RangeDigestTable(store, time, 2000);
    table.start(ring, 1);
    time.advanceUntil('the first build', () => table.digestsOf(ring, 1) !== undefined, 100);
    const bigger = new Ring(['n1', 'n2', 'n3', 'n4'], { vnodes: 16 });
    expect(table.digestsOf(bigger, 2), 'digests of a ring not built yet').to.equal(undefined);
    for (let i = 0; i < 100; i++) store.delete(`k${i}`);
    time.advanceUntil('the second build', () => table.digestsOf(bigger, 2) !== undefined, 100);
    const d = table.digestsOf(bigger, 2)!;
    expect(d.a.length, 'one digest per range of the new ring').to.equal(bigger.rangeCount);
    expect([...d.a, ...d.b]).to.deep.equal(freshDigests(store, bigger));
  });

  it('gives two replicas holding the same write the same digest, though one saw its TTL pass and the other not yet', () => {
    const a = makeStore({ nodeId: 'n1' });
    const b = makeStore({ nodeId: 'n2' });
    for (let i = 0; i < 50; i++) a.store.set(`k${i}`, utf8(`v${i}`), 0, { ttlMs: 1000 });
    for (let i = 0; i < 50; i++) b.store.applyRecord(`k${i}`, a.store.readRecord(`k${i}`)!);
    a.clock.advance(1500);
    b.clock.advance(1500);
    for (let i = 0; i < 50; i++) expect(a.store.get(`k${i}`), 'expired on n1').to.equal(undefined);
    expect(freshDigests(a.store, ring)).to.deep.equal(freshDigests(b.store, ring));
  });

  it('leaves the digests as they were when a write is refused before it changes anything', () => {
    const { store } = makeStore({ maxMemoryBytes: 64 << 20 });
    const time = new ManualTime();
    const table = new RangeDigestTable(store, time, 1e9);
    table.start(ring, 1);
    store.set('victim', utf8('v'), 0);
    // A store knows at most 65,536 distinct version nodes: the next one is refused.
    let timestamp = store.hlc.now().timestamp;
    const record = (node: string) => ({
      value: utf8('a'),
      flags: 0 as const,
      version: { timestamp: ++timestamp, node },
      expiresAtMs: 0,
      tombstone: false,
    });
    for (let i = 0; i < 65_535; i++) store.applyRecord('x', record(`p${i}`));
    expect(() => store.applyRecord('victim', record('one-too-many'))).to.throw();
    const kept = table.digestsOf(ring, 1)!;
    expect([...kept.a, ...kept.b]).to.deep.equal(freshDigests(store, ring));
  });
});
