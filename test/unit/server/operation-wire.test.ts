import { expect } from 'chai';
import { applyLocal, recordToGetResult } from '../../../src/cluster/replication/local-ops';
import type {
  Operation,
  OperationResult,
  Outcome,
  ReadModifyWrite,
} from '../../../src/cluster/replication/operation';
import { RingCacheError, type ErrorCode } from '../../../src/errors';
import {
  Code,
  ConsistencyWire,
  SetModeWire,
  ValueFlags,
  type OperationMsg,
} from '../../../src/proto/messages';
import { wireCodeOf } from '../../../src/proto/status-codes';
import {
  consistencyFromWire,
  consistencyToWire,
  getResponseOf,
  operationFromMsg,
  operationToMsg,
  outcomeFromMsg,
  outcomeToMsg,
  remainingTtlMs,
  setModeFromWire,
} from '../../../src/server/operation-wire';
import type { StoreRecord } from '../../../src/store/types';
import { makeStore, utf8 } from '../store/fake-clock';

type SetMsg = Extract<OperationMsg, { op: 'set' }>;

const setMsg = (key: string, value: Buffer, extra: Partial<SetMsg['set']> = {}): SetMsg => ({
  id: 1,
  op: 'set',
  set: { key, value, flags: ValueFlags.RAW, ttlMs: 0, mode: SetModeWire.ALWAYS, consistency: 0, ...extra },
});

const casMsg = (expected: { timestamp: number; node: string } | null): OperationMsg => ({
  id: 6,
  op: 'compareAndSet',
  compareAndSet: { key: 'k', expected, value: utf8('new'), flags: 1, ttlMs: 0, consistency: 0 },
});

/** The operation `msg` reads as, failing the test when it reads as an error. */
function read(msg: OperationMsg): Operation {
  const op = operationFromMsg(msg);
  if (op instanceof RingCacheError) return expect.fail(`refused: ${op.message}`);
  return op;
}

function expectRefused(got: unknown, code: ErrorCode, message?: RegExp): void {
  expect(got).to.be.instanceOf(RingCacheError);
  expect((got as RingCacheError).code).to.equal(code);
  if (message) expect((got as RingCacheError).message).to.match(message);
}

function entryOf(result: OperationResult) {
  if (result.kind !== 'get') return expect.fail(`not a get result: ${result.kind}`);
  return result.entry;
}

describe('consistencyFromWire', () => {
  const cases: [number, string][] = [
    [ConsistencyWire.DEFAULT, 'default'],
    [ConsistencyWire.ONE, 'one'],
    [ConsistencyWire.QUORUM, 'quorum'],
    [ConsistencyWire.ALL, 'all'],
  ];
  for (const [wire, name] of cases) {
    it(`reads wire value ${wire} as '${name}' and writes it back as ${wire}`, () => {
      const c = consistencyFromWire(wire);
      expect(c).to.equal(name);
      expect(consistencyToWire(c)).to.equal(wire);
    });
  }

  it('refuses an unknown wire value with INVALID_ARGUMENT naming the known ones (issue 12 §4)', () => {
    for (const v of [9, -1, 42, 1.5, 'one']) {
      expect(() => consistencyFromWire(v), String(v)).to.throw(
        RingCacheError,
        /is unknown; use 0 \(DEFAULT\)/,
      );
    }
  });
});

describe('setModeFromWire', () => {
  it('reads ALWAYS, IF_ABSENT and IF_PRESENT as their modes', () => {
    expect(setModeFromWire(SetModeWire.ALWAYS)).to.equal('always');
    expect(setModeFromWire(SetModeWire.IF_ABSENT)).to.equal('ifAbsent');
    expect(setModeFromWire(SetModeWire.IF_PRESENT)).to.equal('ifPresent');
  });

  it('refuses an unknown mode with INVALID_ARGUMENT naming the allowed modes', () => {
    expectRefused(setModeFromWire(7), 'INVALID_ARGUMENT', /mode 7.*ALWAYS/);
  });
});

describe('operationFromMsg', () => {
  it('finds the key of every operation kind', () => {
    const msgs: OperationMsg[] = [
      { id: 1, op: 'get', get: { key: 'g', consistency: 0 } },
      setMsg('s', utf8('v')),
      { id: 1, op: 'delete', delete: { key: 'd', consistency: 0 } },
      { id: 1, op: 'touch', touch: { key: 't', ttlMs: 1, consistency: 0 } },
      { id: 1, op: 'increment', increment: { key: 'i', delta: 1, initial: 0, ttlMs: 0, consistency: 0 } },
      {
        id: 1,
        op: 'compareAndSet',
        compareAndSet: {
          key: 'c',
          expected: { timestamp: 1, node: 'n1' },
          value: utf8('v'),
          flags: 0,
          ttlMs: 0,
          consistency: 0,
        },
      },
    ];
    expect(msgs.map((m) => read(m).key)).to.deep.equal(['g', 's', 'd', 't', 'i', 'c']);
  });

  it('stores text as UTF-8 with flags UTF8 when the value bytes are empty', () => {
    const op = read(setMsg('k', Buffer.alloc(0), { text: 'héllo', flags: ValueFlags.RAW }));
    expect(op).to.deep.include({ value: Buffer.from('héllo', 'utf8'), flags: ValueFlags.UTF8 });
    const { store } = makeStore();
    const out = applyLocal(store, op);
    const got = store.get('k')!;
    expect(got.value).to.deep.equal(Buffer.from('héllo', 'utf8'));
    expect(got.flags).to.equal(ValueFlags.UTF8);
    expect(out.written!.flags).to.equal(ValueFlags.UTF8);
  });

  it('prefers the value bytes over text when both are given', () => {
    const op = read(setMsg('k', utf8('bytes'), { text: 'text', flags: ValueFlags.MSGPACK }));
    expect(op).to.deep.include({ value: utf8('bytes'), flags: ValueFlags.MSGPACK });
  });

  it('refuses an unknown set mode with INVALID_ARGUMENT naming the allowed modes', () => {
    expectRefused(
      operationFromMsg(setMsg('k', utf8('v'), { mode: 7 })),
      'INVALID_ARGUMENT',
      /mode 7.*ALWAYS/,
    );
  });

  it('refuses a compareAndSet with a missing expected version with INVALID_ARGUMENT', () => {
    expectRefused(operationFromMsg(casMsg(null)), 'INVALID_ARGUMENT', /expected is missing/);
    expectRefused(operationFromMsg(casMsg({ timestamp: 1, node: '' })), 'INVALID_ARGUMENT');
  });

  it('refuses an operation that names no kind', () => {
    const msg = { id: 9, op: 'frobnicate' } as unknown as OperationMsg;
    expectRefused(operationFromMsg(msg), 'INVALID_ARGUMENT', /operation 9 names no kind/);
  });
});

describe('remainingTtlMs', () => {
  const now = 1_000_000;
  it('is 0 for a value that never expires', () => {
    expect(remainingTtlMs(0, now)).to.equal(0);
  });

  it('is the time left until the expiry', () => {
    expect(remainingTtlMs(now + 250, now)).to.equal(250);
  });

  it('is at least 1 while the value is served, so it never reads as "never expires"', () => {
    expect(remainingTtlMs(now, now)).to.equal(1);
  });
});

describe('getResponseOf and outcomeToMsg', () => {
  const now = 1_000_000;
  const rec = (over: Partial<StoreRecord>): StoreRecord => ({
    value: utf8('v'),
    flags: 2,
    version: { timestamp: 7, node: 'n1' },
    expiresAtMs: 0,
    tombstone: false,
    ...over,
  });

  it('answers a live key with its value, flags, version and remaining TTL', () => {
    const { store, clock } = makeStore();
    const { version } = store.set('k', utf8('v'), 1, { ttlMs: 5000 });
    clock.advance(1000);
    const { result } = applyLocal(store, { kind: 'get', key: 'k', consistency: 'default' });
    const msg = outcomeToMsg(result, 2, clock.now());
    expect(msg).to.include({ id: 2, code: Code.OK, result: 'get' });
    expect(msg.get).to.deep.equal({ found: true, value: utf8('v'), flags: 1, version, ttlMs: 4000 });
  });

  it('answers ttlMs 0 for a key that never expires', () => {
    const { store, clock } = makeStore();
    store.set('k', utf8('v'), 0);
    const { result } = applyLocal(store, { kind: 'get', key: 'k', consistency: 'default' });
    expect(outcomeToMsg(result, 2, clock.now()).get!.ttlMs).to.equal(0);
  });

  it('answers an absent key as not found, with flags 0, ttlMs 0 and no version', () => {
    const { store, clock } = makeStore();
    const { result } = applyLocal(store, { kind: 'get', key: 'nope', consistency: 'default' });
    const msg = outcomeToMsg(result, 2, clock.now());
    expect(msg.code).to.equal(Code.OK);
    expect(msg.get).to.include({ found: false, flags: 0, ttlMs: 0 });
    expect(msg.get!.version).to.equal(null);
  });

  it('answers a live record with its remaining TTL', () => {
    expect(
      getResponseOf(entryOf(recordToGetResult(rec({ expiresAtMs: now + 250 }), now)), now),
    ).to.deep.equal({
      found: true,
      value: utf8('v'),
      flags: 2,
      version: { timestamp: 7, node: 'n1' },
      ttlMs: 250,
    });
  });

  it('answers ttlMs 0 for a record that never expires', () => {
    expect(getResponseOf(entryOf(recordToGetResult(rec({}), now)), now)).to.include({
      found: true,
      ttlMs: 0,
    });
  });

  it('answers not found for a tombstone, even one still within its grace', () => {
    const tombstone = rec({ tombstone: true, value: Buffer.alloc(0), expiresAtMs: now + 60_000 });
    const got = getResponseOf(entryOf(recordToGetResult(tombstone, now)), now);
    expect(got).to.include({ found: false, ttlMs: 0 });
    expect(got.version).to.equal(null);
  });

  it('answers an error with its wire code, message and error name', () => {
    const msg = outcomeToMsg(new RingCacheError('VERSION_CONFLICT', 'moved on'), 3, now);
    expect(msg).to.deep.equal({
      id: 3,
      code: Code.FAILED_PRECONDITION,
      message: 'moved on',
      error: 'VERSION_CONFLICT',
    });
  });
});

describe('the protobuf translation round trip', () => {
  const value = utf8('v');
  const version = { timestamp: 123, node: 'n2' };
  const ops: Operation[] = [
    { kind: 'get', key: 'g', consistency: 'quorum' },
    { kind: 'set', key: 's', value, flags: 1, ttlMs: 500, mode: 'ifAbsent', consistency: 'one' },
    { kind: 'set', key: 's', value, flags: 2, ttlMs: 0, mode: 'ifPresent', consistency: 'all' },
    { kind: 'set', key: 's', value, flags: 0, ttlMs: 0, mode: 'always', consistency: 'default' },
    { kind: 'delete', key: 'd', consistency: 'all' },
    { kind: 'touch', key: 't', ttlMs: 900, consistency: 'default' },
    { kind: 'incr', key: 'i', delta: -3, initial: 10, ttlMs: 60, consistency: 'quorum' },
    { kind: 'cas', key: 'c', expected: version, value, flags: 2, ttlMs: 0, consistency: 'one' },
  ];
  for (const op of ops) {
    it(`gives back a ${op.kind} (${op.consistency}) through operationToMsg and operationFromMsg`, () => {
      const msg = operationToMsg(op, 11);
      expect(msg.id).to.equal(11);
      expect(operationFromMsg(msg)).to.deep.equal(op);
    });
  }

  const now = 1_700_000_000_000;
  const outcomes: [string, Outcome][] = [
    ['a found get', { kind: 'get', entry: { value, flags: 1, version, expiresAtMs: now + 5000 } }],
    ['a found get that never expires', { kind: 'get', entry: { value, flags: 0, version, expiresAtMs: 0 } }],
    ['a missed get', { kind: 'get', entry: undefined }],
    ['a stored set', { kind: 'set', stored: true, version }],
    ['a set that stored nothing', { kind: 'set', stored: false, version: undefined }],
    ['a touch', { kind: 'touch', found: true }],
    ['an incr', { kind: 'incr', value: -5, version }],
    ['a cas', { kind: 'cas', version }],
  ];
  for (const [name, outcome] of outcomes) {
    it(`gives back ${name} through outcomeToMsg and outcomeFromMsg`, () => {
      expect(outcomeFromMsg(outcomeToMsg(outcome, 1, now), now)).to.deep.equal(outcome);
    });
  }

  it("gives back a delete with its tombstone's version, which DeleteResponse carries", () => {
    const back = outcomeFromMsg(outcomeToMsg({ kind: 'delete', deleted: true, version }, 1, now), now);
    expect(back).to.deep.equal({ kind: 'delete', deleted: true, version });
  });

  for (const code of Object.keys(wireCodeOf) as ErrorCode[]) {
    it(`gives back a ${code} error with its message`, () => {
      const back = outcomeFromMsg(outcomeToMsg(new RingCacheError(code, `about ${code}`), 1, now), now);
      expectRefused(back, code, new RegExp(`^about ${code}$`));
    });
  }
});

describe('request ids in the protobuf translation', () => {
  const value = utf8('v');
  const expected = { timestamp: 123, node: 'n2' };
  const msgOf = (requestId: string | undefined): OperationMsg[] => [
    setMsg('s', value, { mode: SetModeWire.IF_ABSENT, requestId }),
    { id: 1, op: 'touch', touch: { key: 't', ttlMs: 900, consistency: 0, requestId } },
    {
      id: 1,
      op: 'increment',
      increment: { key: 'i', delta: 1, initial: 0, ttlMs: 0, consistency: 0, requestId },
    },
    {
      id: 1,
      op: 'compareAndSet',
      compareAndSet: { key: 'c', expected, value, flags: 0, ttlMs: 0, consistency: 0, requestId },
    },
  ];

  it('reads the requestId of a set, touch, increment and compareAndSet', () => {
    const ops = msgOf('r1').map(read);
    expect(ops.map((op) => op.kind)).to.deep.equal(['set', 'touch', 'incr', 'cas']);
    for (const op of ops) expect(op, op.kind).to.have.property('requestId', 'r1');
  });

  it('reads an empty requestId as none, with no requestId property', () => {
    for (const op of msgOf('').map(read)) expect(op, op.kind).to.not.have.property('requestId');
  });

  it('reads an absent requestId as none, with no requestId property', () => {
    for (const op of msgOf(undefined).map(read)) expect(op, op.kind).to.not.have.property('requestId');
  });

  it('reads the requestId of an unconditional set too', () => {
    expect(read(setMsg('s', value, { requestId: 'r1' }))).to.include({ mode: 'always', requestId: 'r1' });
  });

  /** Each read-modify-write kind with no request id; the tests below give them one. */
  const plain: ReadModifyWrite[] = [
    { kind: 'set', key: 's', value, flags: 1, ttlMs: 500, mode: 'ifAbsent', consistency: 'one' },
    { kind: 'set', key: 's', value, flags: 0, ttlMs: 0, mode: 'always', consistency: 'all' },
    { kind: 'touch', key: 't', ttlMs: 900, consistency: 'default' },
    { kind: 'incr', key: 'i', delta: -3, initial: 10, ttlMs: 60, consistency: 'quorum' },
    { kind: 'cas', key: 'c', expected, value, flags: 2, ttlMs: 0, consistency: 'one' },
  ];
  const withIds = plain.map((op, i): ReadModifyWrite => ({ ...op, requestId: `r-${i}` }));
  /** The body of a message's oneof, where the request id travels. */
  const bodyOf = (msg: OperationMsg) => (msg as unknown as Record<string, { requestId?: string }>)[msg.op];

  it('writes the requestId of a set, touch, incr and cas into its message', () => {
    const ids = withIds.map((op) => bodyOf(operationToMsg(op, 1))?.requestId);
    expect(ids).to.deep.equal(['r-0', 'r-1', 'r-2', 'r-3', 'r-4']);
  });

  it("writes '' as the requestId of a set, touch, incr and cas that carry none", () => {
    for (const op of plain) {
      expect(bodyOf(operationToMsg(op, 1)), op.kind).to.have.property('requestId', '');
    }
  });

  it('writes no requestId into a get or a delete', () => {
    expect(operationToMsg({ kind: 'get', key: 'g', consistency: 'default' }, 1)).to.deep.equal({
      id: 1,
      op: 'get',
      get: { key: 'g', consistency: 0 },
    });
    expect(operationToMsg({ kind: 'delete', key: 'd', consistency: 'default' }, 1)).to.deep.equal({
      id: 1,
      op: 'delete',
      delete: { key: 'd', consistency: 0 },
    });
  });

  for (const op of withIds) {
    const name = op.kind === 'set' ? `a set (${op.mode})` : op.kind === 'incr' ? 'an incr' : `a ${op.kind}`;
    it(`gives back ${name} with its request id through operationToMsg and operationFromMsg`, () => {
      const msg = operationToMsg(op, 11);
      expect(bodyOf(msg)?.requestId).to.equal(op.requestId);
      expect(operationFromMsg(msg)).to.deep.equal(op);
    });
  }
});
