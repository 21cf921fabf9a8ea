import { startPeerServer } from '../../support/peer-server';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { PeerEndpoint, ReplicaWrite } from '../../../src/cluster/peer-transport';
import { RingCacheError } from '../../../src/errors';
import {
  deserializePackedFrame,
  packFrame,
  serializePackedFrame,
  unpackFrame,
} from '../../../src/proto/packed';
import { GrpcPeerTransport } from '../../../src/server/grpc-peer-transport';
import { writeToPacked } from '../../../src/server/packed-operations';

const write: ReplicaWrite = {
  key: 'k',
  record: {
    value: Buffer.from('v'),
    flags: 0,
    version: { timestamp: 1, node: 'n2' },
    expiresAtMs: 0,
    tombstone: false,
  },
};

/** A Peer server whose endpoint refuses writes past `refuseAfterMs` and records each deadline it was given. */
async function peerServer(refuseAfterMs: number) {
  const deadlines: (number | undefined)[] = [];
  const endpoint = {
    ringEpoch: () => 0,
    replicate: (_w: ReplicaWrite, deadlineMs?: number) => {
      deadlines.push(deadlineMs);
      return deadlineMs !== undefined && deadlineMs < refuseAfterMs
        ? new RingCacheError('DEADLINE_EXCEEDED', 'node n1: the replica write came after its deadline')
        : undefined;
    },
  } as unknown as PeerEndpoint;
  const { server, address } = await startPeerServer(endpoint, 'n1');
  return { deadlines, server, address };
}

describe('Peer.Replicate frames carry their deadline', () => {
  it("reach the replica with the sender's deadline, and bring its refusal back as DEADLINE_EXCEEDED", async () => {
    const now = Date.now();
    // The replica refuses deadlines before now + 10 s (where its clock and its bound would decide).
    const { deadlines, server, address } = await peerServer(now + 10_000);
    const transport = new GrpcPeerTransport({ selfId: 'n2', addressOf: () => address });
    try {
      const late = await transport.replicate('n1', write, now + 5000.5);
      expect(late).to.be.instanceOf(RingCacheError).with.property('code', 'DEADLINE_EXCEEDED');
      expect(deadlines).to.deep.equal([now + 5001]);
      const inTime = await transport.replicate('n1', write, now + 20_000);
      expect(inTime).to.equal(undefined);
      expect(deadlines).to.deep.equal([now + 5001, now + 20_000]);
    } finally {
      transport.close();
      server.forceShutdown();
    }
  });

  it('applies the records of a frame with no deadline (a node of an older release), one code each', async () => {
    const { deadlines, server, address } = await peerServer(Date.now());
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    try {
      const call = client.makeBidiStreamRequest<Buffer, unknown[]>(
        '/ringcache.v1.Peer/Replicate',
        serializePackedFrame,
        (buf: Buffer) => unpackFrame(deserializePackedFrame(buf)),
        new grpc.Metadata(),
      );
      const reply = new Promise<unknown[]>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      call.write(packFrame(7, 'n2', [writeToPacked(write), writeToPacked({ ...write, key: 'k2' })]));
      // [frame_id, ring_epoch, code...]: OK for both records, and no code for anything else.
      expect(await reply).to.deep.equal([7, 0, grpc.status.OK, grpc.status.OK]);
      expect(deadlines).to.deep.equal([undefined, undefined]);
      call.end();
    } finally {
      client.close();
      server.forceShutdown();
    }
  });
});
