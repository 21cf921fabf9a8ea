import type * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Session, IncomingHttpHeaders } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import { Code, METADATA } from '../proto/messages';
import { isClusterToken } from './cluster-token-guard';
import type { LimitRefusals } from './request-limits';

/**
 * Connections past limits.max_connections that a node still takes, for its peers: a client flood
 * that holds every connection must not keep a restarted member (or one whose connection dropped)
 * from reaching this node, or its gossip would take this node, healthy, for dead.
 */
export const PEER_CONNECTIONS_RESERVED = 64;

/**
 * limits.max_connections, peers first, and a handshake timeout on a bound gRPC server (grpc-js has
 * neither). A connection's kind is known from its first call: one that carries the cluster token is
 * a peer's (a node, or an operator's membership command), any other a client's.
 * - Clients hold at most maxConnections. A connection that arrives while they do is on probation:
 *   unless its first call carries the cluster token within the probation, it is closed and counted
 *   as refused (RESOURCE_EXHAUSTED naming the limit, in the metrics and a warning once a minute).
 * - Past maxConnections + PEER_CONNECTIONS_RESERVED, Node's net.Server closes a connection as soon as
 *   it is accepted, before any TLS or HTTP/2: what a flood can cost the node stays bounded.
 * - A connection whose client has not sent its HTTP/2 preface (SETTINGS) idle_timeout_ms after it
 *   connected is destroyed: grpc-js's idle timeout sends it a GOAWAY it never answers, and it stayed
 *   open. With TLS, a client that never completes the handshake is dropped by Node's TLS handshake
 *   timeout (120 s).
 */
export class ConnectionAdmission {
  #open = 0;
  #clients = 0;
  readonly #probationMs: number;

  constructor(
    readonly maxConnections: number,
    readonly idleTimeoutMs: number,
    readonly refusals: LimitRefusals,
    /** The node's cluster token; undefined: a call to the Peer service marks a peer. */
    readonly clusterToken: string | undefined,
  ) {
    // Within the idle timeout, after which grpc-js closes a connection with no call anyway.
    this.#probationMs = Math.min(Math.floor(idleTimeoutMs / 2), 10_000);
  }

  /** Connections open (peers, clients and those not yet known). */
  get open(): number {
    return this.#open;
  }

  /** Connections counted as clients': not known as a peer's. */
  get clients(): number {
    return this.#clients;
  }

  /** Applies the limit to the server's listeners; false when grpc-js no longer holds them where expected. */
  attach(server: grpc.Server): boolean {
    const listeners = (server as unknown as { http2Servers?: Map<unknown, unknown> }).http2Servers;
    if (!(listeners instanceof Map)) return false;
    for (const listener of listeners.keys()) {
      const net = listener as NetServer;
      net.maxConnections = this.maxConnections + PEER_CONNECTIONS_RESERVED;
      net.on('connection', (socket: Socket) => {
        this.#open++;
        socket.once('close', () => this.#open--);
      });
      net.on('session', (session: ServerHttp2Session) => this.#admit(session));
      net.on('drop', () => this.#refused());
    }
    return listeners.size > 0;
  }

  #admit(session: ServerHttp2Session): void {
    const onProbation = this.#clients >= this.maxConnections;
    // The session owns the socket: destroying the socket alone left the connection open.
    const silent = setTimeout(() => session.destroy(), this.idleTimeoutMs);
    silent.unref();
    session.once('remoteSettings', () => clearTimeout(silent));
    let probation: NodeJS.Timeout | undefined;
    let counted = false;
    if (onProbation) {
      probation = setTimeout(() => this.#refuse(session), this.#probationMs);
      probation.unref();
    } else {
      this.#clients++;
      counted = true;
    }
    session.once('stream', (_stream: unknown, headers: IncomingHttpHeaders) => {
      clearTimeout(probation);
      if (this.#isPeer(headers)) {
        if (counted) this.#clients--;
        counted = false;
      } else if (onProbation) this.#refuse(session);
    });
    session.once('close', () => {
      clearTimeout(silent);
      clearTimeout(probation);
      if (counted) this.#clients--;
    });
  }

  #isPeer(headers: IncomingHttpHeaders): boolean {
    if (!this.clusterToken) return String(headers[':path'] ?? '').startsWith('/ringcache.v1.Peer/');
    // Compared as the header came: grpc.Metadata would throw on characters HTTP/2 lets through.
    const sent = headers[METADATA.clusterToken];
    return typeof sent === 'string' && isClusterToken(sent, this.clusterToken);
  }

  #refuse(session: ServerHttp2Session): void {
    if (session.destroyed) return;
    this.#refused();
    session.destroy();
  }

  #refused(): void {
    this.refusals.note({
      limit: 'max_connections',
      code: Code.RESOURCE_EXHAUSTED,
      message: `limits.max_connections is ${this.maxConnections}`,
      warning: 'connections refused: too many open',
    });
  }
}
