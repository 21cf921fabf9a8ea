import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { deserializePackedFrame, packFrame, serializePackedFrame, unpackFrame } from '../../src/proto/packed';
import { loadServices } from '../../src/proto/load';
import { TestCluster } from '../support/cluster';

/** One Cache/PipelinePacked stream through a raw client: `frames` sent, then the send side closed. */
function halfClosedPacked(
  address: string,
  frames: unknown[][][],
): Promise<{ replies: unknown[][]; code: number; details: string }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const replies: unknown[][] = [];
    const call = client.makeBidiStreamRequest<Buffer, Buffer>(
      '/ringcache.v1.Cache/PipelinePacked',
      serializePackedFrame,
      deserializePackedFrame,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
    );
    call.on('data', (b: Buffer) => replies.push(unpackFrame(b)));
    call.on('status', (s: grpc.StatusObject) => {
      client.close();
      resolve({ replies, code: s.code, details: s.details });
    });
    call.on('error', () => undefined); // the status above says it all
    frames.forEach((ops, i) => call.write(packFrame(i + 1, 5000, ops)));
    call.end();
    setTimeout(() => reject(new Error(`stream never ended; ${replies.length} replies`)), 9000).unref();
  });
}

// Issue 12 §3: on e31473f the Pipeline streams forgot a client that half-closed while frames were in
// flight: the replies of W=2 writes, incrs and quorum gets were dropped and the stream never ended.
describe('a client that half-closes its Pipeline stream (issue 12 §3)', function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 3, factor: 3, writeQuorum: 2, readQuorum: 1 });
  });
  after(() => t?.stop());

  it('answers every packed frame still running, then ends the stream with OK', async () => {
    const cache = await t.client();
    for (let round = 0; round < 10; round++) {
      const key = `half-${round}`;
      // The stream's frames run concurrently: the touch is of a key written before, at ALL.
      await cache.set(`${key}-t`, 'v', { consistency: 'all' });
      const got = await halfClosedPacked(t.address('n1'), [
        [[1, key, Buffer.from('v'), 0, 0, 0, 0]], // set at W=2
        [[4, `${key}-c`, 2, 0, 0, 0, `half-${round}`]], // incr
        [[3, `${key}-t`, 60_000, 0]], // touch
        [[0, key, 2]], // get at quorum
      ]);
      expect(got.code, `round ${round}: ${got.details}`).to.equal(grpc.status.OK);
      expect(got.replies.map((r) => r[0]).sort(), `round ${round}`).to.deep.equal([1, 2, 3, 4]);
      const byFrame = new Map(got.replies.map((r) => [r[0], r[2] as unknown[]]));
      expect(byFrame.get(2)?.slice(0, 2)).to.deep.equal([0, 2]);
      expect(byFrame.get(3)?.slice(0, 2)).to.deep.equal([0, true]);
    }
  });

  it('answers a protobuf Pipeline frame still running, then ends the stream with OK', async () => {
    const { Cache } = loadServices();
    const client = new Cache(t.address('n2'), grpc.credentials.createInsecure());
    try {
      const got = await new Promise<{ results: unknown[]; code: number }>((resolve, reject) => {
        const results: unknown[] = [];
        const call = (
          client as unknown as { Pipeline(): grpc.ClientDuplexStream<unknown, { results: unknown[] }> }
        ).Pipeline();
        call.on('data', (r: { results: unknown[] }) => results.push(...r.results));
        call.on('status', (s: grpc.StatusObject) => resolve({ results, code: s.code }));
        call.on('error', () => undefined);
        call.write({ frameId: 1, ops: [{ id: 7, increment: { key: 'half-pb', delta: 3 } }] });
        call.end();
        setTimeout(() => reject(new Error('stream never ended')), 9000).unref();
      });
      expect(got.code).to.equal(grpc.status.OK);
      expect(got.results).to.have.lengthOf(1);
      expect(got.results[0]).to.include({ id: 7, code: 0 });
    } finally {
      client.close();
    }
  });
});

/** One unary call with raw bytes (identity serializers): what grpcurl or a fuzzer may send. */
function rawUnary(address: string, method: string, body: Buffer): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      method,
      (b) => b,
      (b) => b,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err) => {
        client.close();
        resolve({ code: err?.code ?? grpc.status.OK, details: err?.details ?? '' });
      },
    );
  });
}

/** One packed operation on a fresh PipelinePacked stream; its result. */
async function packedOp(address: string, op: unknown[]): Promise<unknown[]> {
  const got = await halfClosedPacked(address, [[op]]);
  return (got.replies[0]?.[2] as unknown[] | undefined) ?? [got.code, got.details];
}

// Issue 12 §4: on b9d8afc malformed bytes got INTERNAL "Error deserializing request", a truncated Get
// answered OK, and the packed path stored what the unary path refuses.
describe('malformed requests (issue 12 §4)', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let address: string;

  before(async () => {
    t = await TestCluster.start({ nodes: 1, factor: 1, writeQuorum: 1, readQuorum: 1 });
    address = t.address('n1');
  });
  after(() => t?.stop());

  const bodies: [string, Buffer, RegExp][] = [
    [
      'a Get whose key claims 5 bytes and carries 1',
      Buffer.from([0x0a, 0x05, 0x68]),
      /GetRequest\.key: claims 5 bytes, 1 remain/,
    ],
    ['bytes that are no protobuf message', Buffer.from([0xff, 0xff, 0xff]), /GetRequest/],
    ['a key that is not UTF-8', Buffer.from([0x0a, 0x02, 0xc3, 0x28]), /GetRequest\.key is not valid UTF-8/],
    ['a group', Buffer.from([0x0b, 0x0c]), /wire type 3/],
  ];
  for (const [name, body, message] of bodies) {
    it(`answers ${name} with INVALID_ARGUMENT, naming the field`, async () => {
      const got = await rawUnary(address, '/ringcache.v1.Cache/Get', body);
      expect(got.code, got.details).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(got.details).to.match(message);
      expect(got.details).to.not.match(/at \w+ \(|node_modules/); // no stack trace
    });
  }

  it('answers an unknown consistency with INVALID_ARGUMENT on the unary path', async () => {
    const got = await rawUnary(
      address,
      '/ringcache.v1.Cache/Get',
      Buffer.from([0x0a, 0x01, 0x61, 0x10, 0x09]),
    );
    expect(got.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(got.details).to.match(/consistency 9 is unknown/);
  });

  const packed: [string, unknown[], RegExp][] = [
    ['a TTL of 2^64 - 1', [1, 'k', Buffer.from('v'), 0, 2n ** 64n - 1n, 0, 0], /ttl_ms must be an integer/],
    [
      'a value sent as a string',
      [1, 'k', 'text', 0, 0, 0, 0],
      /value must be bytes \(msgpack bin\); got string/,
    ],
    ['a value sent as an integer', [1, 'k', 7, 0, 0, 0, 0], /value must be bytes/],
    ['a key sent as an integer', [0, 42, 0], /key must be a string \(msgpack str\); got number 42/],
    ['a key sent as bytes', [0, Buffer.from('k'), 0], /key must be a string \(msgpack str\); got bin/],
    ['an unknown consistency', [0, 'k', 9], /consistency 9 is unknown/],
    [
      'flags=utf8 with a value that is not UTF-8',
      [1, 'k', Buffer.from([0xc3, 0x28]), 1, 0, 0, 0],
      /flagged utf8/,
    ],
    [
      'a 100,000-character expected.node',
      [5, 'k', Buffer.from('v'), 0, 0, 0, 1, 'n'.repeat(100_000)],
      /expected\.node is 100000 characters/,
    ],
    ['a delta that is not an integer', [4, 'c', 1.5, 0, 0, 0], /delta must be an integer/],
  ];
  for (const [name, op, message] of packed) {
    it(`answers a packed operation with ${name} with INVALID_ARGUMENT, naming the field`, async () => {
      const res = await packedOp(address, op);
      expect(res[0], String(res[1])).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(String(res[1])).to.match(message);
      expect(String(res[1]).length, 'a short message').to.be.below(300);
    });
  }

  it('refuses a key whose bytes are not UTF-8 on the packed path too', async () => {
    // A msgpack str (0xa2, 2 bytes) holding C3 28: not UTF-8; decoders make it "\uFFFD(".
    const frame = Buffer.concat([Buffer.from([0x93, 0x01, 0x00, 0x93, 0x00, 0xa2, 0xc3, 0x28, 0x00])]);
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const reply = await new Promise<unknown[]>((resolve, reject) => {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
      );
      call.on('data', (b: Buffer) => resolve(unpackFrame(b)));
      call.on('error', reject);
      call.write(frame);
      call.end();
    });
    client.close();
    const res = reply[2] as unknown[];
    expect(res[0]).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(String(res[1])).to.match(/key is not valid UTF-8/);
  });

  it('says what is wrong with a payload that is not msgpack, in terms of the frame', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const status = await new Promise<grpc.StatusObject>((resolve) => {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
      );
      call.on('status', resolve);
      call.on('error', () => undefined);
      call.write(Buffer.concat([Buffer.alloc(100_000, 0x91), Buffer.from([0xc0])]));
    });
    client.close();
    expect(status.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(status.details).to.match(/nests too deeply/);
    expect(status.details).to.not.match(/call stack/i);
  });
});
