import { expect } from 'chai';
import { expectError } from '../../../support/expect-error';
import { applyLocal, recordToGetResult } from '../../../../src/cluster/replication/local-ops';
import type {
  CasOperation,
  Operation,
  OperationResult,
  SetOperation,
} from '../../../../src/cluster/replication/operation';
import type { StoreRecord } from '../../../../src/store/types';
import type { Version } from '../../../../src/store/version';
import { makeStore, utf8 } from '../../store/fake-clock';

const setOp = (key: string, value: Buffer, extra: Partial<SetOperation> = {}): SetOperation => ({
  kind: 'set',
  key,
  value,
  flags: 0,
  ttlMs: 0,
  mode: 'always',
  consistency: 'default',
  ...extra,
});

const getOp = (key: string): Operation => ({ kind: 'get', key, consistency: 'default' });
const deleteOp = (key: string): Operation => ({ kind: 'delete', key, consistency: 'default' });
const touchOp = (key: string, ttlMs: number): Operation => ({
  kind: 'touch',
  key,
  ttlMs,
  consistency: 'default',
});
const incrOp = (key: string, delta: number, initial = 0): Operation => ({
  kind: 'incr',
  key,
  delta,
  initial,
  ttlMs: 0,
  consistency: 'default',
});

/** `result` narrowed to the kind it must be, failing the test when it is another. */
function resultOf<K extends OperationResult['kind']>(
  result: OperationResult,
  kind: K,
): Extract<OperationResult, { kind: K }> {
  expect(result.kind).to.equal(kind);
  return result as Extract<OperationResult, { kind: K }>;
}

describe('applyLocal', () => {
  describe('get', () => {
    it('answers a live key with its value, flags, version and expiry, and writes nothing', () => {
      const { store, clock } = makeStore();
      const expiresAtMs = clock.now() + 5000;
      const { version } = store.set('k', utf8('v'), 1, { ttlMs: 5000 });
      clock.advance(1000);
      const out = applyLocal(store, getOp('k'));
      expect(resultOf(out.result, 'get').entry).to.deep.equal({
        value: utf8('v'),
        flags: 1,
        version,
        expiresAtMs,
      });
      expect(out.written).to.equal(undefined);
    });

    it('answers expiry 0 for a key that never expires', () => {
      const { store } = makeStore();
      store.set('k', utf8('v'), 0);
      expect(resultOf(applyLocal(store, getOp('k')).result, 'get').entry!.expiresAtMs).to.equal(0);
    });

    it('answers no entry for an absent key', () => {
      const { store } = makeStore();
      const out = applyLocal(store, getOp('nope'));
      expect(out.result).to.deep.equal({ kind: 'get', entry: undefined });
      expect(out.written).to.equal(undefined);
    });

    it('answers no entry for a deleted key', () => {
      const { store } = makeStore();
      store.set('k', utf8('v'), 0);
      store.delete('k');
      expect(resultOf(applyLocal(store, getOp('k')).result, 'get').entry).to.equal(undefined);
    });
  });

  describe('set', () => {
    it('stores the value and returns the stored record to replicate, at the version it answered', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, setOp('k', utf8('abc'), { ttlMs: 2000 }));
      const set = resultOf(out.result, 'set');
      expect(set.stored).to.equal(true);
      expect(out.written).to.deep.include({ value: utf8('abc'), flags: 0, tombstone: false });
      expect(out.written!.expiresAtMs).to.equal(clock.now() + 2000);
      expect(out.written!.version).to.deep.equal(set.version);
      expect(store.get('k')!.value.toString()).to.equal('abc');
    });

    it('replicates a large value it was given, not a copy read back from the store', () => {
      const { store } = makeStore({ maxValueBytes: 1024 * 1024 });
      const value = Buffer.alloc(100 * 1024, 9);
      const kept = applyLocal(store, setOp('k', value, { keepTtl: true, ttlMs: 1000 }));
      expect(kept.written!.value).to.equal(value);
      // What the store holds is its own copy all the same.
      value.fill(1);
      expect(store.get('k')!.value.every((b) => b === 9)).to.equal(true);
    });

    it('replicates a copy of a value that is a small part of the message it came in', () => {
      const { store } = makeStore({ maxValueBytes: 1024 * 1024 });
      const frame = Buffer.alloc(300 * 1024, 8);
      const large = frame.subarray(0, 100 * 1024);
      expect(applyLocal(store, setOp('a', large)).written!.value.buffer).to.not.equal(frame.buffer);
      const small = frame.subarray(0, 100);
      expect(applyLocal(store, setOp('b', small)).written!.value.buffer).to.not.equal(frame.buffer);
    });

    it('stores the value bytes with the flags it is given', () => {
      const { store } = makeStore();
      applyLocal(store, setOp('k', utf8('bytes'), { flags: 2 }));
      expect(store.get('k')).to.deep.include({ value: utf8('bytes'), flags: 2 });
    });

    it('returns no written record when ifAbsent finds the key present', () => {
      const { store } = makeStore();
      store.set('k', utf8('old'), 0);
      const out = applyLocal(store, setOp('k', utf8('new'), { mode: 'ifAbsent' }));
      expect(out.result).to.deep.equal({ kind: 'set', stored: false, version: undefined });
      expect(out.written).to.equal(undefined);
      expect(store.get('k')!.value.toString()).to.equal('old');
    });

    it('returns no written record when ifPresent finds the key absent', () => {
      const { store } = makeStore();
      const out = applyLocal(store, setOp('k', utf8('v'), { mode: 'ifPresent' }));
      expect(resultOf(out.result, 'set').stored).to.equal(false);
      expect(out.written).to.equal(undefined);
      expect(store.readRecord('k')).to.equal(undefined);
    });
  });

  describe('delete', () => {
    it('reports a live key deleted and returns its tombstone to replicate', () => {
      const { store } = makeStore();
      store.set('k', utf8('v'), 0);
      const out = applyLocal(store, deleteOp('k'));
      const deleted = resultOf(out.result, 'delete');
      expect(deleted.deleted).to.equal(true);
      expect(out.written!.tombstone).to.equal(true);
      expect(deleted.version).to.deep.equal(out.written!.version);
    });

    it('still returns a tombstone for an absent key, since replicas may hold it', () => {
      const { store } = makeStore();
      const out = applyLocal(store, deleteOp('never'));
      expect(resultOf(out.result, 'delete').deleted).to.equal(false);
      expect(out.written!.tombstone).to.equal(true);
    });
  });

  describe('touch', () => {
    it('sets a new TTL on a live key and returns the record with its new expiry and version', () => {
      const { store, clock } = makeStore();
      const { version } = store.set('k', utf8('v'), 0);
      const out = applyLocal(store, touchOp('k', 3000));
      expect(out.result).to.deep.equal({ kind: 'touch', found: true });
      expect(out.written!.expiresAtMs).to.equal(clock.now() + 3000);
      expect(out.written!.version.timestamp).to.be.greaterThan(version!.timestamp);
    });

    it('returns no written record for an absent key', () => {
      const { store } = makeStore();
      const out = applyLocal(store, touchOp('nope', 3000));
      expect(out.result).to.deep.equal({ kind: 'touch', found: false });
      expect(out.written).to.equal(undefined);
    });
  });

  describe('incr', () => {
    it('creates an absent key at initial + delta and returns the record', () => {
      const { store } = makeStore();
      const out = applyLocal(store, incrOp('n', 5, 10));
      const incr = resultOf(out.result, 'incr');
      expect(incr.value).to.equal(15);
      expect(out.written!.value.toString()).to.equal('15');
      expect(out.written!.version).to.deep.equal(incr.version);
    });

    it('adds to an existing integer', () => {
      const { store } = makeStore();
      store.set('n', utf8('41'), 1);
      expect(resultOf(applyLocal(store, incrOp('n', 1)).result, 'incr').value).to.equal(42);
    });

    it('lets NOT_AN_INTEGER through for a value that is not an integer', () => {
      const { store } = makeStore();
      store.set('n', utf8('forty'), 1);
      expectError(() => applyLocal(store, incrOp('n', 1)), 'NOT_AN_INTEGER');
    });
  });

  describe('cas', () => {
    const casOp = (key: string, expected: Version): CasOperation => ({
      kind: 'cas',
      key,
      expected,
      value: utf8('new'),
      flags: 1,
      ttlMs: 0,
      consistency: 'default',
    });

    it('writes when the expected version matches and returns the new record', () => {
      const { store } = makeStore();
      const { version } = store.set('k', utf8('old'), 1);
      const out = applyLocal(store, casOp('k', version!));
      const cas = resultOf(out.result, 'cas');
      expect(out.written!.value.toString()).to.equal('new');
      expect(out.written!.version).to.deep.equal(cas.version);
    });

    it('lets VERSION_CONFLICT through when the version moved on', () => {
      const { store } = makeStore();
      const { version } = store.set('k', utf8('old'), 1);
      store.set('k', utf8('newer'), 1);
      expectError(() => applyLocal(store, casOp('k', version!)), 'VERSION_CONFLICT');
      expect(store.get('k')!.value.toString()).to.equal('newer');
    });
  });
});

describe('recordToGetResult', () => {
  const now = 1_000_000;
  const rec = (over: Partial<StoreRecord>): StoreRecord => ({
    value: utf8('v'),
    flags: 2,
    version: { timestamp: 7, node: 'n1' },
    expiresAtMs: 0,
    tombstone: false,
    ...over,
  });

  it('answers a live record with its value, flags, version and expiry', () => {
    const entry = resultOf(recordToGetResult(rec({ expiresAtMs: now + 250 }), now), 'get').entry;
    expect(entry).to.deep.include({
      value: utf8('v'),
      flags: 2,
      version: { timestamp: 7, node: 'n1' },
      expiresAtMs: now + 250,
    });
  });

  it('answers expiry 0 for a record that never expires', () => {
    expect(resultOf(recordToGetResult(rec({}), now), 'get').entry).to.include({ expiresAtMs: 0 });
  });

  it('answers no entry for a record at or past its expiry', () => {
    expect(recordToGetResult(rec({ expiresAtMs: now }), now)).to.deep.equal({
      kind: 'get',
      entry: undefined,
    });
    expect(recordToGetResult(rec({ expiresAtMs: now - 1 }), now)).to.deep.equal({
      kind: 'get',
      entry: undefined,
    });
  });

  it('answers no entry for a tombstone, even one still within its grace', () => {
    const got = recordToGetResult(
      rec({ tombstone: true, value: Buffer.alloc(0), expiresAtMs: now + 60_000 }),
      now,
    );
    expect(got).to.deep.equal({ kind: 'get', entry: undefined });
  });

  it('answers no entry for no record', () => {
    expect(recordToGetResult(undefined, now)).to.deep.equal({ kind: 'get', entry: undefined });
  });
});
