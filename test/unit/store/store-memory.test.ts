import { expect } from 'chai';
import { ENTRY_OVERHEAD_BYTES, Store } from '../../../src/store/store';
import { heldBytesOf } from '../../../src/store/value-arena';
import { exposedGc } from '../../../src/server/memory-guard';
import { makeStore } from './fake-clock';
import { skipBecause } from '../../support/skip-reasons';

/** Entries of 2-byte keys and 50-byte values (56-byte cells): 106 accounted bytes each. */
const value = Buffer.alloc(50, 1);
const ENTRY = 2 + heldBytesOf(50) + ENTRY_OVERHEAD_BYTES;

describe('Store memory bound', () => {
  it("accounts key bytes + the value's arena cell + the per-entry overhead (issue 12 §6)", () => {
    const { store } = makeStore();
    store.set('k1', value, 0);
    store.set('é', Buffer.alloc(10), 0);
    expect(heldBytesOf(50)).to.equal(56);
    expect(store.stats().bytes).to.equal(ENTRY + 2 + 16 + ENTRY_OVERHEAD_BYTES);
    store.set('k1', Buffer.alloc(5), 0);
    expect(store.stats().bytes).to.equal(2 + 8 + ENTRY_OVERHEAD_BYTES + 2 + 16 + ENTRY_OVERHEAD_BYTES);
  });

  it('evicts the least recently used entry to make room', () => {
    const { store } = makeStore({ maxMemoryBytes: 3 * ENTRY });
    store.set('k1', value, 0);
    store.set('k2', value, 0);
    store.set('k3', value, 0);
    store.set('k4', value, 0);
    expect(store.get('k1')).to.equal(undefined);
    expect(store.stats()).to.include({ evictions: 1, keys: 3, bytes: 3 * ENTRY });
  });

  it('counts a get as a use, so the entry read survives the next eviction', () => {
    const { store } = makeStore({ maxMemoryBytes: 3 * ENTRY });
    store.set('k1', value, 0);
    store.set('k2', value, 0);
    store.set('k3', value, 0);
    store.get('k1');
    store.set('k4', value, 0);
    expect(store.get('k1')).to.not.equal(undefined);
    expect(store.get('k2')).to.equal(undefined);
  });

  it('evicts in LRU order, and overwriting a key makes it most recent', () => {
    const { store } = makeStore({ maxMemoryBytes: 4 * ENTRY });
    for (const k of ['k1', 'k2', 'k3', 'k4']) store.set(k, value, 0);
    store.set('k2', value, 0);
    store.touch('k1', 0);
    store.set('k5', value, 0);
    store.set('k6', value, 0);
    expect(
      ['k1', 'k2', 'k3', 'k4', 'k5', 'k6'].filter((k) => store.readRecord(k) !== undefined),
    ).to.deep.equal(['k1', 'k2', 'k5', 'k6']);
  });

  it('evicts several entries for one big value and never exceeds the bound', () => {
    const { store } = makeStore({ maxMemoryBytes: 10 * ENTRY, maxValueBytes: 10 * ENTRY });
    for (let i = 0; i < 10; i++) store.set(`k${i}`, value, 0);
    store.set('big', Buffer.alloc(5 * ENTRY), 0);
    const stats = store.stats();
    expect(stats.bytes).to.be.at.most(stats.maxBytes);
    expect(stats.evictions).to.equal(6);
    expect(store.get('big')!.value.length).to.equal(5 * ENTRY);
  });

  it('grows a value in place when it is the only entry and the bound allows it', () => {
    const { store } = makeStore({ maxMemoryBytes: ENTRY + 40 });
    store.set('k1', value, 0);
    store.set('k1', Buffer.alloc(90), 0);
    expect(store.stats()).to.include({ evictions: 0, keys: 1, bytes: ENTRY + 40 });
  });

  it('counts tombstones toward bytes and, past their grace, evicts them without counting an eviction', () => {
    const { store, clock } = makeStore({
      maxMemoryBytes: 2 * ENTRY,
      maxTombstoneBytes: 2 * ENTRY,
      tombstoneGraceMs: 1000,
    });
    store.set('k1', value, 0);
    store.delete('k1');
    expect(store.stats()).to.include({ tombstones: 1, bytes: 2 + ENTRY_OVERHEAD_BYTES });
    clock.advance(1001);
    store.set('k2', value, 0);
    store.set('k3', value, 0);
    expect(store.stats()).to.include({ tombstones: 0, evictions: 0, keys: 2 });
  });

  it('never evicts a tombstone still in its grace: live entries go first (issue 11 §3)', () => {
    const { store } = makeStore({
      maxMemoryBytes: 2 * ENTRY,
      maxTombstoneBytes: 2 * ENTRY,
      tombstoneGraceMs: 60_000,
    });
    store.set('k1', value, 0);
    store.delete('k1'); // the least recently used entry from here on
    store.set('k2', value, 0);
    store.set('k3', value, 0);
    expect(store.stats()).to.include({ tombstones: 1, evictions: 1, keys: 1 });
    expect(store.readRecord('k1')?.tombstone).to.equal(true);
    expect(store.get('k2')).to.equal(undefined);
  });

  it('refuses a write with OUT_OF_MEMORY when only tombstones in their grace are left to evict', () => {
    const tombstone = 2 + ENTRY_OVERHEAD_BYTES;
    const max = 3 * tombstone + 10;
    const { store } = makeStore({ maxMemoryBytes: max, maxTombstoneBytes: max, maxValueBytes: 64 });
    for (const k of ['k1', 'k2', 'k3']) store.delete(k);
    expect(() => store.set('k4', Buffer.alloc(20), 0)).to.throw(
      /held by 3 delete tombstones still in their grace/,
    );
    expect(store.stats()).to.include({ tombstones: 3, keys: 0 });
  });

  it('keeps working across many more entries than fit, reusing slots and cells', () => {
    const { store } = makeStore({ maxMemoryBytes: 50 * ENTRY });
    for (let i = 0; i < 5000; i++) store.set(`k${i % 700}`, Buffer.alloc(i % 90, i % 256), 0);
    const stats = store.stats();
    expect(stats.bytes).to.be.at.most(stats.maxBytes);
    let sum = 0;
    for (const [key, record] of store.records())
      sum += Buffer.byteLength(key) + heldBytesOf(record.value.length) + ENTRY_OVERHEAD_BYTES;
    expect(sum).to.equal(stats.bytes);
  });
});

describe('Store.setMemoryPressure (issue 12 §6)', () => {
  it('evicts down to max_memory less the pressure at once, never below half, and gives it back', () => {
    const store = new Store({
      nodeId: 'n1',
      maxMemoryBytes: 100_000,
      maxKeyBytes: 250,
      maxValueBytes: 10_000,
    });
    for (let i = 0; i < 200; i++) store.set(`k${i}`, Buffer.alloc(400), 0);
    const full = store.stats().bytes;
    expect(full).to.be.within(90_000, 100_000);
    store.setMemoryPressure(30_000);
    expect(store.stats().bytes).to.be.at.most(70_000);
    expect(store.limitBytes).to.equal(70_000);
    store.setMemoryPressure(90_000);
    expect(store.limitBytes, 'at most half').to.equal(50_000);
    store.setMemoryPressure(0);
    for (let i = 200; i < 400; i++) store.set(`k${i}`, Buffer.alloc(400), 0);
    expect(store.stats().bytes).to.be.above(90_000);
  });
});

describe('Store arena compaction (issue 12 §6)', () => {
  const MiB = 1024 * 1024;
  /** A 4 KiB value that names its key, so a value moved to the wrong entry shows. */
  const valueOf = (i: number) => Buffer.alloc(4096, `${i};`);

  function filled(maxMemoryBytes: number): { store: Store; keys: number } {
    const { store } = makeStore({ maxMemoryBytes, maxValueBytes: MiB });
    const keys = Math.ceil((2 * maxMemoryBytes) / 4096);
    for (let i = 0; i < keys; i++) store.set(`k${i}`, valueOf(i), 0);
    return { store, keys };
  }

  function intact(store: Store, keys: number): { held: number; wrong: number } {
    let held = 0;
    let wrong = 0;
    for (let i = 0; i < keys; i++) {
      const got = store.get(`k${i}`);
      if (got === undefined) continue;
      held++;
      if (!got.value.equals(valueOf(i))) wrong++;
    }
    return { held, wrong };
  }

  it('gives the arena back when memory pressure halves what the store may hold', () => {
    const { store, keys } = filled(32 * MiB);
    expect(store.stats().arenaBytes).to.be.within(31 * MiB, 33 * MiB);
    store.setMemoryPressure(16 * MiB);
    expect(store.stats().bytes).to.be.at.most(16 * MiB);
    for (let i = 0; i < 10; i++) store.sweep();
    // At most 1/8 of the class's chunks free, plus the chunk being carved.
    expect(store.stats().arenaBytes).to.be.at.most(16 * MiB * (1 + 1 / 8) + MiB);
    expect(intact(store, keys)).to.deep.include({ wrong: 0 }).and.have.property('held').above(3000);
  });

  it('gives back the cells of deleted keys, and the values left read back unchanged', () => {
    const { store, keys } = filled(16 * MiB);
    for (let i = 0; i < keys; i++) if (i % 4 !== 0) store.delete(`k${i}`);
    for (let i = 0; i < 10; i++) store.sweep();
    const { held, wrong } = intact(store, keys);
    expect(wrong).to.equal(0);
    expect(store.stats().arenaBytes).to.be.at.most(held * 4096 * (1 + 1 / 8) + MiB);
  });

  it('counts in its footprint what it charges plus the free cells its arena still holds', () => {
    const { store, keys } = filled(16 * MiB);
    const full = store.stats();
    expect(store.footprintBytes, 'no free cells yet: within one chunk carved ahead').to.be.within(
      full.bytes,
      full.bytes + MiB,
    );
    let deleted = 0;
    for (let i = 0; i < keys; i += 2) {
      if (store.get(`k${i}`) === undefined) continue;
      store.delete(`k${i}`);
      deleted++;
    }
    const half = store.stats();
    // Deleted values leave their cells free until a sweep compacts them: memory the process still has.
    expect(deleted).to.be.above(1000);
    expect(half.arenaBytes).to.equal(full.arenaBytes);
    expect(store.footprintBytes - half.bytes).to.be.within(deleted * 4096, deleted * 4096 + MiB);
    for (let i = 0; i < 10; i++) store.sweep();
    expect(store.footprintBytes - store.stats().bytes, 'compacted').to.be.at.most(
      store.stats().bytes / 8 + MiB,
    );
  });

  it('keeps a store that holds what its arena holds as it is', () => {
    const { store } = filled(16 * MiB);
    const before = store.stats().arenaBytes;
    store.sweep();
    expect(store.stats().arenaBytes).to.equal(before);
  });
});

describe('Store accounting against the memory it really takes (issue 12 §6)', () => {
  // At 631fbf0 the store charged 163 bytes per entry of this shape while the process held 210
  // (bench:store): the index Map's entry and the key string's header were not charged, so a node
  // whose store was at max_memory held a quarter more, and only the memory guard took it back.
  it('charges an entry within 10% of the heap, external and slot table memory it adds', function () {
    const gc = exposedGc();
    if (!gc) skipBecause(this, 'V8 gave no gc() to call, even with --expose-gc set at run time');
    const entries = 200_000;
    const collect = () => {
      gc();
      gc();
    };
    const taken = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.external;
    };
    collect();
    const before = taken();
    const store = new Store({
      nodeId: 'n1',
      maxMemoryBytes: 2 ** 30,
      maxKeyBytes: 250,
      maxValueBytes: 1024,
    });
    const value = Buffer.alloc(100, 7);
    for (let i = 0; i < entries; i++) store.set(`key:${String(i).padStart(7, '0')}`, value, 0);
    collect();
    // The slot table's resizable buffers are counted by neither heapUsed nor external.
    const measured = (taken() - before + store.stats().tableBytes) / entries;
    const accounted = store.stats().bytes / entries;
    expect(store.stats().keys).to.equal(entries);
    // The store charges about 7% more than measured, by design (1.067-1.075 in six runs), so 10%
    // above left 3% for the rest of the process's heap to move. Under-charging, the fault this
    // guards against (163 charged against 210 measured), still fails.
    expect(accounted, `measured ${measured.toFixed(1)} bytes per entry`).to.be.within(
      measured * 0.9,
      measured * 1.15,
    );
  });
});

describe('Store tombstone budget (limits.max_tombstone_bytes)', () => {
  const key = (i: number) => `absent-${String(i).padStart(6, '0')}`;
  const tombstone = key(0).length + ENTRY_OVERHEAD_BYTES;

  it('never evicts a live value for the tombstone of a key it does not hold', () => {
    const { store } = makeStore({ maxMemoryBytes: 25 * ENTRY, maxTombstoneBytes: 25 * ENTRY });
    for (let i = 0; i < 20; i++) store.set(`k${i}`, value, 0);
    expect(store.stats()).to.include({ keys: 20, evictions: 0 });
    for (let i = 0; i < 1000; i++) store.delete(key(i));
    expect(store.stats()).to.include({ keys: 20, evictions: 0 });
    expect(store.stats().bytes).to.be.at.most(25 * ENTRY);
    for (let i = 0; i < 20; i++) expect(store.get(`k${i}`)?.value).to.deep.equal(value);
  });

  it('keeps tombstones within max_tombstone_bytes, shedding the oldest first', () => {
    const { store } = makeStore({ maxMemoryBytes: 1 << 20, maxTombstoneBytes: 10 * tombstone });
    store.set('live', value, 0);
    for (let i = 0; i < 1000; i++) store.delete(key(i));
    const stats = store.stats();
    expect(stats).to.include({
      tombstones: 10,
      tombstoneBytes: 10 * tombstone,
      keys: 1,
      tombstonesShed: 990,
    });
    expect(store.readRecord(key(989))).to.equal(undefined);
    for (let i = 990; i < 1000; i++) expect(store.readRecord(key(i))?.tombstone).to.equal(true);
    // A live value's delete is budgeted the same way, and sheds the oldest.
    store.delete('live');
    expect(store.readRecord('live')?.tombstone).to.equal(true);
    expect(store.readRecord(key(990))).to.equal(undefined);
  });

  it('lets every Set through after a flood of deletes', () => {
    const { store } = makeStore({ maxMemoryBytes: 50 * ENTRY });
    for (let i = 0; i < 10_000; i++) store.delete(key(i));
    for (let i = 0; i < 40; i++) store.set(`k${i}`, value, 0);
    expect(store.stats()).to.include({ keys: 40, evictions: 0 });
    expect(store.stats().tombstoneBytes).to.be.at.most(5 * ENTRY);
  });

  it('keeps the accounting exact through overwrites, expiry and shedding', () => {
    const { store, clock } = makeStore({ maxMemoryBytes: 100 * ENTRY, maxTombstoneBytes: 20 * tombstone });
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 30; i++) {
        if ((i + round) % 3 === 0) store.delete(key(i));
        else store.set(key(i), value, 0, { ttlMs: (i % 5) * 10 });
      }
      clock.advance(15);
      store.sweep(1000);
    }
    let bytes = 0;
    let tombstoneBytes = 0;
    for (const [k, record] of store.records()) {
      const size = Buffer.byteLength(k) + heldBytesOf(record.value.length) + ENTRY_OVERHEAD_BYTES;
      bytes += size;
      if (record.tombstone) tombstoneBytes += size;
    }
    const stats = store.stats();
    expect(stats.bytes).to.equal(bytes);
    expect(stats.tombstoneBytes).to.be.at.most(20 * tombstone);
    expect(tombstoneBytes).to.be.at.most(stats.tombstoneBytes);
  });
});
