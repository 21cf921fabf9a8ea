import { expect } from 'chai';
import { expectError } from '../../support/expect-error';
import { applyLocal, keyOf, recordToGetResponse } from '../../../src/cluster/local-ops';
import { Code, SetModeWire, ValueFlags, type OperationMsg } from '../../../src/proto/messages';
import type { StoreRecord } from '../../../src/store/types';
import { makeStore, utf8 } from '../store/fake-clock';

const setOp = (
  key: string,
  value: Buffer,
  extra: Partial<Extract<OperationMsg, { op: 'set' }>['set']> = {},
) =>
  ({
    id: 1,
    op: 'set',
    set: { key, value, flags: ValueFlags.RAW, ttlMs: 0, mode: SetModeWire.ALWAYS, consistency: 0, ...extra },
  }) satisfies OperationMsg;

const getOp = (key: string): OperationMsg => ({ id: 2, op: 'get', get: { key, consistency: 0 } });
const deleteOp = (key: string): OperationMsg => ({ id: 3, op: 'delete', delete: { key, consistency: 0 } });
const touchOp = (key: string, ttlMs: number): OperationMsg => ({
  id: 4,
  op: 'touch',
  touch: { key, ttlMs, consistency: 0 },
});
const incrementOp = (key: string, delta: number, initial = 0): OperationMsg => ({
  id: 5,
  op: 'increment',
  increment: { key, delta, initial, ttlMs: 0, consistency: 0 },
});

describe('applyLocal', () => {
  describe('get', () => {
    it('answers a live key with its value, flags, version and remaining TTL, and writes nothing', () => {
      const { store, clock } = makeStore();
      const { version } = store.set('k', utf8('v'), 1, { ttlMs: 5000 });
      clock.advance(1000);
      const out = applyLocal(store, getOp('k'), clock.now());
      expect(out.result).to.include({ id: 2, code: Code.OK, result: 'get' });
      expect(out.result.get).to.deep.equal({ found: true, value: utf8('v'), flags: 1, version, ttlMs: 4000 });
      expect(out.written).to.equal(undefined);
    });

    it('answers ttlMs 0 for a key that never expires', () => {
      const { store, clock } = makeStore();
      store.set('k', utf8('v'), 0);
      expect(applyLocal(store, getOp('k'), clock.now()).result.get!.ttlMs).to.equal(0);
    });

    it('answers not found for an absent key', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, getOp('nope'), clock.now());
      expect(out.result.code).to.equal(Code.OK);
      expect(out.result.get).to.include({ found: false, flags: 0, ttlMs: 0 });
      expect(out.result.get!.version).to.equal(null);
      expect(out.written).to.equal(undefined);
    });

    it('answers not found for a deleted key', () => {
      const { store, clock } = makeStore();
      store.set('k', utf8('v'), 0);
      store.delete('k');
      expect(applyLocal(store, getOp('k'), clock.now()).result.get!.found).to.equal(false);
    });
  });

  describe('set', () => {
    it('stores the value and returns the stored record to replicate, at the version it answered', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, setOp('k', utf8('abc'), { ttlMs: 2000 }), clock.now());
      expect(out.result).to.include({ id: 1, code: Code.OK, result: 'set' });
      expect(out.result.set!.stored).to.equal(true);
      expect(out.written).to.deep.include({ value: utf8('abc'), flags: 0, tombstone: false });
      expect(out.written!.expiresAtMs).to.equal(clock.now() + 2000);
      expect(out.written!.version).to.deep.equal(out.result.set!.version);
      expect(store.get('k')!.value.toString()).to.equal('abc');
    });

    it('stores text as UTF-8 with flags UTF8 when the value bytes are empty', () => {
      const { store, clock } = makeStore();
      const op = setOp('k', Buffer.alloc(0), { text: 'héllo', flags: ValueFlags.RAW });
      const out = applyLocal(store, op, clock.now());
      const got = store.get('k')!;
      expect(got.value).to.deep.equal(Buffer.from('héllo', 'utf8'));
      expect(got.flags).to.equal(ValueFlags.UTF8);
      expect(out.written!.flags).to.equal(ValueFlags.UTF8);
    });

    it('prefers the value bytes over text when both are given', () => {
      const { store, clock } = makeStore();
      applyLocal(store, setOp('k', utf8('bytes'), { text: 'text', flags: ValueFlags.MSGPACK }), clock.now());
      expect(store.get('k')).to.deep.include({ value: utf8('bytes'), flags: ValueFlags.MSGPACK });
    });

    it('returns no written record when IF_ABSENT finds the key present', () => {
      const { store, clock } = makeStore();
      store.set('k', utf8('old'), 0);
      const out = applyLocal(store, setOp('k', utf8('new'), { mode: SetModeWire.IF_ABSENT }), clock.now());
      expect(out.result.set).to.deep.equal({ stored: false, version: null });
      expect(out.written).to.equal(undefined);
      expect(store.get('k')!.value.toString()).to.equal('old');
    });

    it('returns no written record when IF_PRESENT finds the key absent', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, setOp('k', utf8('v'), { mode: SetModeWire.IF_PRESENT }), clock.now());
      expect(out.result.set!.stored).to.equal(false);
      expect(out.written).to.equal(undefined);
      expect(store.readRecord('k')).to.equal(undefined);
    });

    it('refuses an unknown mode with INVALID_ARGUMENT naming the allowed modes', () => {
      const { store, clock } = makeStore();
      expectError(
        () => applyLocal(store, setOp('k', utf8('v'), { mode: 7 }), clock.now()),
        'INVALID_ARGUMENT',
        /mode 7.*ALWAYS/,
      );
    });
  });

  describe('delete', () => {
    it('reports a live key deleted and returns its tombstone to replicate', () => {
      const { store, clock } = makeStore();
      store.set('k', utf8('v'), 0);
      const out = applyLocal(store, deleteOp('k'), clock.now());
      expect(out.result).to.include({ id: 3, code: Code.OK, result: 'delete' });
      expect(out.result.delete).to.deep.equal({ deleted: true });
      expect(out.written!.tombstone).to.equal(true);
    });

    it('still returns a tombstone for an absent key, since replicas may hold it', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, deleteOp('never'), clock.now());
      expect(out.result.delete).to.deep.equal({ deleted: false });
      expect(out.written!.tombstone).to.equal(true);
    });
  });

  describe('touch', () => {
    it('sets a new TTL on a live key and returns the record with its new expiry and version', () => {
      const { store, clock } = makeStore();
      const { version } = store.set('k', utf8('v'), 0);
      const out = applyLocal(store, touchOp('k', 3000), clock.now());
      expect(out.result.touch).to.deep.equal({ found: true });
      expect(out.written!.expiresAtMs).to.equal(clock.now() + 3000);
      expect(out.written!.version.timestamp).to.be.greaterThan(version!.timestamp);
    });

    it('returns no written record for an absent key', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, touchOp('nope', 3000), clock.now());
      expect(out.result.touch).to.deep.equal({ found: false });
      expect(out.written).to.equal(undefined);
    });
  });

  describe('increment', () => {
    it('creates an absent key at initial + delta and returns the record', () => {
      const { store, clock } = makeStore();
      const out = applyLocal(store, incrementOp('n', 5, 10), clock.now());
      expect(out.result.increment!.value).to.equal(15);
      expect(out.written!.value.toString()).to.equal('15');
      expect(out.written!.version).to.deep.equal(out.result.increment!.version);
    });

    it('adds to an existing integer', () => {
      const { store, clock } = makeStore();
      store.set('n', utf8('41'), 1);
      expect(applyLocal(store, incrementOp('n', 1), clock.now()).result.increment!.value).to.equal(42);
    });

    it('lets NOT_AN_INTEGER through for a value that is not an integer', () => {
      const { store, clock } = makeStore();
      store.set('n', utf8('forty'), 1);
      expectError(() => applyLocal(store, incrementOp('n', 1), clock.now()), 'NOT_AN_INTEGER');
    });
  });

  describe('compareAndSet', () => {
    const casOp = (key: string, expected: { timestamp: number; node: string } | null): OperationMsg => ({
      id: 6,
      op: 'compareAndSet',
      compareAndSet: { key, expected, value: utf8('new'), flags: 1, ttlMs: 0, consistency: 0 },
    });

    it('writes when the expected version matches and returns the new record', () => {
      const { store, clock } = makeStore();
      const { version } = store.set('k', utf8('old'), 1);
      const out = applyLocal(store, casOp('k', version!), clock.now());
      expect(out.result).to.include({ id: 6, code: Code.OK, result: 'compareAndSet' });
      expect(out.written!.value.toString()).to.equal('new');
      expect(out.written!.version).to.deep.equal(out.result.compareAndSet!.version);
    });

    it('lets VERSION_CONFLICT through when the version moved on', () => {
      const { store, clock } = makeStore();
      const { version } = store.set('k', utf8('old'), 1);
      store.set('k', utf8('newer'), 1);
      expectError(() => applyLocal(store, casOp('k', version!), clock.now()), 'VERSION_CONFLICT');
      expect(store.get('k')!.value.toString()).to.equal('newer');
    });

    it('refuses a missing expected version with INVALID_ARGUMENT', () => {
      const { store, clock } = makeStore();
      store.set('k', utf8('old'), 1);
      expectError(
        () => applyLocal(store, casOp('k', null), clock.now()),
        'INVALID_ARGUMENT',
        /expected is missing/,
      );
      expectError(
        () => applyLocal(store, casOp('k', { timestamp: 1, node: '' }), clock.now()),
        'INVALID_ARGUMENT',
      );
    });
  });

  it('refuses an operation that names no kind', () => {
    const { store, clock } = makeStore();
    const op = { id: 9, op: 'frobnicate' } as unknown as OperationMsg;
    expectError(() => applyLocal(store, op, clock.now()), 'INVALID_ARGUMENT', /operation 9 names no kind/);
  });
});

describe('recordToGetResponse', () => {
  const now = 1_000_000;
  const rec = (over: Partial<StoreRecord>): StoreRecord => ({
    value: utf8('v'),
    flags: 2,
    version: { timestamp: 7, node: 'n1' },
    expiresAtMs: 0,
    tombstone: false,
    ...over,
  });

  it('answers a live record with its remaining TTL', () => {
    expect(recordToGetResponse(rec({ expiresAtMs: now + 250 }), now)).to.deep.equal({
      found: true,
      value: utf8('v'),
      flags: 2,
      version: { timestamp: 7, node: 'n1' },
      ttlMs: 250,
    });
  });

  it('answers ttlMs 0 for a record that never expires', () => {
    expect(recordToGetResponse(rec({}), now)).to.include({ found: true, ttlMs: 0 });
  });

  it('answers not found for a record at or past its expiry', () => {
    expect(recordToGetResponse(rec({ expiresAtMs: now }), now).found).to.equal(false);
    expect(recordToGetResponse(rec({ expiresAtMs: now - 1 }), now).found).to.equal(false);
  });

  it('answers not found for a tombstone, even one still within its grace', () => {
    const got = recordToGetResponse(
      rec({ tombstone: true, value: Buffer.alloc(0), expiresAtMs: now + 60_000 }),
      now,
    );
    expect(got).to.include({ found: false, ttlMs: 0 });
    expect(got.version).to.equal(null);
  });

  it('answers not found for no record', () => {
    expect(recordToGetResponse(undefined, now).found).to.equal(false);
  });
});

describe('keyOf', () => {
  const ops: OperationMsg[] = [
    { id: 1, op: 'get', get: { key: 'g', consistency: 0 } },
    setOp('s', utf8('v')),
    { id: 1, op: 'delete', delete: { key: 'd', consistency: 0 } },
    { id: 1, op: 'touch', touch: { key: 't', ttlMs: 1, consistency: 0 } },
    { id: 1, op: 'increment', increment: { key: 'i', delta: 1, initial: 0, ttlMs: 0, consistency: 0 } },
    {
      id: 1,
      op: 'compareAndSet',
      compareAndSet: { key: 'c', expected: null, value: utf8('v'), flags: 0, ttlMs: 0, consistency: 0 },
    },
  ];

  it('finds the key of every operation kind', () => {
    expect(ops.map(keyOf)).to.deep.equal(['g', 's', 'd', 't', 'i', 'c']);
  });

  it('is undefined for an operation with no kind or no body', () => {
    expect(keyOf({ id: 1, op: 'bogus' } as unknown as OperationMsg)).to.equal(undefined);
    expect(keyOf({ id: 1, op: 'get', get: null } as unknown as OperationMsg)).to.equal(undefined);
  });
});
