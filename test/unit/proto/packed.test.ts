import { expect } from 'chai';
import fc from 'fast-check';
import protobuf from 'protobufjs';
import { Code, type OperationMsg, type OperationResultMsg } from '../../../src/proto/messages';
import {
  deserializePackedFrame,
  KIND_CODE,
  OP_KIND,
  opFromPacked,
  packFrame,
  resultToPacked,
  serializePackedFrame,
  unpackFrame,
  type PackedOp,
} from '../../../src/proto/packed';

/** The PackedFrame message of cache.proto, built by hand so protobufjs can check our hand-written encoding. */
const PackedFrame = new protobuf.Type('PackedFrame').add(new protobuf.Field('payload', 1, 'bytes'));
new protobuf.Root().define('ringcache.v1').add(PackedFrame);

function payloadOf(bytes: Uint8Array): Buffer {
  const msg = PackedFrame.toObject(PackedFrame.decode(bytes), { bytes: Buffer }) as { payload?: Buffer };
  return msg.payload ?? Buffer.alloc(0);
}

/** An operation in the positional layout documented at the top of src/proto/packed.ts. */
function toPacked(op: OperationMsg): PackedOp {
  switch (op.op) {
    case 'get':
      return [0, op.get.key, op.get.consistency];
    case 'set': {
      const s = op.set;
      return [1, s.key, s.value, s.flags, s.ttlMs, s.mode, s.consistency];
    }
    case 'delete':
      return [2, op.delete.key, op.delete.consistency];
    case 'touch':
      return [3, op.touch.key, op.touch.ttlMs, op.touch.consistency];
    case 'increment': {
      const i = op.increment;
      return [4, i.key, i.delta, i.initial, i.ttlMs, i.consistency];
    }
    case 'compareAndSet': {
      const c = op.compareAndSet;
      return [
        5,
        c.key,
        c.value,
        c.flags,
        c.ttlMs,
        c.consistency,
        c.expected?.timestamp ?? 0,
        c.expected?.node ?? '',
      ];
    }
  }
}

describe('PackedFrame serialization', () => {
  // Varint edges: 1 length byte up to 127, 2 up to 16383, 3 beyond.
  const sizes: [number, number][] = [
    [0, 1],
    [1, 1],
    [127, 1],
    [128, 2],
    [16383, 2],
    [16384, 3],
    [1 << 20, 3],
  ];
  for (const [size, lengthBytes] of sizes) {
    describe(`with a ${size}-byte payload`, () => {
      const payload = Buffer.alloc(size);
      for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;

      it(`writes tag 0x0a and a ${lengthBytes}-byte length before the payload`, () => {
        const bytes = serializePackedFrame(payload);
        expect(bytes.length).to.equal(1 + lengthBytes + size);
        expect(bytes[0]).to.equal(0x0a);
      });

      it('reads back the same payload', () => {
        expect(deserializePackedFrame(serializePackedFrame(payload)).equals(payload)).to.equal(true);
      });

      it('is a PackedFrame protobufjs decodes to the same payload', () => {
        expect(payloadOf(serializePackedFrame(payload)).equals(payload)).to.equal(true);
      });

      it('reads what protobufjs encodes', () => {
        const encoded = PackedFrame.encode(PackedFrame.create({ payload })).finish();
        expect(deserializePackedFrame(Buffer.from(encoded)).equals(payload)).to.equal(true);
      });
    });
  }

  it('reads an empty message (proto3 omits an empty payload) as an empty payload', () => {
    expect(deserializePackedFrame(Buffer.alloc(0)).length).to.equal(0);
  });

  it('refuses bytes that do not start with field 1', () => {
    expect(() => deserializePackedFrame(Buffer.from([0x12, 0x00]))).to.throw(TypeError, /field 1/);
  });

  it('refuses a length varint cut short', () => {
    expect(() => deserializePackedFrame(Buffer.from([0x0a, 0x80]))).to.throw(TypeError, /truncated/);
  });

  it('refuses a payload shorter than its declared length', () => {
    expect(() => deserializePackedFrame(Buffer.from([0x0a, 0x05, 1, 2]))).to.throw(TypeError, /truncated/);
  });
});

describe('packFrame and unpackFrame', () => {
  it('round-trip the two header numbers and every item in order', () => {
    const items = [
      [0, 'a', 1],
      [1, 'b', Buffer.from([1, 2, 3]), 2, 1000, 0, 3],
    ];
    const frame = unpackFrame(packFrame(17, 250, items));
    expect(frame[0]).to.equal(17);
    expect(frame[1]).to.equal(250);
    expect(frame.slice(2)).to.deep.equal(items);
  });

  it('round-trips a frame with no items', () => {
    expect(unpackFrame(packFrame(0x7fffffff, 0, []))).to.deep.equal([0x7fffffff, 0]);
  });

  it('refuses a payload that is not an array of at least two elements', () => {
    expect(() => unpackFrame(packFrame(1, 2, []).subarray(0, 0))).to.throw();
    expect(() => unpackFrame(Buffer.from([0x91, 0x01]))).to.throw(TypeError, /must be an array/); // [1]
    expect(() => unpackFrame(Buffer.from([0x01]))).to.throw(TypeError, /must be an array/); // 1
  });
});

describe('opFromPacked', () => {
  const value = Buffer.from('v');
  const cases: [string, PackedOp, OperationMsg][] = [
    ['get', [0, 'k', 2], { id: 7, op: 'get', get: { key: 'k', consistency: 2 } }],
    [
      'set',
      [1, 'k', value, 1, 500, 2, 3],
      { id: 7, op: 'set', set: { key: 'k', value, flags: 1, ttlMs: 500, mode: 2, consistency: 3 } },
    ],
    ['delete', [2, 'k', 1], { id: 7, op: 'delete', delete: { key: 'k', consistency: 1 } }],
    ['touch', [3, 'k', 900, 2], { id: 7, op: 'touch', touch: { key: 'k', ttlMs: 900, consistency: 2 } }],
    [
      'increment',
      [4, 'k', -3, 10, 60, 1],
      { id: 7, op: 'increment', increment: { key: 'k', delta: -3, initial: 10, ttlMs: 60, consistency: 1 } },
    ],
    [
      'compareAndSet',
      [5, 'k', value, 2, 0, 3, 123, 'n2'],
      {
        id: 7,
        op: 'compareAndSet',
        compareAndSet: {
          key: 'k',
          value,
          flags: 2,
          ttlMs: 0,
          consistency: 3,
          expected: { timestamp: 123, node: 'n2' },
        },
      },
    ],
  ];
  for (const [kind, packed, expected] of cases) {
    it(`reads a packed ${kind} with the id it is given`, () => {
      expect(opFromPacked(packed, 7)).to.deep.equal(expected);
    });
  }

  it('reads a compareAndSet with no expected node as expected null', () => {
    const op = opFromPacked([5, 'k', value, 0, 0, 0, 0, ''], 1);
    expect(op).to.deep.include({ op: 'compareAndSet' });
    expect((op as Extract<OperationMsg, { op: 'compareAndSet' }>).compareAndSet.expected).to.equal(null);
  });

  it('turns a Uint8Array value into a Buffer and a missing or mistyped field into its default', () => {
    const op = opFromPacked([1, 42, new Uint8Array([9]), 'x'], 1) as Extract<OperationMsg, { op: 'set' }>;
    expect(Buffer.isBuffer(op.set.value)).to.equal(true);
    expect([...op.set.value]).to.deep.equal([9]);
    expect(op.set).to.include({ key: '', flags: 0, ttlMs: 0, mode: 0, consistency: 0 });
    const noValue = opFromPacked([1, 'k', 'not bytes'], 1) as Extract<OperationMsg, { op: 'set' }>;
    expect(noValue.set.value.length).to.equal(0);
  });

  it('is undefined for an unknown kind', () => {
    expect(opFromPacked([6, 'k'], 1)).to.equal(undefined);
    expect(opFromPacked([-1, 'k'], 1)).to.equal(undefined);
    expect(opFromPacked(['0', 'k'], 1)).to.equal(undefined);
    expect(opFromPacked([], 1)).to.equal(undefined);
  });

  it('agrees with KIND_CODE and OP_KIND on every kind', () => {
    for (const [kind, , expected] of cases) {
      const code = KIND_CODE[expected.op];
      expect(OP_KIND[code]).to.equal(kind);
      expect(opFromPacked(toPacked(expected), 7)!.op).to.equal(kind);
    }
  });
});

describe('resultToPacked', () => {
  const version = { timestamp: 99, node: 'n3' };
  const ok = (r: Omit<OperationResultMsg, 'id' | 'code' | 'message'>): OperationResultMsg => ({
    id: 1,
    code: Code.OK,
    message: '',
    ...r,
  });

  it('packs a found get with value, flags, version and TTL', () => {
    const value = Buffer.from('abc');
    const r = ok({ result: 'get', get: { found: true, value, flags: 1, version, ttlMs: 1500 } });
    expect(resultToPacked(r)).to.deep.equal([0, true, value, 1, 99, 'n3', 1500]);
  });

  it('packs an absent get as [0, false]', () => {
    const r = ok({
      result: 'get',
      get: { found: false, value: Buffer.alloc(0), flags: 0, version: null, ttlMs: 0 },
    });
    expect(resultToPacked(r)).to.deep.equal([0, false]);
  });

  it('packs set, delete, touch, increment and compareAndSet', () => {
    expect(resultToPacked(ok({ result: 'set', set: { stored: true, version } }))).to.deep.equal([
      0,
      true,
      99,
      'n3',
    ]);
    expect(resultToPacked(ok({ result: 'delete', delete: { deleted: false } }))).to.deep.equal([0, false]);
    expect(resultToPacked(ok({ result: 'touch', touch: { found: true } }))).to.deep.equal([0, true]);
    expect(resultToPacked(ok({ result: 'increment', increment: { value: -5, version } }))).to.deep.equal([
      0,
      -5,
      99,
      'n3',
    ]);
    expect(resultToPacked(ok({ result: 'compareAndSet', compareAndSet: { version } }))).to.deep.equal([
      0,
      99,
      'n3',
    ]);
  });

  it('packs a missing version as timestamp 0 and node ""', () => {
    expect(resultToPacked(ok({ result: 'set', set: { stored: false, version: null } }))).to.deep.equal([
      0,
      false,
      0,
      '',
    ]);
  });

  it('packs a failure as [code, message, errorName]', () => {
    const r: OperationResultMsg = {
      id: 1,
      code: Code.FAILED_PRECONDITION,
      message: 'moved on',
      error: 'VERSION_CONFLICT',
    };
    expect(resultToPacked(r)).to.deep.equal([Code.FAILED_PRECONDITION, 'moved on', 'VERSION_CONFLICT']);
  });

  it('packs a failure with no error name with an empty name', () => {
    expect(resultToPacked({ id: 1, code: Code.UNAVAILABLE, message: 'down' })).to.deep.equal([
      Code.UNAVAILABLE,
      'down',
      '',
    ]);
  });

  it('packs an OK result that names no kind as INTERNAL', () => {
    expect(resultToPacked({ id: 1, code: Code.OK, message: '' })).to.deep.equal([
      Code.INTERNAL,
      'result without a kind',
      'INTERNAL',
    ]);
  });
});

describe('a frame of packed operations (property)', () => {
  const key = fc.string({ unit: 'binary', maxLength: 40 });
  const int = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
  const nat = fc.nat({ max: 2 ** 31 - 1 });
  const small = fc.nat({ max: 3 });
  const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
  const op: fc.Arbitrary<Omit<OperationMsg, 'id'>> = fc.oneof(
    fc.record({ op: fc.constant('get' as const), get: fc.record({ key, consistency: small }) }),
    fc.record({
      op: fc.constant('set' as const),
      set: fc.record({ key, value: bytes, flags: small, ttlMs: nat, mode: small, consistency: small }),
    }),
    fc.record({ op: fc.constant('delete' as const), delete: fc.record({ key, consistency: small }) }),
    fc.record({
      op: fc.constant('touch' as const),
      touch: fc.record({ key, ttlMs: nat, consistency: small }),
    }),
    fc.record({
      op: fc.constant('increment' as const),
      increment: fc.record({
        key,
        delta: fc.maxSafeInteger(),
        initial: int,
        ttlMs: nat,
        consistency: small,
      }),
    }),
    fc.record({
      op: fc.constant('compareAndSet' as const),
      compareAndSet: fc.record({
        key,
        value: bytes,
        flags: small,
        ttlMs: nat,
        consistency: small,
        expected: fc.option(
          fc.record({ timestamp: fc.maxSafeNat(), node: fc.string({ minLength: 1, maxLength: 8 }) }),
          {
            nil: null,
          },
        ),
      }),
    }),
  );

  it('reads back every operation as it was written, in order, with the frame header intact', () => {
    fc.assert(
      fc.property(nat, nat, fc.array(op, { maxLength: 20 }), (frameId, timeoutMs, bodies) => {
        const ops = bodies.map((b, i) => ({ ...b, id: i }) as OperationMsg);
        const frame = unpackFrame(packFrame(frameId, timeoutMs, ops.map(toPacked)));
        expect(frame[0]).to.equal(frameId);
        expect(frame[1]).to.equal(timeoutMs);
        expect(frame.length).to.equal(ops.length + 2);
        const read = frame.slice(2).map((p, i) => opFromPacked(p as PackedOp, i));
        expect(read).to.deep.equal(ops);
      }),
      { numRuns: 300 },
    );
  });

  it('survives the PackedFrame wrapping too', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 8 }), (bodies) => {
        const ops = bodies.map((b, i) => ({ ...b, id: i }) as OperationMsg);
        const wire = serializePackedFrame(packFrame(1, 0, ops.map(toPacked)));
        const read = unpackFrame(deserializePackedFrame(wire))
          .slice(2)
          .map((p, i) => opFromPacked(p as PackedOp, i));
        expect(read).to.deep.equal(ops);
      }),
      { numRuns: 100 },
    );
  });
});
