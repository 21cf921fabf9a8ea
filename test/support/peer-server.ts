import * as grpc from '@grpc/grpc-js';
import type { PeerEndpoint } from '../../src/cluster/peer-transport';
import { silentLogger } from '../../src/observability/logger';
import { loadServices, withRawPayloads } from '../../src/proto/load';
import { peerService } from '../../src/server/peer-service';

/** A Peer server of its own: stop it with `server.forceShutdown()` (after `endStreams()`). */
export interface PeerServer {
  server: grpc.Server;
  /** Its address, 127.0.0.1 and the port it was given. */
  address: string;
  /** Ends the long-lived Peer streams it serves (Replicate, Read, Gossip). */
  endStreams: () => void;
}

/**
 * Serves the Peer service of `endpoint`, as node `selfId`, on a port of 127.0.0.1 the system picks:
 * the gRPC side of a node without the node, for tests of what crosses the wire.
 */
export async function startPeerServer(endpoint: PeerEndpoint, selfId: string): Promise<PeerServer> {
  const server = new grpc.Server();
  const { Peer } = loadServices();
  const peer = peerService({ selfId, endpoint, logger: silentLogger() });
  server.addService(withRawPayloads(Peer.service, ['Replicate', 'Read', 'Compare']), peer.handlers);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return { server, address: `127.0.0.1:${port}`, endStreams: peer.endStreams };
}
