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
    for (let round = 0; round < 10; round++) {
      const key = `half-${round}`;
      const got = await halfClosedPacked(t.address('n1'), [
        [[1, key, Buffer.from('v'), 0, 0, 0, 0]], // set at W=2
        [[4, `${key}-c`, 2, 0, 0, 0, `half-${round}`]], // incr
        [[3, key, 60_000, 0]], // touch
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
