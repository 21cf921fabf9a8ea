import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { Code } from '../../src/proto/messages';
import {
  CLOCK_METADATA,
  deserializePackedFrame,
  packFrame,
  serializePackedFrame,
  unpackFrame,
} from '../../src/proto/packed';
import { TestCluster } from '../support/cluster';

/** The reply to one packed frame `[1, 30000, ...ops, tail?]`, on a stream that asks for the clock or not. */
async function reply(address: string, ops: unknown[], tail?: number, clock = false): Promise<unknown[]> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (clock) metadata.set(CLOCK_METADATA, '1');
  try {
    return await new Promise<unknown[]>((resolve, reject) => {
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(
        '/ringcache.v1.Cache/PipelinePacked',
        serializePackedFrame,
        deserializePackedFrame,
        metadata,
        { deadline: Date.now() + 30_000 },
      );
      call.on('data', (payload: Buffer) => {
        resolve(unpackFrame(payload));
        call.end();
      });
      call.on('error', (err: grpc.ServiceError) => reject(new Error(`stream failed: ${err.details}`)));
      call.write(packFrame(1, 30_000, ops, tail));
    });
  } finally {
    client.close();
  }
}

const set = (key: string, value: string) => [1, key, Buffer.from(value), 0, 0, 0, 0];
const get = (key: string) => [0, key, 0];
const del = (key: string) => [2, key, 0];

describe("a packed frame's notAfter and a node's clock in replies", function () {
  this.timeout(60_000);
  let t: TestCluster;

  before(async () => {
    t = await TestCluster.start({ nodes: 1, factor: 1, writeQuorum: 1, readQuorum: 1 });
  });
  after(() => t?.stop());

  it("ends each reply with the node's clock only on streams that ask for it", async () => {
    const plain = await reply(t.address('n1'), [get('c')]);
    expect(plain).to.deep.equal([1, plain[1], [Code.OK, false]]);
    // The node runs on this host: its clock is this process's.
    const before = Date.now();
    const timed = await reply(t.address('n1'), [get('c')], undefined, true);
    const after = Date.now();
    expect(timed.slice(0, 3)).to.deep.equal([1, timed[1], [Code.OK, false]]);
    expect(timed).to.have.lengthOf(4);
    expect(timed[3]).to.be.within(before, after);
  });

  it('refuses the writes of a frame past its notAfter, applies none of them and answers its reads', async () => {
    await reply(t.address('n1'), [set('late-del', 'kept')]);
    const late = await reply(
      t.address('n1'),
      [set('late-set', 'v'), get('late-del'), del('late-del')],
      Date.now() - 1000,
    );
    expect((late[2] as unknown[])[0]).to.equal(Code.DEADLINE_EXCEEDED);
    expect((late[2] as unknown[])[1]).to.match(/after the last instant its client allowed for it/);
    expect((late[3] as unknown[]).slice(0, 3)).to.deep.equal([Code.OK, true, Buffer.from('kept')]);
    expect((late[4] as unknown[])[0]).to.equal(Code.DEADLINE_EXCEEDED);
    const now = await reply(t.address('n1'), [get('late-set'), get('late-del')]);
    expect(now[2], 'the late set was not applied').to.deep.equal([Code.OK, false]);
    expect((now[3] as unknown[]).slice(0, 3), 'nor the late delete').to.deep.equal([
      Code.OK,
      true,
      Buffer.from('kept'),
    ]);
  });

  it('applies the writes of a frame before its notAfter', async () => {
    const inTime = await reply(t.address('n1'), [set('in-time', 'v')], Date.now() + 60_000);
    expect((inTime[2] as unknown[]).slice(0, 2)).to.deep.equal([Code.OK, true]);
    const now = await reply(t.address('n1'), [get('in-time')]);
    expect((now[2] as unknown[]).slice(0, 3)).to.deep.equal([Code.OK, true, Buffer.from('v')]);
  });

  it('reads a trailing element that is no positive integer as a malformed operation, as before', async () => {
    for (const tail of [-5, 0, 1.5]) {
      const r = await reply(t.address('n1'), [get('c')], tail);
      expect(r, `tail ${tail}`).to.have.lengthOf(4);
      expect(r[2]).to.deep.equal([Code.OK, false]);
      expect((r[3] as unknown[])[0], `tail ${tail}`).to.equal(Code.INVALID_ARGUMENT);
    }
  });
});
