import {
  constants as http2,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import { Code, METADATA } from '../proto/messages';

/**
 * New client streams a node starts per turn of the event loop, past which they wait for the next.
 * Starting one (grpc-js's headers, interceptors, handler, reply) costs 100-300 µs, so a turn stays
 * within about 10 ms.
 */
export const STREAMS_PER_TURN = 32;

/** What the HTTP/2 server hands a session's new stream to (Node's, which passes it to grpc-js). */
type StreamListener = (
  this: ServerHttp2Session,
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  flags: number,
  rawHeaders: string[],
) => void;

const ignoreError = (): void => undefined;

/**
 * Answers a stream refused before it started RESOURCE_EXHAUSTED with `message`, as grpc-js would
 * (trailers only), without grpc-js: a fraction of its cost. UNAVAILABLE in ringcache's own error
 * code: nothing was applied, so the SDK may send the call to another replica. Then RST_STREAM
 * NO_ERROR asks the client to stop sending the rest of its request.
 */
function answerExhausted(stream: ServerHttp2Stream, message: string): void {
  if (stream.destroyed || stream.closed || stream.headersSent) return;
  try {
    stream.respond(
      {
        ':status': 200,
        'content-type': 'application/grpc',
        'grpc-status': String(Code.RESOURCE_EXHAUSTED),
        // gRPC's percent-encoding: of '%' and of what is not printable ASCII, only.
        'grpc-message': message.replace(/[^\x20-\x24\x26-\x7e]/gu, encodeURIComponent),
        [METADATA.errorCode]: 'UNAVAILABLE',
      },
      { endStream: true },
    );
    if (!stream.closed) stream.close(http2.NGHTTP2_NO_ERROR);
  } catch {
    // Called from a socket's read or a turn of the loop, where a throw would end the process: a
    // stream that cannot be answered (its session going away) is reset, and its client may retry.
    if (!stream.destroyed) stream.close(http2.NGHTTP2_REFUSED_STREAM);
  }
}

interface WaitingStream {
  stream: ServerHttp2Stream;
  headers: IncomingHttpHeaders;
  flags: number;
  rawHeaders: string[];
  /** Started, refused, or closed by its client while it waited: no longer counted. */
  gone: boolean;
  onClose: () => void;
}

interface PacedSession {
  session: ServerHttp2Session;
  onward: StreamListener[];
  /** In arrival order; those gone are skipped when their turn comes (or dropped, when many). */
  waiting: WaitingStream[];
  /** Of `waiting`, those not gone. */
  live: number;
}

/**
 * Starts clients' new streams at most `perTurn` per turn of the event loop, node-wide, taking them
 * from their connections in turn. A client's connection can open a thousand streams in one packet,
 * and Node hands them all over in one go: ten such connections kept a node from its sockets for
 * 2.5 s, long enough for its peers to take it for dead, and every other client waited as long.
 * Paced, the node reads its sockets between two turns: its peers' pings, the frames of streams
 * already open (an SDK's calls travel on those) and the others' new streams are served, a
 * connection that opens many waits for its own, and the node spends the same time starting them.
 * - A peer's connection is never paced (`unpaced`): gossip and replication come first.
 * - Streams wait in memory, `maxWaiting` at most, and what their clients sent before they start (an
 *   HTTP/2 stream window each, 64 KiB, which no other budget counts) `maxWaitingBytes` at most,
 *   added up at each turn. Past either, the connection with the most waiting gives up its newest, or
 *   the new stream is refused when that is its own: answered RESOURCE_EXHAUSTED before any gRPC work
 *   (a client's retry of a stream reset with REFUSED_STREAM, which grpc-js makes once at once,
 *   would only be refused again).
 * - While none waits, a stream within the turn's budget starts as it always did: one count and one
 *   setImmediate per turn.
 */
export class StreamPacer {
  /** Streams started this turn. */
  #started = 0;
  #turnEndSet = false;
  /** Connections with streams waiting, in the order they take their turns (Map: insertion order). */
  readonly #queue = new Map<ServerHttp2Session, PacedSession>();
  #waiting = 0;
  /** What the streams waiting had received at the last turn. */
  #waitingBytes = 0;
  #draining = false;
  readonly #endTurn = (): void => this.#onTurnEnd();

  constructor(
    readonly perTurn: number,
    readonly maxWaiting: number,
    readonly maxWaitingBytes: number,
    /** A stream refused for as many waiting already, or for their bytes: counts it, and says why (its status's message). */
    readonly refused: (past: 'streams' | 'bytes') => string,
  ) {}

  /** Streams waiting for their turn now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * Puts the pacer between `session` and the listeners it had for new streams (`onward`, taken off it
   * by the caller). `unpaced`: whether the session's streams start at once (a peer's), asked per
   * stream after any listener the caller added before this one.
   */
  pace(session: ServerHttp2Session, onward: StreamListener[], unpaced: () => boolean): void {
    const paced: PacedSession = { session, onward, waiting: [], live: 0 };
    session.on(
      'stream',
      (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
        if (this.#draining || unpaced()) {
          this.#start(paced, stream, headers, flags, rawHeaders);
          return;
        }
        if (this.#waiting === 0 && this.#started < this.perTurn) {
          this.#started++;
          this.#setTurnEnd();
          this.#start(paced, stream, headers, flags, rawHeaders);
          return;
        }
        // Until grpc-js has it, an error of the stream (the client resets it, or the node refuses it)
        // is this pacer's to take: unheard, it would end the process.
        stream.on('error', ignoreError);
        const past =
          this.#waiting >= this.maxWaiting
            ? 'streams'
            : this.#waitingBytes >= this.maxWaitingBytes
              ? 'bytes'
              : undefined;
        if (past) {
          // The connection with the most streams waiting gives up its newest, so another client's
          // stream still gets its turn; when that is this one's, the new stream is refused.
          const crowded = this.#mostWaiting();
          if (!crowded || crowded.live <= paced.live + 1) {
            answerExhausted(stream, this.refused(past));
            return;
          }
          this.#waitingBytes -= this.#refuseNewest(crowded, past);
        }
        const waiting: WaitingStream = {
          stream,
          headers,
          flags,
          rawHeaders,
          gone: false,
          // A client may open and reset streams as fast as it likes: they leave the count at once,
          // and the queue once they outnumber the live.
          onClose: () => {
            this.#leave(paced, waiting);
            if (paced.waiting.length > 2 * paced.live + 16)
              paced.waiting = paced.waiting.filter((w) => !w.gone);
          },
        };
        stream.once('close', waiting.onClose);
        paced.waiting.push(waiting);
        paced.live++;
        this.#waiting++;
        if (!this.#queue.has(session)) this.#queue.set(session, paced);
        this.#setTurnEnd();
      },
    );
    session.once('close', () => {
      // Node has destroyed its streams: those waiting start nowhere.
      for (const waiting of paced.waiting) this.#leave(paced, waiting);
      paced.waiting.length = 0;
      this.#queue.delete(session);
    });
  }

  /**
   * The node stops: the streams waiting are reset with REFUSED_STREAM (their clients may send them to
   * another node), and new ones start at once, as the node's calls are ending and no more come.
   */
  drain(): void {
    this.#draining = true;
    for (const paced of this.#queue.values())
      for (const waiting of paced.waiting)
        if (!waiting.gone) {
          this.#leave(paced, waiting);
          waiting.stream.close(http2.NGHTTP2_REFUSED_STREAM);
        }
    this.#queue.clear();
  }

  /** A waiting stream is counted no more (once). */
  #leave(paced: PacedSession, waiting: WaitingStream): void {
    if (waiting.gone) return;
    waiting.gone = true;
    paced.live--;
    this.#waiting--;
  }

  /** Refuses the newest stream of `paced` still waiting: the bytes it had received. */
  #refuseNewest(paced: PacedSession, past: 'streams' | 'bytes'): number {
    for (let last = paced.waiting.pop(); last; last = paced.waiting.pop())
      if (!last.gone) {
        this.#leave(paced, last);
        last.stream.off('close', last.onClose);
        const bytes = last.stream.readableLength;
        answerExhausted(last.stream, this.refused(past));
        return bytes;
      }
    return 0;
  }

  /**
   * Adds up what the streams waiting have received; past maxWaitingBytes, the newest of the
   * connections with the most waiting are refused until it holds.
   */
  #countWaitingBytes(): void {
    let bytes = 0;
    for (const paced of this.#queue.values())
      for (const waiting of paced.waiting) if (!waiting.gone) bytes += waiting.stream.readableLength;
    // A turn refuses a few turns' worth of streams at most; the rest next turn (meanwhile the bytes
    // read as over, and new streams are refused as they come).
    for (let n = 0; bytes > this.maxWaitingBytes && this.#waiting > 0 && n < 4 * this.perTurn; n++)
      bytes -= this.#refuseNewest(this.#mostWaiting()!, 'bytes');
    this.#waitingBytes = bytes;
  }

  /** The connection with the most streams waiting: a scan of those with any, done only when full. */
  #mostWaiting(): PacedSession | undefined {
    let most: PacedSession | undefined;
    for (const paced of this.#queue.values()) if (!most || paced.live > most.live) most = paced;
    return most;
  }

  #start(
    paced: PacedSession,
    stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    flags: number,
    rawHeaders: string[],
  ): void {
    for (const listener of paced.onward) listener.call(paced.session, stream, headers, flags, rawHeaders);
  }

  #setTurnEnd(): void {
    if (this.#turnEndSet) return;
    this.#turnEndSet = true;
    setImmediate(this.#endTurn);
  }

  /** A new turn: the streams waiting start, up to the turn's budget, one connection after another. */
  #onTurnEnd(): void {
    this.#turnEndSet = false;
    this.#started = 0;
    while (this.#started < this.perTurn && this.#queue.size > 0) {
      const [session, paced] = this.#queue.entries().next().value as [ServerHttp2Session, PacedSession];
      this.#queue.delete(session);
      let next = paced.waiting.shift();
      // Reset by its client while it waited (its 'close' may be yet to come): nothing to start.
      while (next && (next.gone || next.stream.destroyed || next.stream.closed)) {
        this.#leave(paced, next);
        next = paced.waiting.shift();
      }
      if (paced.waiting.length > 0) this.#queue.set(session, paced);
      if (!next) continue;
      this.#leave(paced, next);
      next.stream.off('error', ignoreError);
      next.stream.off('close', next.onClose);
      this.#started++;
      this.#start(paced, next.stream, next.headers, next.flags, next.rawHeaders);
    }
    this.#waitingBytes = 0;
    if (this.#waiting > 0) this.#countWaitingBytes();
    // The streams started count against this turn; streams still waiting start in the next ones.
    if (this.#started > 0 || this.#waiting > 0) this.#setTurnEnd();
  }
}
