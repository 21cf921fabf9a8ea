import { expect } from 'chai';
import { isReadModifyWrite, type Operation } from '../../../src/cluster/replication/operation';
import { RingCacheError } from '../../../src/errors';
import { KEEP_TTL_INDEX, packFrame, unpackFrame } from '../../../src/proto/packed';
import { operationFromMsg, operationToMsg } from '../../../src/server/operation-wire';
import { operationFromPacked } from '../../../src/server/packed-operations';
import { makeStore, utf8 } from '../store/fake-clock';

const value = utf8('v');

/** A packed op with `keep` at KEEP_TTL_INDEX, sent through msgpack as a node receives it. */
function withKeep(op: unknown[], keep: unknown): unknown[] {
  const p = [...op];
  p[KEEP_TTL_INDEX] = keep;
  return unpackFrame(packFrame(0, 0, [p]))[2] as unknown[];
}

describe('keepTtl on the wire and in the store', () => {
  const set = [1, 'k', value, 0, 0, 0, 0, 'r1'];
  const cas = [5, 'k', value, 0, 0, 0, 1, 'n1', 'r1'];

  it('reads keep_ttl of a packed set and cas (true, or nil/absent for false)', () => {
    expect(operationFromPacked(withKeep(set, true))).to.include({ kind: 'set', keepTtl: true });
    expect(operationFromPacked(withKeep(cas, true))).to.include({ kind: 'cas', keepTtl: true });
    for (const keep of [undefined, null, false]) {
      expect(operationFromPacked(withKeep(set, keep))).to.not.have.property('keepTtl');
    }
    expect(operationFromPacked(set)).to.not.have.property('keepTtl');
  });

  it('refuses a keep_ttl that is not a boolean with INVALID_ARGUMENT', () => {
    for (const keep of [1, 'true', [true], {}]) {
      const out = operationFromPacked(withKeep(set, keep));
      expect(out).to.be.instanceOf(RingCacheError);
      expect((out as RingCacheError).code).to.equal('INVALID_ARGUMENT');
      expect((out as RingCacheError).message).to.match(/keep_ttl must be a boolean/);
    }
  });

  it('keeps keepTtl across the protobuf forward between nodes', () => {
    const ops: Operation[] = [
      {
        kind: 'set',
        key: 'k',
        value,
        flags: 0,
        ttlMs: 5,
        mode: 'always',
        consistency: 'default',
        keepTtl: true,
        requestId: 'r',
      },
      {
        kind: 'cas',
        key: 'k',
        expected: { timestamp: 1, node: 'n1' },
        value,
        flags: 0,
        ttlMs: 0,
        consistency: 'default',
        keepTtl: true,
        requestId: 'r',
      },
    ];
    for (const op of ops) expect(operationFromMsg(operationToMsg(op, 1))).to.deep.equal(op);
  });

  it('makes a keepTtl set a read-modify-write (decided by the key coordinator)', () => {
    const op: Operation = {
      kind: 'set',
      key: 'k',
      value,
      flags: 0,
      ttlMs: 0,
      mode: 'always',
      consistency: 'default',
    };
    expect(isReadModifyWrite(op)).to.equal(false);
    expect(isReadModifyWrite({ ...op, keepTtl: true })).to.equal(true);
  });

  it('store: set keeps a live expiry, uses ttl for an absent or expired key', () => {
    const { store, clock } = makeStore();
    store.set('a', value, 0, { ttlMs: 10_000 });
    const at = store.get('a')!.expiresAtMs;
    clock.advance(4_000);
    store.set('a', utf8('w'), 0, { keepTtl: true, ttlMs: 99_000 });
    expect(store.get('a')!.expiresAtMs).to.equal(at);
    store.set('b', value, 0, { keepTtl: true, ttlMs: 1_000 });
    expect(store.get('b')!.expiresAtMs).to.equal(clock.now() + 1_000);
    clock.advance(2_000);
    store.set('b', value, 0, { keepTtl: true, ttlMs: 0 });
    expect(store.get('b')!.expiresAtMs, 'an expired value has no expiry to keep').to.equal(0);
  });

  it('store: compareAndSet keeps the expiry, and refuses keepTtl with a ttl', () => {
    const { store } = makeStore();
    const v1 = store.set('a', value, 0, { ttlMs: 10_000 }).version!;
    const at = store.get('a')!.expiresAtMs;
    const v2 = store.compareAndSet('a', v1, utf8('w'), 0, 0, undefined, true);
    expect(store.get('a')!.expiresAtMs).to.equal(at);
    expect(() => store.compareAndSet('a', v2, value, 0, 5, undefined, true)).to.throw(
      /ttl_ms must then be 0/,
    );
  });
});
