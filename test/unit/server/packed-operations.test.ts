import { expect } from 'chai';
import fc from 'fast-check';
import { inspect } from 'node:util';
import type { Lookup, ReplicaWrite } from '../../../src/cluster/peer-transport';
import type {
  Consistency,
  Operation,
  OperationResult,
  Outcome,
} from '../../../src/cluster/replication/operation';
import { UnacknowledgedWrite } from '../../../src/cluster/replication/operation';
import { RingCacheError, type ErrorCode } from '../../../src/errors';
import { Code, type OpKind } from '../../../src/proto/messages';
import {
  deserializePackedFrame,
  OpCode,
  OP_KIND,
  packFrame,
  serializePackedFrame,
  unpackFrame,
  type PackedOp,
} from '../../../src/proto/packed';
import { wireCodeOf } from '../../../src/proto/status-codes';
import { consistencyToWire } from '../../../src/server/operation-wire';
import {
  appliedFromPacked,
  appliedToPacked,
  attachSyncedRequests,
  copyFromPacked,
  diffFromPacked,
  diffToPacked,
  digestsFromPacked,
  digestsToPacked,
  syncedRequestsToPacked,
  lookupFromPacked,
  prepareFromPacked,
  prepareToPacked,
  lookupToPacked,
  operationFromPacked,
  outcomeToPacked,
  writeFromPacked,
  writeToPacked,
} from '../../../src/server/packed-operations';
import type { SetMode, StoreRecord, ValueFlags } from '../../../src/store/types';

/** The wire name of each domain kind: what OP_KIND holds. */
const WIRE_KIND: Record<Operation['kind'], OpKind> = {
  get: 'get',
  set: 'set',
  delete: 'delete',
  touch: 'touch',
  incr: 'increment',
  cas: 'compareAndSet',
};
const MODE_WIRE: Record<SetMode, number> = { always: 0, ifAbsent: 1, ifPresent: 2 };

/** An operation in the positional layout documented at the top of src/proto/packed.ts, written by hand. */
function toPacked(op: Operation): unknown[] {
  const code = OpCode[op.kind];
  const c = consistencyToWire(op.consistency);
  switch (op.kind) {
    case 'get':
      return [code, op.key, c];
    case 'set':
      return [code, op.key, op.value, op.flags, op.ttlMs, MODE_WIRE[op.mode], c];
    case 'delete':
      return [code, op.key, c];
    case 'touch':
      return [code, op.key, op.ttlMs, c];
    case 'incr':
      return [code, op.key, op.delta, op.initial, op.ttlMs, c];
    case 'cas':
      return [code, op.key, op.value, op.flags, op.ttlMs, c, op.expected.timestamp, op.expected.node];
  }
}

function expectRefused(got: unknown, code: ErrorCode, message?: RegExp): void {
  expect(got).to.be.instanceOf(RingCacheError);
  expect((got as RingCacheError).code).to.equal(code);
  if (message) expect((got as RingCacheError).message).to.match(message);
}

describe('operationFromPacked', () => {
  const value = Buffer.from('v');
  const cases: [OpKind, PackedOp, Operation][] = [
    ['get', [0, 'k', 2], { kind: 'get', key: 'k', consistency: 'quorum' }],
    [
      'set',
      [1, 'k', value, 1, 500, 2, 3],
      { kind: 'set', key: 'k', value, flags: 1, ttlMs: 500, mode: 'ifPresent', consistency: 'all' },
    ],
    ['delete', [2, 'k', 1], { kind: 'delete', key: 'k', consistency: 'one' }],
    ['touch', [3, 'k', 900, 2], { kind: 'touch', key: 'k', ttlMs: 900, consistency: 'quorum' }],
    [
      'increment',
      [4, 'k', -3, 10, 60, 1],
      { kind: 'incr', key: 'k', delta: -3, initial: 10, ttlMs: 60, consistency: 'one' },
    ],
    [
      'compareAndSet',
      [5, 'k', value, 2, 0, 3, 123, 'n2'],
      {
        kind: 'cas',
        key: 'k',
        expected: { timestamp: 123, node: 'n2' },
        value,
        flags: 2,
        ttlMs: 0,
        consistency: 'all',
      },
    ],
  ];
  for (const [kind, packed, expected] of cases) {
    it(`reads a packed ${kind}`, () => {
      expect(operationFromPacked(packed)).to.deep.equal(expected);
    });
  }

  it('refuses a compareAndSet with no expected node with INVALID_ARGUMENT', () => {
    expectRefused(
      operationFromPacked([5, 'k', value, 0, 0, 0, 0, '']),
      'INVALID_ARGUMENT',
      /expected is missing/,
    );
    expectRefused(operationFromPacked([5, 'k', value, 0, 0, 0, 0]), 'INVALID_ARGUMENT');
  });

  it('refuses a set with an unknown mode with INVALID_ARGUMENT naming the allowed modes', () => {
    expectRefused(operationFromPacked([1, 'k', value, 0, 0, 7, 0]), 'INVALID_ARGUMENT', /mode 7.*ALWAYS/);
  });

  it('turns a Uint8Array value into a Buffer and a missing field into its default', () => {
    const op = operationFromPacked([1, 'k', new Uint8Array([9])]);
    if (!op || op instanceof RingCacheError || op.kind !== 'set') return expect.fail('not a set');
    expect(Buffer.isBuffer(op.value)).to.equal(true);
    expect([...op.value]).to.deep.equal([9]);
    expect(op).to.include({ key: 'k', flags: 0, ttlMs: 0, mode: 'always', consistency: 'default' });
  });

  it('refuses a mistyped field with INVALID_ARGUMENT naming it, never reading it as a default (issue 12 §4)', () => {
    expectRefused(operationFromPacked([1, 42, value]), 'INVALID_ARGUMENT', /^key must be a string/);
    expectRefused(operationFromPacked([1, 'k', 'not bytes']), 'INVALID_ARGUMENT', /^value must be bytes/);
    expectRefused(operationFromPacked([1, 'k', value, 'x']), 'INVALID_ARGUMENT', /^flags must be an integer/);
    expectRefused(operationFromPacked([3, 'k', 2 ** 64]), 'INVALID_ARGUMENT', /^ttl_ms must be an integer/);
    expectRefused(operationFromPacked([0, 'k', 7]), 'INVALID_ARGUMENT', /^consistency 7 is unknown/);
  });

  it('is undefined for an unknown kind', () => {
    expect(operationFromPacked([6, 'k'])).to.equal(undefined);
    expect(operationFromPacked([-1, 'k'])).to.equal(undefined);
    expect(operationFromPacked(['0', 'k'])).to.equal(undefined);
    expect(operationFromPacked([])).to.equal(undefined);
  });

  it('agrees with OpCode and OP_KIND on every kind', () => {
    for (const [kind, packed, expected] of cases) {
      const code = OpCode[expected.kind];
      expect(code).to.equal(packed[0]);
      expect(OP_KIND[code]).to.equal(kind);
      expect(WIRE_KIND[expected.kind]).to.equal(kind);
      expect((operationFromPacked(toPacked(expected)) as Operation).kind).to.equal(expected.kind);
    }
  });
});

describe('operationFromPacked request ids', () => {
  const value = Buffer.from('v');
  const cases: [string, unknown[], Operation][] = [
    [
      'a conditional set, at index 7',
      [1, 'k', value, 0, 100, 1, 2, 'r-set'],
      {
        kind: 'set',
        key: 'k',
        value,
        flags: 0,
        ttlMs: 100,
        mode: 'ifAbsent',
        consistency: 'quorum',
        requestId: 'r-set',
      },
    ],
    [
      'an unconditional set too, at index 7',
      [1, 'k', value, 0, 0, 0, 0, 'r-always'],
      {
        kind: 'set',
        key: 'k',
        value,
        flags: 0,
        ttlMs: 0,
        mode: 'always',
        consistency: 'default',
        requestId: 'r-always',
      },
    ],
    [
      'a touch, at index 4',
      [3, 'k', 900, 1, 'r-touch'],
      { kind: 'touch', key: 'k', ttlMs: 900, consistency: 'one', requestId: 'r-touch' },
    ],
    [
      'an incr, at index 6',
      [4, 'k', 2, 10, 0, 3, 'r-incr'],
      { kind: 'incr', key: 'k', delta: 2, initial: 10, ttlMs: 0, consistency: 'all', requestId: 'r-incr' },
    ],
    [
      'a cas, at index 8',
      [5, 'k', value, 1, 0, 0, 123, 'n2', 'r-cas'],
      {
        kind: 'cas',
        key: 'k',
        expected: { timestamp: 123, node: 'n2' },
        value,
        flags: 1,
        ttlMs: 0,
        consistency: 'default',
        requestId: 'r-cas',
      },
    ],
  ];
  for (const [name, packed, expected] of cases) {
    it(`reads the request id of ${name}`, () => {
      expect(operationFromPacked(packed)).to.deep.equal(expected);
    });
  }

  const withoutId: [Operation['kind'], unknown[]][] = [
    ['set', [1, 'k', value, 0, 0, 1, 0]],
    ['touch', [3, 'k', 900, 0]],
    ['incr', [4, 'k', 1, 0, 0, 0]],
    ['cas', [5, 'k', value, 0, 0, 0, 123, 'n2']],
  ];
  const noIds: unknown[] = [undefined, '', null];
  const notIds: unknown[] = [42, true, Buffer.from('r1'), ['r1'], 'r'.repeat(129)];
  for (const [kind, packed] of withoutId) {
    it(`reads a ${kind} with no request id as one with no requestId property`, () => {
      const op = operationFromPacked(packed);
      expect(op).to.include({ kind });
      expect(op).to.not.have.property('requestId');
    });

    it(`reads a ${kind} whose request id is empty or nil as one with no requestId property`, () => {
      const plain = operationFromPacked(packed);
      for (const id of noIds) {
        const op = operationFromPacked([...packed, id]);
        expect(op, inspect(id)).to.not.have.property('requestId');
        expect(op, inspect(id)).to.deep.equal(plain);
      }
    });

    it(`refuses a ${kind} whose request id is not a string, or too long, with INVALID_ARGUMENT`, () => {
      for (const id of notIds) {
        expectRefused(operationFromPacked([...packed, id]), 'INVALID_ARGUMENT', /^request_id /);
      }
    });
  }

  it("reads no request id from another kind's index", () => {
    expect(operationFromPacked([1, 'k', value, 0, 0, 1, 0, '', 'r1'])).to.not.have.property('requestId');
    expect(operationFromPacked([3, 'k', 900, 0, '', '', 'r1'])).to.not.have.property('requestId');
    expect(operationFromPacked([4, 'k', 1, 0, 0, 0, '', '', 'r1'])).to.not.have.property('requestId');
  });

  it('reads no request id on a get or a delete, which carry none', () => {
    expect(operationFromPacked([0, 'k', 0, 'r1'])).to.deep.equal({
      kind: 'get',
      key: 'k',
      consistency: 'default',
    });
    expect(operationFromPacked([2, 'k', 0, 'r1'])).to.deep.equal({
      kind: 'delete',
      key: 'k',
      consistency: 'default',
    });
  });
});

describe('outcomeToPacked', () => {
  const now = 1_700_000_000_000;
  const version = { timestamp: 99, node: 'n3' };

  it('packs a found get with value, flags, version and remaining TTL', () => {
    const value = Buffer.from('abc');
    const outcome: Outcome = { kind: 'get', entry: { value, flags: 1, version, expiresAtMs: now + 1500 } };
    expect(outcomeToPacked(outcome, now)).to.deep.equal([0, true, value, 1, 99, 'n3', 1500]);
  });

  it('packs TTL 0 for a found get that never expires', () => {
    const value = Buffer.from('abc');
    const outcome: Outcome = { kind: 'get', entry: { value, flags: 0, version, expiresAtMs: 0 } };
    expect(outcomeToPacked(outcome, now)).to.deep.equal([0, true, value, 0, 99, 'n3', 0]);
  });

  it('packs an absent get as [0, false]', () => {
    expect(outcomeToPacked({ kind: 'get', entry: undefined }, now)).to.deep.equal([0, false]);
  });

  it('packs set, delete, touch, incr and cas', () => {
    expect(outcomeToPacked({ kind: 'set', stored: true, version }, now)).to.deep.equal([0, true, 99, 'n3']);
    expect(outcomeToPacked({ kind: 'delete', deleted: false, version }, now)).to.deep.equal([0, false]);
    expect(outcomeToPacked({ kind: 'touch', found: true }, now)).to.deep.equal([0, true]);
    expect(outcomeToPacked({ kind: 'incr', value: -5, version }, now)).to.deep.equal([0, -5, 99, 'n3']);
    expect(outcomeToPacked({ kind: 'cas', version }, now)).to.deep.equal([0, 99, 'n3']);
  });

  it('packs a missing version as timestamp 0 and node ""', () => {
    expect(outcomeToPacked({ kind: 'set', stored: false, version: undefined }, now)).to.deep.equal([
      0,
      false,
      0,
      '',
    ]);
  });

  it('packs a failure as [code, message, errorName]', () => {
    expect(outcomeToPacked(new RingCacheError('VERSION_CONFLICT', 'moved on'), now)).to.deep.equal([
      Code.FAILED_PRECONDITION,
      'moved on',
      'VERSION_CONFLICT',
    ]);
  });

  it('packs every error code with its own wire code and its name, never as OK', () => {
    for (const code of Object.keys(wireCodeOf) as ErrorCode[]) {
      const packed = outcomeToPacked(new RingCacheError(code, 'm'), now);
      expect(packed, code).to.deep.equal([wireCodeOf[code], 'm', code]);
      expect(packed[0], code).to.not.equal(Code.OK);
    }
  });
});

describe('writeToPacked and writeFromPacked', () => {
  const live: StoreRecord = {
    value: Buffer.from('hello'),
    flags: 1,
    version: { timestamp: 1_700_000_000_123, node: 'n2' },
    expiresAtMs: 1_700_000_060_000,
    tombstone: false,
  };
  const tombstone: StoreRecord = {
    value: Buffer.alloc(0),
    flags: 0,
    version: { timestamp: 42, node: 'n3' },
    expiresAtMs: 99,
    tombstone: true,
  };

  it('writes the positional layout of peer.proto', () => {
    expect(writeToPacked({ key: 'k', record: live, hintFor: 'n4' })).to.deep.equal([
      'k',
      live.value,
      1,
      1_700_000_000_123,
      'n2',
      1_700_000_060_000,
      false,
      'n4',
    ]);
  });

  const writes: [string, ReplicaWrite][] = [
    ['a live record', { key: 'k', record: live }],
    ['a tombstone', { key: 'gone', record: tombstone }],
    ['a hint held for a dead replica', { key: 'k', record: live, hintFor: 'n4' }],
  ];
  for (const [name, write] of writes) {
    it(`carries ${name} there and back unchanged`, () => {
      expect(writeFromPacked(writeToPacked(write))).to.deep.equal(write);
    });

    it(`carries ${name} through a msgpack frame unchanged`, () => {
      const frame = unpackFrame(packFrame(1, 0, [writeToPacked(write)]));
      expect(writeFromPacked(frame[2] as unknown[])).to.deep.equal(write);
    });
  }

  it('reads no hint when hintFor is empty', () => {
    expect(writeFromPacked(writeToPacked({ key: 'k', record: live }))).to.not.have.property('hintFor');
  });

  it('refuses a record with no version node', () => {
    const packed: unknown[] = writeToPacked({ key: 'k', record: live });
    packed[4] = '';
    expect(writeFromPacked(packed)).to.equal(undefined);
    expect(writeFromPacked(['k', live.value, 1, 5])).to.equal(undefined);
    expect(writeFromPacked([])).to.equal(undefined);
  });
});

describe('writeToPacked and writeFromPacked with the requests that made a hint', () => {
  const record: StoreRecord = {
    value: Buffer.from('6'),
    flags: 1,
    version: { timestamp: 1_700_000_000_123, node: 'n3' },
    expiresAtMs: 0,
    tombstone: false,
  };
  const madeBy = [{ id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: record.version } }];

  it('puts them in the hint_for slot, so that a release before it reads a plain write', () => {
    const packed = writeToPacked({ key: 'c1', record, madeBy });
    // What such a release reads: a string in slot 7 (else none) and no pairs after it.
    expect(packed).to.have.length(8);
    expect(typeof packed[7]).to.not.equal('string');
    expect(writeFromPacked(packed)).to.not.have.property('requests');
  });

  for (const hintFor of [undefined, 'n5']) {
    it(`carries them there and back, through a msgpack frame${hintFor ? ', beside hintFor' : ''}`, () => {
      const write: ReplicaWrite = hintFor
        ? { key: 'c1', record, hintFor, madeBy }
        : { key: 'c1', record, madeBy };
      const frame = unpackFrame(packFrame(1, 0, [writeToPacked(write)]));
      expect(writeFromPacked(frame[2] as unknown[])).to.deep.equal(write);
    });
  }

  it('reads the plain write without them when they cannot be read', () => {
    const packed: unknown[] = writeToPacked({ key: 'c1', record, hintFor: 'n5', madeBy });
    (packed[7] as unknown[])[2] = 'not an outcome';
    expect(writeFromPacked(packed)).to.deep.equal({ key: 'c1', record, hintFor: 'n5' });
  });
});

describe('copyFromPacked: a record in the answer to a peer read', () => {
  const record: StoreRecord = {
    value: Buffer.from('6'),
    flags: 1,
    version: { timestamp: 1_700_000_000_123, node: 'n3' },
    expiresAtMs: 0,
    tombstone: false,
  };
  const madeBy = [{ id: 'client-5', outcome: { kind: 'incr' as const, value: 6, version: record.version } }];

  it('carries the requests that made it through a msgpack frame', () => {
    const frame = unpackFrame(packFrame(1, 0, [writeToPacked({ key: 'c1', record, madeBy })]));
    expect(copyFromPacked(frame[2] as unknown[], 'c1')).to.deep.equal({ key: 'c1', record, madeBy });
    expect(copyFromPacked(writeToPacked({ key: 'c1', record }), 'c1')).to.deep.equal({ key: 'c1', record });
  });

  it('takes the key asked, and never a hint or an accept, whatever the peer put in it', () => {
    const packed = writeToPacked({ key: 'other', record, hintFor: 'n5', madeBy });
    expect(copyFromPacked(packed, 'c1')).to.deep.equal({ key: 'c1', record, madeBy });
    const accept = writeToPacked({ key: 'c1', record, requests: madeBy });
    expect(copyFromPacked(accept, 'c1')).to.deep.equal({ key: 'c1', record });
  });

  it('is undefined for a record with no version', () => {
    const packed = writeToPacked({ key: 'c1', record });
    packed[4] = '';
    expect(copyFromPacked(packed, 'c1')).to.equal(undefined);
  });
});

describe('writeToPacked and writeFromPacked with requests (a round accept)', () => {
  const record: StoreRecord = {
    value: Buffer.from('7'),
    flags: 1,
    version: { timestamp: 1_700_000_000_123, node: 'n2' },
    expiresAtMs: 1_700_000_060_000,
    tombstone: false,
  };
  const version = record.version;

  it('appends each request id and its applied outcome from element 8 on', () => {
    const write: ReplicaWrite = {
      key: 'k',
      record,
      requests: [{ id: 'r1', outcome: { kind: 'incr', value: 7, version } }],
    };
    expect(writeToPacked(write)).to.deep.equal([
      'k',
      record.value,
      1,
      1_700_000_000_123,
      'n2',
      1_700_000_060_000,
      false,
      '',
      'r1',
      [OpCode.incr, 7, 1_700_000_000_123, 'n2'],
    ]);
  });

  it('carries every request of a batch, in order', () => {
    const write: ReplicaWrite = {
      key: 'k',
      record,
      requests: [
        { id: 'r1', outcome: { kind: 'incr', value: 6, version: { timestamp: 5, node: 'n2' } } },
        { id: 'r2', outcome: { kind: 'incr', value: 7, version } },
      ],
    };
    expect(writeToPacked(write)).to.have.lengthOf(12);
    expect(writeFromPacked(writeToPacked(write))).to.deep.equal(write);
  });

  it('writes nothing past hintFor when the write carries no request', () => {
    expect(writeToPacked({ key: 'k', record })).to.have.lengthOf(8);
    expect(writeToPacked({ key: 'k', record, hintFor: 'n4' })).to.have.lengthOf(8);
  });

  const writes: [string, ReplicaWrite][] = [
    [
      'an incr',
      { key: 'k', record, requests: [{ id: 'r-incr', outcome: { kind: 'incr', value: 7, version } }] },
    ],
    ['a cas', { key: 'k', record, requests: [{ id: 'r-cas', outcome: { kind: 'cas', version } }] }],
    ['a touch', { key: 'k', record, requests: [{ id: 'r-touch', outcome: { kind: 'touch', found: true } }] }],
    [
      'a conditional set that stored',
      { key: 'k', record, requests: [{ id: 'r-set', outcome: { kind: 'set', stored: true, version } }] },
    ],
    [
      'a conditional set that stored nothing and found no version',
      {
        key: 'k',
        record,
        requests: [{ id: 'r-set', outcome: { kind: 'set', stored: false, version: undefined } }],
      },
    ],
    [
      'an incr held as a hint for a dead replica',
      {
        key: 'k',
        record,
        hintFor: 'n4',
        requests: [{ id: 'r-hint', outcome: { kind: 'incr', value: -1, version } }],
      },
    ],
  ];
  for (const [name, write] of writes) {
    it(`carries the request of ${name} there and back unchanged`, () => {
      expect(writeFromPacked(writeToPacked(write))).to.deep.equal(write);
    });

    it(`carries the request of ${name} through a msgpack frame unchanged`, () => {
      const frame = unpackFrame(packFrame(1, 0, [writeToPacked(write)]));
      expect(writeFromPacked(frame[2] as unknown[])).to.deep.equal(write);
    });
  }

  it('refuses the whole write when a request id is empty or not a string, or its outcome is unreadable', () => {
    // Read as a plain write, an accept would skip the ballot check: it must not be taken at all.
    const plain = writeToPacked({ key: 'k', record });
    const applied = appliedToPacked({ kind: 'touch', found: true });
    const tails: unknown[][] = [['', applied], [7, applied], ['r1', [9, true]], ['r1', 'touch'], ['r1']];
    for (const tail of tails) {
      expect(writeFromPacked([...plain, ...tail]), JSON.stringify(tail)).to.equal(undefined);
    }
  });
});

describe('appliedToPacked and appliedFromPacked', () => {
  const version = { timestamp: 1_700_000_000_123, node: 'n3' };
  const ts = version.timestamp;

  it('packs the kind code first, then the outcome as a reply packs it', () => {
    expect(appliedToPacked({ kind: 'set', stored: true, version })).to.deep.equal([
      OpCode.set,
      true,
      ts,
      'n3',
    ]);
    expect(appliedToPacked({ kind: 'delete', deleted: true, version })).to.deep.equal([OpCode.delete, true]);
    expect(appliedToPacked({ kind: 'touch', found: false })).to.deep.equal([OpCode.touch, false]);
    expect(appliedToPacked({ kind: 'incr', value: -5, version })).to.deep.equal([OpCode.incr, -5, ts, 'n3']);
    expect(appliedToPacked({ kind: 'cas', version })).to.deep.equal([OpCode.cas, ts, 'n3']);
  });

  const outcomes: [string, OperationResult][] = [
    ['a set that stored', { kind: 'set', stored: true, version }],
    ['a set that stored nothing, with the version in place', { kind: 'set', stored: false, version }],
    ['a set with no version, keeping it undefined', { kind: 'set', stored: false, version: undefined }],
    ['a touch that found the key', { kind: 'touch', found: true }],
    ['a touch that found nothing', { kind: 'touch', found: false }],
    ['an incr', { kind: 'incr', value: -5, version }],
    ['an incr to 0', { kind: 'incr', value: 0, version }],
    ['a cas', { kind: 'cas', version }],
  ];
  for (const [name, outcome] of outcomes) {
    it(`gives back ${name} unchanged`, () => {
      expect(appliedFromPacked(appliedToPacked(outcome))).to.deep.equal(outcome);
    });

    it(`gives back ${name} through a msgpack frame unchanged`, () => {
      const frame = unpackFrame(packFrame(1, 0, [appliedToPacked(outcome)]));
      expect(appliedFromPacked(frame[2])).to.deep.equal(outcome);
    });
  }

  it('gives back a delete with its version undefined, which the packed form does not carry', () => {
    for (const deleted of [true, false]) {
      const back = appliedFromPacked(appliedToPacked({ kind: 'delete', deleted, version }));
      expect(back).to.deep.equal({ kind: 'delete', deleted, version: undefined });
      expect(back).to.have.property('version', undefined);
    }
  });

  it('reads a set whose version has no node as a set with no version', () => {
    expect(appliedFromPacked([OpCode.set, true, 5, ''])).to.deep.equal({
      kind: 'set',
      stored: true,
      version: undefined,
    });
  });

  it('reads a flag that is not exactly true as false', () => {
    expect(appliedFromPacked([OpCode.touch, 1])).to.deep.equal({ kind: 'touch', found: false });
    expect(appliedFromPacked([OpCode.set, 'yes', 5, 'n1'])).to.include({ stored: false });
  });

  it('is undefined for anything but an array', () => {
    for (const p of [undefined, null, 'x', 3, { 0: OpCode.touch, 1: true }, Buffer.from([3, 1])]) {
      expect(appliedFromPacked(p), inspect(p)).to.equal(undefined);
    }
  });

  it("is undefined for an unknown kind code, a get's included", () => {
    for (const p of [[OpCode.get, true], [6, true], [-1, true], ['3', true], [null, true], []]) {
      expect(appliedFromPacked(p), JSON.stringify(p)).to.equal(undefined);
    }
  });

  it('is undefined for an incr or a cas whose version has no node', () => {
    const noNode = [
      [OpCode.incr, 1, 5, ''],
      [OpCode.incr, 1, 5],
      [OpCode.incr, 1, 5, 42],
      [OpCode.cas, 5, ''],
      [OpCode.cas, 5],
      [OpCode.cas, 5, null],
    ];
    for (const p of noNode) expect(appliedFromPacked(p), JSON.stringify(p)).to.equal(undefined);
  });
});

describe('prepareToPacked and prepareFromPacked', () => {
  it('carries the key, the request ids and the ballot there and back through a frame', () => {
    const prepare = { ballot: { timestamp: 1_700_000_000_321, node: 'n3' }, requestIds: ['a.1', 'a.2'] };
    const frame = unpackFrame(packFrame(1, 0, [prepareToPacked('k', prepare)]));
    expect(prepareFromPacked(frame[2])).to.deep.equal({ key: 'k', prepare });
  });

  it('is undefined for a bare key and for an item with no ballot node', () => {
    for (const p of ['k', ['k'], ['k', 'r1'], ['k', [], 5], ['k', [], 5, '']]) {
      expect(prepareFromPacked(p), inspect(p)).to.equal(undefined);
    }
  });
});

describe('lookupToPacked and lookupFromPacked', () => {
  const record: StoreRecord = {
    value: Buffer.from('3'),
    flags: 1,
    version: { timestamp: 1_700_000_000_123, node: 'n2' },
    expiresAtMs: 1_700_000_060_000,
    tombstone: false,
  };
  const tombstone: StoreRecord = {
    value: Buffer.alloc(0),
    flags: 0,
    version: { timestamp: 42, node: 'n3' },
    expiresAtMs: 99,
    tombstone: true,
  };
  const outcome: OperationResult = { kind: 'incr', value: 3, version: record.version };

  const known = [{ id: 'r1', outcome }];
  const refused = { timestamp: 1_700_000_000_999, node: 'n1' };

  it('packs the record as a replica write of the key, then the known requests as pairs', () => {
    expect(lookupToPacked('k', { record, known })).to.deep.equal([
      writeToPacked({ key: 'k', record }),
      ['r1', appliedToPacked(outcome)],
    ]);
  });

  it('packs a lookup that found neither as [[], []], and a refusal after them', () => {
    expect(lookupToPacked('k', { record: undefined, known: [] })).to.deep.equal([[], []]);
    expect(lookupToPacked('k', { record: undefined, known: [], refused })).to.deep.equal([
      [],
      [],
      refused.timestamp,
      'n1',
    ]);
  });

  const lookups: [string, Lookup][] = [
    ['a record and a known request', { record, known }],
    ['neither a record nor a known request', { record: undefined, known: [] }],
    ['only a record', { record, known: [] }],
    ['only a tombstone', { record: tombstone, known: [] }],
    ['only a known request', { record: undefined, known }],
    ['a refusal', { record: undefined, known: [], refused }],
    ['a record with the requests that made it', { record, known, madeBy: [{ id: 'r0', outcome }] }],
    ['a request heard of only', { record, known: [], heard: known }],
    [
      'a refusal with a request heard of',
      { record: undefined, known, refused, heard: [{ id: 'r2', outcome }] },
    ],
  ];
  for (const [name, lookup] of lookups) {
    it(`gives back ${name} unchanged`, () => {
      expect(lookupFromPacked(lookupToPacked('k', lookup))).to.deep.equal(lookup);
    });

    it(`gives back ${name} through a msgpack frame unchanged`, () => {
      const frame = unpackFrame(packFrame(1, 0, [lookupToPacked('k', lookup)]));
      expect(lookupFromPacked(frame[2])).to.deep.equal(lookup);
    });
  }

  it('puts the requests that made the record in its hint_for slot, which a release before it reads as no hint', () => {
    const packed = lookupToPacked('k', { record, known: [], madeBy: known });
    expect(packed[0]).to.deep.equal(writeToPacked({ key: 'k', record, madeBy: known }));
    expect(writeFromPacked(packed[0] as unknown[])).to.not.have.property('hintFor');
  });

  it('puts the requests heard of last, after nulls where nothing was refused: older nodes read the rest', () => {
    const packed = lookupToPacked('k', { record: undefined, known, heard: [{ id: 'r2', outcome }] });
    expect(packed).to.deep.equal([
      [],
      ['r1', appliedToPacked(outcome)],
      null,
      null,
      ['r2', appliedToPacked(outcome)],
    ]);
    // What a node that knows no heard-of requests reads of it: the first four slots, as before.
    expect(lookupFromPacked(packed.slice(0, 4))).to.deep.equal({ record: undefined, known });
  });

  it('is undefined for anything but an array', () => {
    for (const p of [
      undefined,
      null,
      'x',
      1,
      { record, known },
      [[], null],
      [[], ['r1', [9]]],
      [[], [], null, null, 'r2'],
      [[], [], null, null, ['r2', [9]]],
    ]) {
      expect(lookupFromPacked(p), inspect(p)).to.equal(undefined);
    }
  });
});

describe('a frame of packed operations (property)', () => {
  const key = fc.string({ unit: 'binary', maxLength: 40 });
  const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const nat = fc.nat({ max: 2 ** 31 - 1 });
  const consistency = fc.constantFrom<Consistency>('default', 'one', 'quorum', 'all');
  const flags = fc.constantFrom<ValueFlags>(0, 1, 2);
  const mode = fc.constantFrom<SetMode>('always', 'ifAbsent', 'ifPresent');
  const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
  const op: fc.Arbitrary<Operation> = fc.oneof(
    fc.record({ kind: fc.constant('get' as const), key, consistency }),
    fc.record({ kind: fc.constant('set' as const), key, value: bytes, flags, ttlMs: nat, mode, consistency }),
    fc.record({ kind: fc.constant('delete' as const), key, consistency }),
    fc.record({ kind: fc.constant('touch' as const), key, ttlMs: nat, consistency }),
    fc.record({
      kind: fc.constant('incr' as const),
      key,
      delta: fc.maxSafeInteger(),
      initial: int,
      ttlMs: nat,
      consistency,
    }),
    fc.record({
      kind: fc.constant('cas' as const),
      key,
      expected: fc.record({ timestamp: fc.maxSafeNat(), node: fc.string({ minLength: 1, maxLength: 8 }) }),
      value: bytes,
      flags,
      ttlMs: nat,
      consistency,
    }),
  );

  it('reads back every operation as it was written, in order, with the frame header intact', () => {
    fc.assert(
      fc.property(nat, nat, fc.array(op, { maxLength: 20 }), (frameId, timeoutMs, ops) => {
        const frame = unpackFrame(packFrame(frameId, timeoutMs, ops.map(toPacked)));
        expect(frame[0]).to.equal(frameId);
        expect(frame[1]).to.equal(timeoutMs);
        expect(frame.length).to.equal(ops.length + 2);
        const read = frame.slice(2).map((p) => operationFromPacked(p as PackedOp));
        expect(read).to.deep.equal(ops);
      }),
      { numRuns: 300 },
    );
  });

  it('survives the PackedFrame wrapping too', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), (ops) => {
        const wire = serializePackedFrame(packFrame(1, 0, ops.map(toPacked)));
        const read = unpackFrame(deserializePackedFrame(wire))
          .slice(2)
          .map((p) => operationFromPacked(p as PackedOp));
        expect(read).to.deep.equal(ops);
      }),
      { numRuns: 100 },
    );
  });
});

describe('a write applied by its coordinator that missed its quorum', () => {
  const message = 'write of key k was acknowledged by 2 of the 3 replicas it needs';

  it('says in its failure that the delete removed a live value there', () => {
    const applied = new UnacknowledgedWrite({ kind: 'delete', deleted: true, version: undefined }, message);
    expect(outcomeToPacked(applied, 0)).to.deep.equal([Code.UNAVAILABLE, message, 'QUORUM_NOT_MET', true]);
  });

  it('adds nothing for a delete of an absent key, or for a set', () => {
    const absent = new UnacknowledgedWrite({ kind: 'delete', deleted: false, version: undefined }, message);
    const set = new UnacknowledgedWrite(
      { kind: 'set', stored: true, version: { timestamp: 1, node: 'n1' } },
      message,
    );
    for (const failure of [absent, set]) {
      expect(outcomeToPacked(failure, 0)).to.deep.equal([Code.UNAVAILABLE, message, 'QUORUM_NOT_MET']);
    }
  });
});

describe('syncedRequestsToPacked and attachSyncedRequests (a catch-up batch)', () => {
  const record: StoreRecord = {
    value: Buffer.from('7'),
    flags: 0,
    version: { timestamp: 9, node: 'n2' },
    expiresAtMs: 0,
    tombstone: false,
  };
  const incr = (value: number) => ({
    kind: 'incr' as const,
    value,
    version: { timestamp: value, node: 'n2' },
  });

  it('puts each request back on the record of its key', () => {
    const sent: ReplicaWrite[] = [
      {
        key: 'a',
        record,
        requests: [
          { id: 'c.1', outcome: incr(5) },
          { id: 'c.2', outcome: incr(7) },
        ],
      },
      { key: 'b', record },
      {
        key: 'c',
        record,
        requests: [{ id: 'd.1', outcome: { kind: 'cas', version: { timestamp: 3, node: 'n1' } } }],
      },
    ];
    const received: ReplicaWrite[] = sent.map(({ key, record }) => ({ key, record }));
    attachSyncedRequests(received, syncedRequestsToPacked(sent));
    expect(received).to.deep.equal(sent);
  });

  it('packs nothing when no record carries a request', () => {
    expect(syncedRequestsToPacked([{ key: 'a', record }])).to.equal(undefined);
  });

  it('drops a request naming a key not in the batch, one it cannot read, and bytes that are no frame', () => {
    const received: ReplicaWrite[] = [{ key: 'a', record }];
    attachSyncedRequests(
      received,
      packFrame(0, 0, ['zz', 'c.1', appliedToPacked(incr(5)), 'a', '', [4, 1], 'a', 'c.3', 'x']),
    );
    expect(received[0]!.requests).to.equal(undefined);
    attachSyncedRequests(received, Buffer.from([0xc1, 0xc1]));
    expect(received[0]!.requests).to.equal(undefined);
    attachSyncedRequests(received, packFrame(0, 0, ['a', 'c.4', appliedToPacked(incr(2)), 'a']));
    expect(received[0]!.requests).to.deep.equal([{ id: 'c.4', outcome: incr(2) }]);
  });
});

describe('Peer.Compare frames', () => {
  const ranges: [number, [number, number]][] = [[3, [1, 2]]];

  it('carries what the asker wants, and reads a request with none (an older member) as wanting records', () => {
    for (const want of ['records', 'ranges', 'listed'] as const) {
      expect(digestsFromPacked(digestsToPacked({ from: 'n1', epoch: 4, ranges, want }))?.want).to.equal(want);
    }
    expect(digestsFromPacked(['n1', 4, [[3, 1, 2]]])?.want).to.equal('records');
  });

  it('refuses a request whose want is none of the three', () => {
    for (const bad of [3, -1, 1.5, 'length', '1', null])
      expect(digestsFromPacked(['n1', 4, [[3, 1, 2]], bad]), inspect(bad)).to.equal(undefined);
  });

  it("reads 'building' and 'ranges only' from a reply, and a reply with neither (an older member) as neither", () => {
    const diff = { epochMismatch: true, building: true, rangesOnly: true, evicting: false, differing: [] };
    expect(diffFromPacked(diffToPacked(diff))).to.deep.equal(diff);
    const old = diffFromPacked([true, false, []]);
    expect([old?.building, old?.rangesOnly]).to.deep.equal([false, false]);
  });
});
