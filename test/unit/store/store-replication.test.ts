import { expect } from 'chai';
import { isRingCacheError } from '../../../src/errors';
import { LOGICAL_TICKS_PER_MS } from '../../../src/store/hlc';
import type { StoreRecord } from '../../../src/store/types';
import type { Version } from '../../../src/store/version';
import { makeStore, utf8 } from './fake-clock';

const NOW = 1_700_000_000_000;
const v = (ms: number, node = 'n2'): Version => ({ timestamp: (NOW + ms) * LOGICAL_TICKS_PER_MS, node });
const live = (text: string, version: Version, expiresAtMs = 0): StoreRecord => ({
  value: utf8(text),
  flags: 1,
  version,
  expiresAtMs,
  tombstone: false,
});
const tombstone = (version: Version, expiresAtMs = 0): StoreRecord => ({
  value: Buffer.alloc(0),
  flags: 0,
  version,
  expiresAtMs,
  tombstone: true,
});

describe('Store readRecord', () => {
  it('returns the live record without counting a hit or bumping LRU', () => {
    const { store } = makeStore();
    const version = store.set('k', utf8('v'), 1).version!;
    expect(store.readRecord('k')).to.deep.equal({
      value: utf8('v'),
      flags: 1,
      version,
      expiresAtMs: 0,
      tombstone: false,
    });
    expect(store.stats()).to.include({ hits: 0, misses: 0 });
  });

  it('returns tombstones with their purge time', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 60_000 });
    const { version } = store.delete('k');
    expect(store.readRecord('k')).to.deep.include({
      tombstone: true,
      version,
      expiresAtMs: clock.ms + 60_000,
    });
  });

  it('returns undefined for keys never written', () => {
    const { store } = makeStore();
    expect(store.readRecord('k')).to.equal(undefined);
  });
});

describe('Store applyRecord (last writer wins)', () => {
  it('applies a record newer than what is held, keeping its version', () => {
    const { store } = makeStore();
    store.set('k', utf8('old'), 1);
    expect(store.applyRecord('k', live('new', v(10)))).to.equal(true);
    expect(store.get('k')!).to.deep.include({ version: v(10) });
    expect(store.get('k')!.value.toString()).to.equal('new');
  });

  it('ignores a record older than or equal to what is held', () => {
    const { store } = makeStore();
    store.applyRecord('k', live('b', v(10)));
    expect(store.applyRecord('k', live('a', v(5)))).to.equal(false);
    expect(store.applyRecord('k', live('c', v(10)))).to.equal(false);
    expect(store.get('k')!.value.toString()).to.equal('b');
  });

  it('breaks timestamp ties by node id', () => {
    const { store } = makeStore();
    store.applyRecord('k', live('from-a', v(10, 'a')));
    expect(store.applyRecord('k', live('from-b', v(10, 'b')))).to.equal(true);
    expect(store.applyRecord('k', live('from-a', v(10, 'a')))).to.equal(false);
    expect(store.get('k')!.value.toString()).to.equal('from-b');
  });

  it('refuses a version naming one node id more than it can hold, with the limit, and takes the rest', () => {
    const { store } = makeStore();
    let refused: unknown;
    let i = 0;
    for (; i <= 0x10000 && refused === undefined; i++) {
      try {
        const version = { timestamp: NOW * LOGICAL_TICKS_PER_MS + i + 1, node: `peer-${i}` };
        store.applyRecord('k', live(`from-${i}`, version));
      } catch (err) {
        refused = err;
      }
    }
    // OUT_OF_MEMORY is RESOURCE_EXHAUSTED on the wire.
    expect(isRingCacheError(refused) && refused.code, String(refused)).to.equal('OUT_OF_MEMORY');
    expect((refused as Error).message).to.match(/65536 distinct node ids/);
    expect(store.get('k')!.value.toString()).to.equal(`from-${i - 2}`);
    // Node ids it knows still come in, and its own writes go on.
    const again = { timestamp: NOW * LOGICAL_TICKS_PER_MS + i + 10, node: 'peer-0' };
    expect(store.applyRecord('k', live('again', again))).to.equal(true);
    expect(store.set('mine', utf8('x'), 1).stored).to.equal(true);
  });

  it('converges whatever order records arrive in, replays included', () => {
    const records = [
      live('1', v(1)),
      tombstone(v(2)),
      live('3', v(3, 'a')),
      live('3b', v(3, 'b')),
      live('0', v(0)),
    ];
    const orders = [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [2, 0, 3, 3, 1, 4, 0],
      [1, 4, 3, 2, 0, 1],
    ];
    for (const order of orders) {
      const { store } = makeStore();
      for (const i of order) store.applyRecord('k', records[i]!);
      expect(store.readRecord('k')!.value.toString(), `order ${order.join(',')}`).to.equal('3b');
    }
  });

  it('keeps a tombstone against an older write arriving late', () => {
    const { store } = makeStore();
    store.applyRecord('k', live('v', v(1)));
    expect(store.applyRecord('k', tombstone(v(5)))).to.equal(true);
    expect(store.applyRecord('k', live('late', v(3)))).to.equal(false);
    expect(store.get('k')).to.equal(undefined);
    expect(store.readRecord('k')).to.deep.include({ tombstone: true, version: v(5) });
  });

  it('lets a newer write replace a tombstone', () => {
    const { store } = makeStore();
    store.delete('k');
    expect(store.applyRecord('k', live('back', v(100)))).to.equal(true);
    expect(store.get('k')!.value.toString()).to.equal('back');
    expect(store.stats()).to.include({ keys: 1, tombstones: 0 });
  });

  it('keeps a tombstone until the purge time it carries, or the local grace when it carries none', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 1000 });
    store.applyRecord('a', tombstone(v(1), clock.ms + 300));
    store.applyRecord('b', tombstone(v(1)));
    expect(store.readRecord('a')!.expiresAtMs).to.equal(clock.ms + 300);
    expect(store.readRecord('b')!.expiresAtMs).to.equal(clock.ms + 1000);
  });

  it('applies a tombstone past its purge time by removing the older value it beats', () => {
    const { store, clock } = makeStore();
    store.applyRecord('k', live('v', v(1)));
    expect(store.applyRecord('k', tombstone(v(2), clock.ms - 1))).to.equal(true);
    expect(store.readRecord('k')).to.equal(undefined);
    expect(store.stats()).to.include({ keys: 0, tombstones: 0, bytes: 0 });
  });

  it('holds an already expired record as a tombstone, so an older live copy cannot come back', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 1000 });
    store.applyRecord('k', live('expired', v(2), clock.ms - 10));
    expect(store.get('k')).to.equal(undefined);
    expect(store.applyRecord('k', live('older', v(1)))).to.equal(false);
    expect(store.readRecord('k')).to.deep.include({
      tombstone: true,
      version: v(2),
      expiresAtMs: clock.ms - 10 + 1000,
    });
  });

  it('pushes the clock forward so later local writes win', () => {
    const { store } = makeStore();
    store.applyRecord('k', live('remote', v(4000)));
    const local = store.set('k', utf8('local'), 1).version!;
    expect(local.timestamp).to.be.greaterThan(v(4000).timestamp);
  });

  it('refuses a version further ahead of its clock than maxClockOffsetMs, and keeps its own clock (issue 11 §6)', () => {
    const { store } = makeStore({ maxClockOffsetMs: 1000 });
    const hlcBefore = store.hlc.last;
    expect(() => store.applyRecord('k', live('far', v(1001)))).to.throw(
      /1001 ms ahead of this node's clock; cluster\.max_clock_offset_ms is 1000/,
    );
    expect(() =>
      store.applyRecord('k', live('poison', { timestamp: Number.MAX_SAFE_INTEGER, node: 'evil' })),
    ).to.throw(/max_clock_offset_ms/);
    expect(store.stats().versionsRefused).to.equal(2);
    expect(store.readRecord('k')).to.equal(undefined);
    expect(store.hlc.last).to.equal(hlcBefore);
    expect(store.applyRecord('k', live('near', v(1000)))).to.equal(true);
    expect(store.set('k2', utf8('x'), 1).stored).to.equal(true);
  });

  it('validates records like any other write', () => {
    const { store } = makeStore({ maxValueBytes: 4 });
    const codes = [
      () => store.applyRecord('', live('v', v(1))),
      () => store.applyRecord('k', live('too long', v(1))),
      () => store.applyRecord('k', { ...live('v', v(1)), flags: 9 as 0 }),
      () => store.applyRecord('k', live('v', { timestamp: -1, node: 'n2' })),
      () => store.applyRecord('k', live('v', { timestamp: 1, node: '' })),
      () => store.applyRecord('k', live('v', v(1), Number.NaN)),
    ].map((fn) => {
      try {
        fn();
        return 'none';
      } catch (err) {
        return isRingCacheError(err) ? err.code : String(err);
      }
    });
    expect(codes).to.deep.equal([
      'INVALID_ARGUMENT',
      'VALUE_TOO_LARGE',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
    ]);
  });
});

describe('Store records', () => {
  it('iterates live records and tombstones, skipping purgeable ones', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 100 });
    store.set('a', utf8('1'), 1);
    store.delete('b');
    store.applyRecord('c', tombstone(v(1), clock.ms + 50));
    clock.advance(60);
    const seen = Object.fromEntries([...store.records()].map(([k, r]) => [k, r.tombstone]));
    expect(seen).to.deep.equal({ a: false, b: true });
  });

  it('tolerates writes while iterating', () => {
    const { store } = makeStore();
    for (let i = 0; i < 10; i++) store.set(`k${i}`, utf8('v'), 0);
    let n = 0;
    for (const [key] of store.records()) {
      store.delete(key);
      n++;
    }
    expect(n).to.equal(10);
    expect(store.stats()).to.include({ keys: 0, tombstones: 10 });
  });
});

describe('Store versions', () => {
  it('passes what records() gives, without the values: a value past its TTL as a tombstone, none past its purge time', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 100 });
    store.set('live', utf8('1'), 1);
    store.set('expiring', utf8('2'), 1, { ttlMs: 10 });
    store.delete('deleted');
    store.applyRecord('purged', tombstone(v(1), clock.ms + 50));
    clock.advance(60);
    const records = [...store.records()].map(([key, r]) => ({
      key,
      timestamp: r.version.timestamp,
      node: r.version.node,
      tombstone: r.tombstone,
    }));
    // The cursor is one object, overwritten at each step: copied here as a scan must.
    const versions = Array.from(store.versions(), (c) => ({ ...c }));
    expect(versions).to.deep.equal(records);
    expect(Object.fromEntries(versions.map((c) => [c.key, c.tombstone]))).to.deep.equal({
      live: false,
      expiring: true,
      deleted: true,
    });
  });
});

describe('Store release (dropping a copy this node no longer replicates)', () => {
  it('drops the copy at the given version with no tombstone, freeing its bytes', () => {
    const { store } = makeStore();
    const before = store.stats().bytes;
    store.applyRecord('k', live('v', v(1)));
    expect(store.release('k', v(1))).to.equal(true);
    expect(store.readRecord('k')).to.equal(undefined);
    expect(store.stats()).to.include({ keys: 0, tombstones: 0, bytes: before });
  });

  it('keeps a copy that changed since the version given, and tombstones likewise', () => {
    const { store } = makeStore();
    store.applyRecord('k', live('v', v(1)));
    store.applyRecord('k', live('newer', v(2)));
    expect(store.release('k', v(1))).to.equal(false);
    expect(store.readRecord('k')!.value.toString()).to.equal('newer');
    store.applyRecord('gone', tombstone(v(3)));
    expect(store.release('gone', v(3))).to.equal(true);
    expect(store.stats().tombstones).to.equal(0);
    expect(store.release('never', v(1))).to.equal(false);
  });
});
