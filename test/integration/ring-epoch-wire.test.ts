import { startPeerServer } from '../support/peer-server';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { NewerRing, type PeerEndpoint } from '../../src/cluster/peer-transport';
import { GrpcPeerTransport } from '../../src/server/grpc-peer-transport';
import type { StoreRecord } from '../../src/store/types';

const record: StoreRecord = {
  value: Buffer.from('v'),
  flags: 0,
  version: { timestamp: 5, node: 'n9' },
  expiresAtMs: 0,
  tombstone: false,
};

/**
 * A replica states the epoch of the ring it holds in every answer to a replica read, write or
 * prepare; over the real Peer service and gRPC transport, an answer from a replica on a newer ring
 * than the one the call is counted on comes back NewerRing (no vote), whatever it held. A replica
 * that states no epoch (0, as the release before sends) is counted as before.
 */
describe("a replica's ring epoch over gRPC", () => {
  let server: grpc.Server;
  let transport: GrpcPeerTransport;
  let endStreams: () => void;
  /** The epoch the replica holds; 0 stands for a release that does not say. */
  let held = 3;
  const applied: string[] = [];

  before(async () => {
    const endpoint = {
      ringEpoch: () => held,
      read: (key: string) => (key === 'held' ? { key, record } : undefined),
      replicate: (write: { key: string }) => void applied.push(write.key),
      lookup: () => ({ record, known: [] }),
    } as unknown as PeerEndpoint;
    const peer = await startPeerServer(endpoint, 'n9');
    server = peer.server;
    endStreams = peer.endStreams;
    transport = new GrpcPeerTransport({ selfId: 'n1', addressOf: () => peer.address });
  });

  after(() => {
    transport.close();
    endStreams();
    server.forceShutdown();
  });

  const deadline = () => Date.now() + 5000;
  const prepare = (ringEpoch?: number) => ({
    ballot: { timestamp: 9, node: 'n1' },
    requestIds: ['r1'],
    ringEpoch,
  });

  it('makes every answer to a call counted on an older ring NewerRing, naming the newer epoch', async () => {
    held = 3;
    const answers = await Promise.all([
      transport.read('n9', 'held', deadline(), 2),
      transport.read('n9', 'none', deadline(), 2),
      transport.replicate('n9', { key: 'w', record, ringEpoch: 2 }, deadline()),
      transport.lookup('n9', 'held', prepare(2), deadline()),
    ]);
    for (const answer of answers) {
      expect(answer).to.be.instanceOf(NewerRing);
      expect([(answer as NewerRing).nodeId, (answer as NewerRing).epoch]).to.deep.equal(['n9', 3]);
    }
    expect(applied, 'the write reached the replica all the same').to.include('w');
  });

  it('counts answers on the same ring, and those of calls counted on no ring (repair, handoff)', async () => {
    held = 3;
    const [same, unasked, write, handoff, prepared] = await Promise.all([
      transport.read('n9', 'held', deadline(), 3),
      transport.read('n9', 'held', deadline()),
      transport.replicate('n9', { key: 'w', record, ringEpoch: 3 }, deadline()),
      transport.replicate('n9', { key: 'w', record }, deadline()),
      transport.lookup('n9', 'held', prepare(3), deadline()),
    ]);
    expect(same).to.deep.include({ key: 'held', record });
    expect(unasked).to.deep.include({ key: 'held', record });
    expect(write).to.equal(undefined);
    expect(handoff).to.equal(undefined);
    expect(prepared).to.deep.include({ known: [] });
  });

  it('counts the answers of a replica that states no epoch, as before', async () => {
    held = 0;
    const [read, none, write] = await Promise.all([
      transport.read('n9', 'held', deadline(), 2),
      transport.read('n9', 'none', deadline(), 2),
      transport.replicate('n9', { key: 'w', record, ringEpoch: 2 }, deadline()),
    ]);
    expect(read).to.deep.include({ key: 'held', record });
    expect(none).to.equal(undefined);
    expect(write).to.equal(undefined);
  });
});
