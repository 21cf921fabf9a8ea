import * as grpc from '@grpc/grpc-js';
import type { ServerHttp2Session, IncomingHttpHeaders } from 'node:http2';
import type { Server as NetServer, Socket } from 'node:net';
import { Code, METADATA } from '../proto/messages';
import { isClusterToken } from './cluster-token-guard';
import { http2StreamOf, type LimitRefusal, type LimitRefusals } from './request-limits';
import { waitingRefusal } from './request-reads';
import { STREAMS_PER_TURN, StreamPacer } from './stream-pacing';

/**
 * Connections past limits.max_connections that a node still takes, for its peers: a client flood
 * that holds every connection must not keep a restarted member (or one whose connection dropped)
 * from reaching this node, or its gossip would take this node, healthy, for dead.
 */
export const PEER_CONNECTIONS_RESERVED = 64;

/** How long a refused connection's open calls have to end after its GOAWAY before it is cut off. */
const REFUSED_CLOSE_MS = 1000;

/**
 * limits.max_connections, peers first, and a handshake timeout on a bound gRPC server (grpc-js has
 * neither). A connection's kind is known from its first call: one that carries the cluster token is
 * a peer's (a node, or an operator's membership command), any other a client's.
 * - Clients hold at most maxConnections. A connection that arrives while they do is on probation:
 *   unless its first call carries the cluster token within the probation, it is closed and counted
 *   as refused (in the metrics, and a warning once a minute). A client's call on it is answered
 *   RESOURCE_EXHAUSTED naming the limit (`intercept`), and the connection is then closed with a
 *   GOAWAY: its client learns why, rather than seeing its connection drop under the call.
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
  /** Sessions admitted past the clients' limit whose first call has not shown them a peer's. */
  readonly #onProbation = new WeakSet<ServerHttp2Session>();
  /** Sessions refused: counted once, closed once. */
  readonly #refusedSessions = new WeakSet<ServerHttp2Session>();
  /** Clients' new streams, started a few per turn of the event loop (stream-pacing.ts). */
  readonly #pacer: StreamPacer;

  constructor(
    readonly maxConnections: number,
    readonly idleTimeoutMs: number,
    readonly refusals: LimitRefusals,
    /** The node's cluster token; undefined: a call to the Peer service marks a peer. */
    readonly clusterToken: string | undefined,
    /** limits.max_client_calls: a quarter as many clients' new streams may wait to start, at most. */
    readonly maxClientCalls: number,
    /** limits.max_client_input_bytes: what they may have received meanwhile, at most. */
    readonly maxClientInputBytes: number,
  ) {
    // Within the idle timeout, after which grpc-js closes a connection with no call anyway.
    this.#probationMs = Math.min(Math.floor(idleTimeoutMs / 2), 10_000);
    // Besides the calls open: a burst of streams that would open more is refused, not held.
    const maxWaiting = Math.floor(maxClientCalls / 4);
    const pacerRefusals: Record<'streams' | 'bytes', LimitRefusal> = {
      streams: {
        limit: 'max_client_calls',
        code: Code.RESOURCE_EXHAUSTED,
        message: `${maxWaiting} calls of clients wait to start on this node already (a quarter of limits.max_client_calls, ${maxClientCalls}); send fewer at once`,
        warning: 'calls refused: too many opened at once',
      },
      bytes: { ...waitingRefusal(maxClientInputBytes), code: Code.RESOURCE_EXHAUSTED },
    };
    this.#pacer = new StreamPacer(STREAMS_PER_TURN, maxWaiting, maxClientInputBytes, (past) => {
      this.refusals.note(pacerRefusals[past]);
      return pacerRefusals[past].message;
    });
  }

  /** The node stops: clients' streams waiting to start are reset (REFUSED_STREAM), new ones start at once. */
  drain(): void {
    this.#pacer.drain();
  }

  /** Clients' new streams waiting for their turn to start. */
  get streamsWaiting(): number {
    return this.#pacer.waiting;
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
    // The HTTP/2 server's own listener, which hands each new stream to grpc-js: paced from now on.
    const onward = session.listeners('stream') as Parameters<StreamPacer['pace']>[1];
    session.removeAllListeners('stream');
    let peer = false;
    const onProbation = this.#clients >= this.maxConnections;
    // The session owns the socket: destroying the socket alone left the connection open.
    const silent = setTimeout(() => session.destroy(), this.idleTimeoutMs);
    silent.unref();
    session.once('remoteSettings', () => clearTimeout(silent));
    let probation: NodeJS.Timeout | undefined;
    let counted = false;
    if (onProbation) {
      this.#onProbation.add(session);
      probation = setTimeout(() => this.#refuse(session), this.#probationMs);
      probation.unref();
    } else {
      this.#clients++;
      counted = true;
    }
    session.once('stream', (_stream: unknown, headers: IncomingHttpHeaders) => {
      clearTimeout(probation);
      if (this.#isPeer(String(headers[':path'] ?? ''), headers[METADATA.clusterToken])) {
        peer = true;
        if (counted) this.#clients--;
        counted = false;
        this.#onProbation.delete(session);
      } else if (onProbation) this.#refuse(session);
    });
    // A connection on probation is answered at once: its calls are refused (intercept), or it is a peer's.
    this.#pacer.pace(session, onward, () => peer || this.#onProbation.has(session));
    session.once('close', () => {
      clearTimeout(silent);
      clearTimeout(probation);
      if (counted) this.#clients--;
    });
  }

  /**
   * Whether a call is a peer's, from its path and the cluster token it sent (compared as it came:
   * grpc.Metadata would throw on characters HTTP/2 lets through).
   */
  #isPeer(path: string, sentToken: unknown): boolean {
    if (!this.clusterToken) return path.startsWith('/ringcache.v1.Peer/');
    return typeof sentToken === 'string' && isClusterToken(sentToken, this.clusterToken);
  }

  /**
   * A server interceptor (the first of the server's) that answers every call on a refused or
   * probation connection, but a peer's, RESOURCE_EXHAUSTED naming max_connections, before any
   * handler reads it. Calls on other connections pass untouched: one WeakSet lookup each.
   */
  readonly intercept: grpc.ServerInterceptor = (method, call) =>
    new grpc.ServerInterceptingCall(call, {
      start: (next) => {
        next({
          onReceiveMetadata: (metadata, pass) => {
            const session = http2StreamOf(call)?.session as ServerHttp2Session | undefined;
            if (
              !session ||
              !this.#onProbation.has(session) ||
              this.#isPeer(method.path, metadata.get(METADATA.clusterToken)[0])
            ) {
              pass(metadata);
              return;
            }
            // RESOURCE_EXHAUSTED for any gRPC client; UNAVAILABLE in ringcache's own error code:
            // this node cannot be reached by this client, and applied nothing, so the SDK tries
            // another replica (as it did when the connection was dropped).
            const trailers = new grpc.Metadata();
            trailers.set(METADATA.errorCode, 'UNAVAILABLE');
            call.sendStatus({
              code: grpc.status.RESOURCE_EXHAUSTED,
              details: `${this.#limitMessage()}: this node serves that many client connections at most; close idle ones, or connect fewer clients`,
              metadata: trailers,
            });
            this.#refuse(session);
          },
        });
      },
    });

  /**
   * Counts a refused session and closes it with a GOAWAY: the calls already on it still get their
   * answer (RESOURCE_EXHAUSTED, from the interceptor), no new one is taken. The GOAWAY waits a turn
   * of the event loop: sent while the first call is being handled, it would name that call's stream
   * as the last one taken, and the client's other calls in the same packets would be refused
   * unanswered (REFUSED_STREAM), retried on a new connection, and counted again. A client that keeps
   * its streams open past a second is cut off.
   */
  #refuse(session: ServerHttp2Session): void {
    if (session.destroyed || this.#refusedSessions.has(session)) return;
    this.#refusedSessions.add(session);
    this.#refused();
    setImmediate(() => {
      if (!session.destroyed) session.close();
    });
    const cutOff = setTimeout(() => session.destroy(), REFUSED_CLOSE_MS);
    cutOff.unref();
    session.once('close', () => clearTimeout(cutOff));
  }

  #limitMessage(): string {
    return `limits.max_connections is ${this.maxConnections}`;
  }

  #refused(): void {
    this.refusals.note({
      limit: 'max_connections',
      code: Code.RESOURCE_EXHAUSTED,
      message: this.#limitMessage(),
      warning: 'connections refused: too many open',
    });
  }
}
