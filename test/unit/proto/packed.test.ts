import { expect } from 'chai';
import protobuf from 'protobufjs';
import {
  deserializePackedFrame,
  PACKED_PART_BYTES,
  packFrame,
  packReply,
  serializePackedFrame,
  unpackFrame,
  valueBytesOf,
} from '../../../src/proto/packed';

/** The PackedFrame message of cache.proto, built by hand so protobufjs can check our hand-written encoding. */
const PackedFrame = new protobuf.Type('PackedFrame').add(new protobuf.Field('payload', 1, 'bytes'));
new protobuf.Root().define('ringcache.v1').add(PackedFrame);

function payloadOf(bytes: Uint8Array): Buffer {
  const msg = PackedFrame.toObject(PackedFrame.decode(bytes), { bytes: Buffer }) as { payload?: Buffer };
  return msg.payload ?? Buffer.alloc(0);
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

  describe('of a frame from packFrame (its header written in front of it as it is packed)', () => {
    // Values whose frames' lengths take 1, 2 and 3 length bytes.
    for (const valueBytes of [10, 200, 20_000]) {
      it(`is the PackedFrame of the same payload, without a copy (values of ${valueBytes} bytes)`, () => {
        const value = Buffer.alloc(valueBytes, 0x5a);
        const payload = packFrame(7, 'n1', [value, 'k']);
        const bytes = serializePackedFrame(payload);
        expect(bytes.buffer, 'the same memory as the payload').to.equal(payload.buffer);
        expect(payloadOf(bytes).equals(payload)).to.equal(true);
        expect(deserializePackedFrame(bytes).equals(payload)).to.equal(true);
        expect(unpackFrame(deserializePackedFrame(bytes))).to.deep.equal([7, 'n1', value, 'k']);
      });
    }

    it('keeps each frame whole while more are packed after it, serialized in any order', () => {
      const frames = Array.from({ length: 2000 }, (_, i) =>
        packFrame(i, 'n2', [Buffer.alloc(i % 7 === 0 ? 5000 : 40, i & 0xff), `key-${i}`]),
      );
      const serialized = [...frames.keys()]
        .reverse()
        .map((i) => [i, serializePackedFrame(frames[i]!)] as const);
      for (const [i, bytes] of serialized) {
        const frame = unpackFrame(deserializePackedFrame(bytes));
        expect(frame[0]).to.equal(i);
        expect(frame[3]).to.equal(`key-${i}`);
        expect((frame[2] as Buffer).every((b) => b === (i & 0xff))).to.equal(true);
      }
    });

    it('sends a frame past 256 KiB as a view within the turn it was packed in, and copies it after', async () => {
      const value = Buffer.alloc(3_000_000, 0x5a); // 4 length bytes
      const now = packFrame(7, 'n1', [value]);
      const bytes = serializePackedFrame(now);
      expect(bytes.buffer, 'the same memory as the payload').to.equal(now.buffer);
      expect(payloadOf(bytes).equals(now)).to.equal(true);
      expect(unpackFrame(deserializePackedFrame(bytes))).to.deep.equal([7, 'n1', value]);
      // Not sent in its turn (a cancelled call's reply part): forgotten, so no large buffer is held.
      const later = packFrame(8, 'n1', [value]);
      await new Promise((resolve) => setImmediate(resolve));
      const copied = serializePackedFrame(later);
      expect(copied.buffer).to.not.equal(later.buffer);
      expect(unpackFrame(deserializePackedFrame(copied))).to.deep.equal([8, 'n1', value]);
    });

    it("copies a payload that is not packFrame's whole (a part of one) behind a header of its own", () => {
      const payload = packFrame(1, 0, ['abc']).subarray(1);
      const bytes = serializePackedFrame(payload);
      expect(bytes.buffer).to.not.equal(payload.buffer);
      expect(payloadOf(bytes).equals(payload)).to.equal(true);
    });
  });

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

  it('packs a large frame into a buffer of about its own size, which no frame after it shares', () => {
    const value = Buffer.alloc(1024 * 1024, 5);
    const items = [[1, 'k', value, 2, 1000, 0, 3]];
    packFrame(1, 0, [[0, 'small', 1]]); // msgpackr's shared buffer in use, as on a node
    const large = packFrame(2, 0, items, undefined, value.length + 1);
    const after = packFrame(3, 0, [[0, 'next', 1]]);
    expect(unpackFrame(large).slice(2)).to.deep.equal(items);
    // msgpackr alone grows its shared buffer to four times what the pack needs, and packs the
    // frames after it into the rest of it.
    expect(large.buffer.byteLength).to.be.below(value.length + 4096);
    expect(after.buffer).to.not.equal(large.buffer);
    expect(unpackFrame(after)).to.deep.equal([3, 0, [0, 'next', 1]]);
  });

  it('gives a large frame whose bytes were underestimated a buffer of its own size all the same', () => {
    const value = Buffer.alloc(300 * 1024, 6);
    const packed = packFrame(4, 0, [[1, 'k', value]], undefined, 200 * 1024);
    expect(unpackFrame(packed)).to.deep.equal([4, 0, [1, 'k', value]]);
    expect(packed.buffer.byteLength).to.be.below(value.length + 4096);
  });

  it('refuses a payload that is not an array of at least two elements', () => {
    expect(() => unpackFrame(packFrame(1, 2, []).subarray(0, 0))).to.throw();
    expect(() => unpackFrame(Buffer.from([0x91, 0x01]))).to.throw(TypeError, /must be an array/); // [1]
    expect(() => unpackFrame(Buffer.from([0x01]))).to.throw(TypeError, /must be an array/); // 1
  });
});

describe('packReply', () => {
  const MiB = 1024 * 1024;
  const getResult = (bytes: number) => [0, true, Buffer.alloc(bytes, 1), 1, 5, 'n1', 0];

  it('packs a reply within PACKED_PART_BYTES as one frame, as packFrame does', () => {
    const results = [getResult(100), [0, false], [0, true, 3, 'n1']];
    const messages = packReply(7, 2, results);
    expect(messages).to.have.length(1);
    expect(messages[0]!.equals(packFrame(7, 2, results))).to.equal(true);
  });

  it('splits a larger one into parts of about PACKED_PART_BYTES, all but the last with the frame id negated', () => {
    const results = Array.from({ length: 10 }, () => getResult(MiB));
    const parts = packReply(7, 2, results).map(unpackFrame);
    expect(parts.map((p) => p[0])).to.deep.equal([-7, -7, 7]);
    expect(parts.map((p) => p.length - 2)).to.deep.equal([4, 4, 2]);
    expect(parts.every((p) => p[1] === 2)).to.equal(true);
    const values = parts.flatMap((p) => p.slice(2)).map((r) => ((r as unknown[])[2] as Buffer).length);
    expect(values).to.deep.equal(Array(10).fill(MiB));
    expect(PACKED_PART_BYTES).to.equal(4 * MiB);
  });

  it('sends a single result larger than a part alone', () => {
    const parts = packReply(3, 0, [getResult(10), getResult(6 * MiB), getResult(10)]).map(unpackFrame);
    expect(parts.map((p) => [p[0], p.length - 2])).to.deep.equal([
      [-3, 1],
      [-3, 1],
      [3, 1],
    ]);
  });

  it('sizes results by the binary values they hold, nested records included', () => {
    expect(valueBytesOf([0, true, Buffer.alloc(10), 1])).to.equal(10);
    expect(valueBytesOf([[Buffer.alloc(3), [Buffer.alloc(4)]], 'text', 5])).to.equal(7);
    expect(valueBytesOf('a string')).to.equal(0);
  });
});
