import { expect } from 'chai';
import { ENTRY_OVERHEAD_BYTES } from '../../../src/store/store';
import { until } from '../../support/cluster';
import { makeStore, utf8 } from './fake-clock';

describe('Store TTL', () => {
  it('serves a value until its TTL and then misses and counts an expiration', () => {
    const { store, clock } = makeStore();
    store.set('k', utf8('v'), 0, { ttlMs: 1000 });
    clock.advance(999);
    expect(store.get('k')).to.not.equal(undefined);
    clock.advance(1);
    expect(store.get('k')).to.equal(undefined);
    expect(store.stats()).to.include({ hits: 1, misses: 1, expirations: 1, keys: 0 });
  });

  it("gives a live value's size without counting a read, and 0 for absent, deleted and expired keys", () => {
    const { store, clock } = makeStore();
    store.set('live', utf8('12345'), 0);
    store.set('brief', utf8('123'), 0, { ttlMs: 10 });
    store.set('gone', utf8('1234'), 0);
    store.delete('gone');
    expect(['live', 'brief', 'gone', 'absent'].map((k) => store.valueBytesOf(k))).to.deep.equal([5, 3, 0, 0]);
    clock.advance(10);
    expect(store.valueBytesOf('brief')).to.equal(0);
    expect(store.stats()).to.include({ hits: 0, misses: 0, expirations: 0 });
  });

  it('reports the absolute expiry time', () => {
    const { store, clock } = makeStore();
    store.set('k', utf8('v'), 0, { ttlMs: 250 });
    expect(store.get('k')!.expiresAtMs).to.equal(clock.ms + 250);
  });

  it('treats an expired key as absent for set modes, touch, increment and compareAndSet', () => {
    const { store, clock } = makeStore();
    const v = store.set('k', utf8('5'), 1, { ttlMs: 10 }).version!;
    clock.advance(10);
    expect(store.set('k', utf8('x'), 0, { mode: 'ifPresent' }).stored).to.equal(false);
    expect(store.touch('k', 100)).to.equal(false);
    expect(() => store.compareAndSet('k', v, utf8('y'), 0)).to.throw(/absent/);
    expect(store.increment('k', 1).value).to.equal(1);
  });

  it('turns an expired value into a tombstone at its version for the grace period', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 5000 });
    const v = store.set('k', utf8('v'), 0, { ttlMs: 100 }).version!;
    clock.advance(100);
    const record = store.readRecord('k')!;
    expect(record).to.deep.include({ tombstone: true, version: v, expiresAtMs: clock.ms + 5000 });
    expect(record.value.length).to.equal(0);
    clock.advance(5000);
    expect(store.readRecord('k')).to.equal(undefined);
  });

  it('sweeps expired values and purges tombstones after their grace', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 1000 });
    store.set('a', utf8('v'), 0, { ttlMs: 100 });
    store.set('b', utf8('v'), 0);
    store.delete('c');
    clock.advance(100);
    expect(store.sweep(Infinity)).to.equal(1);
    expect(store.stats()).to.include({ keys: 1, tombstones: 2, expirations: 1 });
    clock.advance(1000);
    expect(store.sweep(Infinity)).to.equal(2);
    expect(store.stats()).to.include({ keys: 1, tombstones: 0 });
    expect(store.stats().bytes).to.equal(1 + 8 + ENTRY_OVERHEAD_BYTES); // key, its 1-byte value's 8-byte cell, overhead
  });

  it('removes a value found expired past its grace in one sweep step', () => {
    const { store, clock } = makeStore({ tombstoneGraceMs: 10 });
    store.set('a', utf8('v'), 0, { ttlMs: 100 });
    clock.advance(1000);
    expect(store.sweep(Infinity)).to.equal(1);
    expect(store.stats()).to.include({ keys: 0, tombstones: 0, bytes: 0, expirations: 1 });
  });

  it('resumes where it left off when the budget runs out', () => {
    const { store, clock } = makeStore({ maxMemoryBytes: 1 << 24 });
    for (let i = 0; i < 5000; i++) store.set(`k${i}`, utf8('v'), 0, { ttlMs: 10 });
    clock.advance(10);
    // A zero budget stops at the first clock check (every 1024 slots), so each call makes some progress.
    let calls = 0;
    let swept = 0;
    while (store.stats().keys > 0) {
      swept += store.sweep(0);
      calls++;
    }
    expect(swept).to.equal(5000);
    expect(calls).to.be.greaterThan(1);
  });

  it('starts and stops its periodic sweep idempotently without holding the process open', async () => {
    const { store, clock } = makeStore({ sweepIntervalMs: 1 });
    store.set('a', utf8('v'), 0, { ttlMs: 10 });
    clock.advance(10);
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    store.start();
    store.start();
    expect(timers(), 'its timer is unref()d').to.equal(before);
    // Nothing reads 'a': only the periodic sweep can find it expired.
    await until('the periodic sweep found the expired value', () => store.stats().expirations === 1);
    expect(store.stats()).to.include({ keys: 0, expirations: 1 });
    store.stop();
    store.stop();
    store.start(); // and a stopped store starts again
    try {
      store.set('b', utf8('v'), 0, { ttlMs: 10 });
      clock.advance(10);
      await until('the restarted sweep found the second one', () => store.stats().expirations === 2);
    } finally {
      store.stop();
    }
  });
});
