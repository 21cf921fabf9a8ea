import { startPeerServer } from '../support/peer-server';
import { expect } from 'chai';
import { NotCaughtUp, type PeerEndpoint } from '../../src/cluster/peer-transport';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';

/**
 * A replica that catches up answers its peers' reads and prepares NotCaughtUp: over the real Peer
 * service and gRPC transport, the asker gets NotCaughtUp (no vote), not "absent" or a granted prepare.
 */
describe('a catching-up replica over gRPC', () => {
  it("answers a peer's read and prepare NotCaughtUp, next to a key it does hold", async () => {
    const record = {
      value: Buffer.from('v'),
      flags: 0 as const,
      version: { timestamp: 5, node: 'n1' },
      expiresAtMs: 0,
      tombstone: false,
    };
    const endpoint = {
      ringEpoch: () => 1,
      read: (key: string) => (key === 'held' ? { key, record } : new NotCaughtUp('n9')),
      lookup: () => new NotCaughtUp('n9'),
    } as unknown as PeerEndpoint;
    const { server, address, endStreams } = await startPeerServer(endpoint, 'n9');
    const transport = new GrpcPeerTransport({ selfId: 'n1', addressOf: () => address });
    try {
      const deadline = () => Date.now() + 5000;
      const [lacking, held] = await Promise.all([
        transport.read('n9', 'k', deadline()),
        transport.read('n9', 'held', deadline()),
      ]);
      expect(lacking, 'a key it may lack').to.be.instanceOf(NotCaughtUp);
      expect(held, 'a key it holds').to.deep.include({ key: 'held', record });
      const prepared = await transport.lookup(
        'n9',
        'k',
        { ballot: { timestamp: 9, node: 'n1' }, requestIds: ['r1'] },
        deadline(),
      );
      expect(prepared, 'a prepare').to.be.instanceOf(NotCaughtUp);
    } finally {
      transport.close();
      endStreams();
      server.forceShutdown();
    }
  });
});
