import { expect } from 'chai';
import { expectError } from '../../support/expect-error';
import { pack } from 'msgpackr';
import { MAX_TTL_MS } from '../../../src/store/store';
import type { ValueFlags } from '../../../src/store/types';
import { makeStore, utf8 } from './fake-clock';

describe('Store get and set', () => {
  it('returns what was set, with flags, version and no expiry', () => {
    const { store } = makeStore();
    const { stored, version } = store.set('k', utf8('v'), 1);
    expect(stored).to.equal(true);
    const got = store.get('k')!;
    expect(got.value.toString()).to.equal('v');
    expect(got.flags).to.equal(1);
    expect(got.version).to.deep.equal(version);
    expect(got.expiresAtMs).to.equal(0);
  });

  it('hands out a copy the caller owns', () => {
    const { store } = makeStore();
    const input = utf8('abc');
    store.set('k', input, 0);
    input[0] = 0x7a;
    const first = store.get('k')!.value;
    first[1] = 0x7a;
    expect(store.get('k')!.value.toString()).to.equal('abc');
  });

  it('counts hits and misses', () => {
    const { store } = makeStore();
    store.set('k', utf8('v'), 0);
    store.get('k');
    store.get('nope');
    expect(store.stats()).to.include({ hits: 1, misses: 1, keys: 1 });
  });

  it('gives every write a newer version', () => {
    const { store } = makeStore();
    const a = store.set('k', utf8('1'), 0).version!;
    const b = store.set('k', utf8('2'), 0).version!;
    expect(b.timestamp).to.be.greaterThan(a.timestamp);
    expect(b.node).to.equal('n1');
  });

  it('stores empty values', () => {
    const { store } = makeStore();
    store.set('k', Buffer.alloc(0), 0);
    expect(store.get('k')!.value.length).to.equal(0);
  });

  it('in ifAbsent mode writes only keys that are absent', () => {
    const { store } = makeStore();
    expect(store.set('k', utf8('1'), 0, { mode: 'ifAbsent' }).stored).to.equal(true);
    expect(store.set('k', utf8('2'), 0, { mode: 'ifAbsent' })).to.deep.equal({ stored: false });
    expect(store.get('k')!.value.toString()).to.equal('1');
    store.delete('k');
    expect(store.set('k', utf8('3'), 0, { mode: 'ifAbsent' }).stored).to.equal(true);
  });

  it('in ifPresent mode writes only keys that are present', () => {
    const { store } = makeStore();
    expect(store.set('k', utf8('1'), 0, { mode: 'ifPresent' })).to.deep.equal({ stored: false });
    expect(store.get('k')).to.equal(undefined);
    store.set('k', utf8('1'), 0);
    expect(store.set('k', utf8('2'), 0, { mode: 'ifPresent' }).stored).to.equal(true);
    expect(store.get('k')!.value.toString()).to.equal('2');
  });

  it('refuses an empty key', () => {
    const { store } = makeStore();
    expectError(() => store.set('', utf8('v'), 0), 'INVALID_ARGUMENT', /^key is empty$/);
  });

  it('refuses a key over max_key_bytes, counting UTF-8 bytes', () => {
    const { store } = makeStore({ maxKeyBytes: 1024 });
    expectError(
      () => store.set('k'.repeat(1500), utf8('v'), 0),
      'KEY_TOO_LARGE',
      /^key is 1500 bytes; limits.max_key_bytes is 1024$/,
    );
    expectError(() => store.set('é'.repeat(513), utf8('v'), 0), 'KEY_TOO_LARGE', /key is 1026 bytes/);
    expect(store.set('é'.repeat(512), utf8('v'), 0).stored).to.equal(true);
  });

  it('refuses a value over max_value_bytes', () => {
    const { store } = makeStore({ maxValueBytes: 4096 });
    expectError(
      () => store.set('k', Buffer.alloc(4097), 0),
      'VALUE_TOO_LARGE',
      /^value is 4097 bytes; limits.max_value_bytes is 4096$/,
    );
  });

  for (const ttlMs of [-1, 1.5, Number.NaN, MAX_TTL_MS + 1]) {
    it(`refuses ttl_ms ${ttlMs}`, () => {
      const { store } = makeStore();
      expectError(() => store.set('k', utf8('v'), 0, { ttlMs }), 'INVALID_ARGUMENT', /ttl_ms/);
    });
  }

  it('refuses flags other than 0, 1 and 2', () => {
    const { store } = makeStore();
    expectError(() => store.set('k', utf8('v'), 3 as ValueFlags), 'INVALID_ARGUMENT', /flags/);
  });

  it('refuses an entry bigger than max_memory altogether', () => {
    const { store } = makeStore({ maxMemoryBytes: 1000, maxValueBytes: 4096 });
    expectError(
      () => store.set('k', Buffer.alloc(2000), 0),
      'OUT_OF_MEMORY',
      /limits.max_memory is 1000 bytes/,
    );
  });
});

describe('Store delete', () => {
  it('removes a live key and says so', () => {
    const { store } = makeStore();
    const written = store.set('k', utf8('v'), 0).version!;
    const { deleted, version } = store.delete('k');
    expect(deleted).to.equal(true);
    expect(version.timestamp).to.be.greaterThan(written.timestamp);
    expect(store.get('k')).to.equal(undefined);
    expect(store.stats()).to.include({ keys: 0, tombstones: 1 });
  });

  it('writes a tombstone even for an absent key', () => {
    const { store } = makeStore();
    expect(store.delete('k').deleted).to.equal(false);
    expect(store.readRecord('k')!.tombstone).to.equal(true);
  });
});

describe('Store touch', () => {
  it('sets a new TTL on a live key and bumps its version', () => {
    const { store, clock } = makeStore();
    const written = store.set('k', utf8('v'), 0).version!;
    expect(store.touch('k', 5000)).to.equal(true);
    const got = store.get('k')!;
    expect(got.expiresAtMs).to.equal(clock.ms + 5000);
    expect(got.version.timestamp).to.be.greaterThan(written.timestamp);
  });

  it('clears the TTL with 0', () => {
    const { store, clock } = makeStore();
    store.set('k', utf8('v'), 0, { ttlMs: 100 });
    store.touch('k', 0);
    clock.advance(1000);
    expect(store.get('k')!.expiresAtMs).to.equal(0);
  });

  it('returns false for absent keys and tombstones', () => {
    const { store } = makeStore();
    expect(store.touch('k', 10)).to.equal(false);
    store.set('k', utf8('v'), 0);
    store.delete('k');
    expect(store.touch('k', 10)).to.equal(false);
  });
});

describe('Store increment', () => {
  it('creates an absent key as UTF-8 decimal from initial + delta with the TTL given', () => {
    const { store, clock } = makeStore();
    expect(store.increment('c', 5, { initial: 10, ttlMs: 1000 }).value).to.equal(15);
    const got = store.get('c')!;
    expect(got.value.toString()).to.equal('15');
    expect(got.flags).to.equal(1);
    expect(got.expiresAtMs).to.equal(clock.ms + 1000);
  });

  it('adds to a UTF-8 decimal value and keeps its expiry', () => {
    const { store, clock } = makeStore();
    store.set('c', utf8('41'), 1, { ttlMs: 500 });
    const { value, version } = store.increment('c', 1, { ttlMs: 99_999 });
    expect(value).to.equal(42);
    const got = store.get('c')!;
    expect(got).to.deep.include({ flags: 1, expiresAtMs: clock.ms + 500 });
    expect(got.value.toString()).to.equal('42');
    expect(got.version).to.deep.equal(version);
  });

  it('adds to raw ASCII digits and keeps flags 0', () => {
    const { store } = makeStore();
    store.set('c', utf8('-3'), 0);
    expect(store.increment('c', -4).value).to.equal(-7);
    expect(store.get('c')!).to.deep.include({ flags: 0 });
    expect(store.get('c')!.value.toString()).to.equal('-7');
  });

  for (const n of [
    0,
    127,
    -32,
    -33,
    200,
    70_000,
    -70_000,
    2 ** 40,
    -(2 ** 40),
    Number.MAX_SAFE_INTEGER - 1,
  ]) {
    it(`adds to msgpack integer ${n} and writes msgpack back`, () => {
      const { store } = makeStore();
      store.set('c', pack(n), 2);
      expect(store.increment('c', 1).value).to.equal(n + 1);
      const got = store.get('c')!;
      expect(got.flags).to.equal(2);
      expect(store.increment('c', 0).value).to.equal(n + 1); // what it wrote reads back
    });
  }

  it('refuses values that are not integers, naming the key', () => {
    const { store } = makeStore();
    store.set('t', utf8('abc'), 1);
    store.set('f', utf8('1.5'), 1);
    store.set('m', pack('str'), 2);
    store.set('e', Buffer.alloc(0), 1);
    expectError(
      () => store.increment('t', 1),
      'NOT_AN_INTEGER',
      /^value of key 't' is not an integer: "abc"$/,
    );
    expectError(() => store.increment('f', 1), 'NOT_AN_INTEGER', /key 'f'/);
    expectError(() => store.increment('m', 1), 'NOT_AN_INTEGER', /msgpack/);
    expectError(() => store.increment('e', 1), 'NOT_AN_INTEGER', /key 'e'/);
  });

  it('reports overflow past 2^53-1 as NOT_AN_INTEGER', () => {
    const { store } = makeStore();
    store.set('c', utf8(String(Number.MAX_SAFE_INTEGER)), 1);
    expectError(() => store.increment('c', 1), 'NOT_AN_INTEGER', /overflow/);
    expectError(
      () => store.increment('d', -1, { initial: -Number.MAX_SAFE_INTEGER }),
      'NOT_AN_INTEGER',
      /overflow/,
    );
    store.set('big', utf8('99999999999999999999'), 1);
    expectError(() => store.increment('big', 1), 'NOT_AN_INTEGER', /outside/);
  });

  it('refuses a delta that is not a safe integer', () => {
    const { store } = makeStore();
    expectError(() => store.increment('c', 1.5), 'INVALID_ARGUMENT', /delta/);
    expectError(() => store.increment('c', 2 ** 53), 'INVALID_ARGUMENT', /delta/);
  });
});

describe('Store compareAndSet', () => {
  it('writes when the version matches and returns the new version', () => {
    const { store } = makeStore();
    const v1 = store.set('k', utf8('1'), 0).version!;
    const v2 = store.compareAndSet('k', v1, utf8('2'), 1, 1000);
    expect(v2.timestamp).to.be.greaterThan(v1.timestamp);
    expect(store.get('k')!).to.deep.include({ flags: 1, version: v2 });
  });

  it('refuses a stale version, saying the current one', () => {
    const { store } = makeStore();
    const v1 = store.set('k', utf8('1'), 0).version!;
    const v2 = store.set('k', utf8('2'), 0).version!;
    expectError(
      () => store.compareAndSet('k', v1, utf8('3'), 0),
      'VERSION_CONFLICT',
      new RegExp(`at version ${v2.timestamp}@n1`),
    );
    expect(store.get('k')!.value.toString()).to.equal('2');
  });

  it('refuses an absent key, saying it is absent', () => {
    const { store } = makeStore();
    expectError(
      () => store.compareAndSet('k', { timestamp: 1, node: 'n1' }, utf8('3'), 0),
      'VERSION_CONFLICT',
      /absent/,
    );
  });
});
