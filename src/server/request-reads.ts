import { constants as http2, getDefaultSettings } from 'node:http2';
import { realScheduler } from '../cluster/membership/scheduler';
import type { Scheduler } from '../cluster/membership/types';
import type { ClientInputBudget } from './client-input';

/** What a client's stream may send before the node reads it: HTTP/2's stream window, as Node sets it. */
const STREAM_WINDOW_BYTES = getDefaultSettings().initialWindowSize ?? 65_535;

/**
 * A request refused for as many waiting for room in max_client_input_bytes (`maxBytes`) as it holds
 * stream windows: read, they would take it; waiting, each may hold a window already.
 */
export function waitingRefusal(maxBytes: number): ReadRefusal {
  return {
    limit: 'max_client_input_bytes',
    message: `too many requests wait for room in limits.max_client_input_bytes, ${maxBytes} bytes; send fewer at once`,
    warning: 'requests refused: too many wait for room at once',
  };
}

/** What RequestReads needs of a call's HTTP/2 stream (a ServerHttp2Stream). */
export interface ReadableCallStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  /** Resets the stream (RST_STREAM with `code`): how a stalled read past its bound is ended. */
  close(code: number): unknown;
  /** Bytes received and not yet read: what came in while the stream was paused. */
  readonly readableLength: number;
  /** Whether the stream has closed (its client reset it, or the call ended). */
  readonly closed: boolean;
  /** Its connection (a ServerHttp2Stream's session): reads past the bound are refused by connection. */
  readonly session?: object | undefined;
}

/**
 * Why a call was ended: more calls waiting for room than the budget holds stream windows ('waiting'),
 * stalled calls holding more than the budget again ('stalled'), a client silent in the middle of a
 * message for idle_timeout_ms ('silent'), or max_client_calls open already ('calls').
 */
export type EndedRead = 'waiting' | 'stalled' | 'silent' | 'calls';

/** What a call ended by RequestReads is told, and what the node counts: the limit it passed, named. */
export interface ReadRefusal {
  limit: 'max_client_input_bytes' | 'idle_timeout_ms' | 'max_client_calls';
  message: string;
  /** The warning logged for such calls (once a minute per limit). */
  warning: string;
}

/**
 * Ends a call that has answered nothing yet with RESOURCE_EXHAUSTED and `message` (the
 * interceptor's: through grpc-js, which sends it as the call's status). Without one, or once the call
 * may have answered, the stream is reset with ENHANCE_YOUR_CALM, which gRPC clients read as
 * RESOURCE_EXHAUSTED too.
 */
export type EndCall = (message: string) => void;

/** gRPC's prefix of a message: a compression flag and its length, 4 bytes big-endian. */
const MESSAGE_PREFIX_BYTES = 5;

/** What a message read whole holds in the budget until its handler claims it. */
interface Hold {
  held: number | undefined;
}

/** One shared empty hold for messages that held nothing: most of a stream's, and never changed. */
const NO_HOLD: Hold = Object.freeze({ held: undefined });

interface Read {
  readonly stream: ReadableCallStream;
  /** A call whose client sends a stream of messages (Pipeline), not one. */
  readonly streaming: boolean;
  /** The message being read: its prefix and itself, once its prefix is read; -1 until then. */
  length: number;
  /** Its prefix as read so far, while it comes in pieces. */
  prefix: Buffer | undefined;
  /** Its bytes received, prefix included. */
  received: number;
  /** What it holds in the budget (ClientInputBudget.tryTake's answer), or undefined for nothing. */
  held: number | undefined;
  /** What it received, counted in ClientInputBudget.stalledBytes while it has stalled. */
  stalledBytes: number;
  /**
   * 'reading': its stream flows as grpc-js asks; 'waiting': paused for room; 'stalled': paused,
   * holding what it received, until more comes; 'done': no longer followed (its call answered or
   * cancelled, or its message past max_request_bytes, which grpc-js refuses itself).
   */
  state: 'reading' | 'waiting' | 'stalled' | 'done';
  /** Whether grpc-js wants the stream to flow: its last pause() or resume(). */
  flowWanted: boolean;
  lastDataAt: number;
  /** The call's connection, or its stream when unknown. */
  readonly connection: object;
  /** Whether a message of this call was read whole: a handler may have answered it already. */
  answered: boolean;
  /** A stream its client keeps open (a stream of requests, or one only counted): `streamsHeld`. */
  heldOpen: boolean;
  /** Messages read whole whose holds their handlers have not claimed, oldest first. */
  readonly unclaimed: Hold[];
  readonly onData: (chunk: Buffer) => void;
  /** How its call is ended with a status, when RequestReads must end it (EndCall). */
  readonly endCall: EndCall | undefined;
  /** The stream's own pause() and resume(), under the ones that see what grpc-js asks. */
  readonly pause: () => void;
  readonly resume: () => void;
}

/**
 * Clients' requests to the Cache service while they are read, in max_client_input_bytes. grpc-js
 * reads a message whole before any handler sees it, so the budget counted a request only once it
 * was read: one client's 500 concurrent Sets of 1 MiB on one connection were all read at once, and
 * took a node of max_memory 64 MiB from 125 to 709-716 MB of RSS before most were refused; 500
 * PipelinePacked streams of one such Set each, to 697 MB. Here a message's length, on its gRPC
 * prefix, is taken in the budget as soon as the prefix arrives; when it has no room the call's
 * HTTP/2 stream is paused (flow control keeps the rest on the client's side, at most a stream
 * window here) and resumed once the node has room, oldest first among those that fit. A message
 * whose bytes come whole with its prefix is not held back: it is read already, and its handler
 * counts it as before. grpc-js pauses and resumes the stream itself (it reads a message when its
 * handler asks for one): while a read waits, its resume is kept until the read has room.
 *
 * A handler takes over what its message's read holds (`take`), so that a read admitted is not
 * refused for the room the read itself took. What a unary call's handler does not claim is held
 * until the call ends (a GetMany's keys); a stream's, until its handler has had its turn. A read
 * that receives nothing for `stallMs` in the middle of a message is paused and gives its length's
 * room back until more comes, so that no client holds the budget with a length it does not send;
 * what it received is held apart (ClientInputBudget.stalledBytes), up to the budget again, past
 * which the oldest stalled calls are ended; so is one whose client stays silent for idle_timeout_ms.
 * Reads that wait for room are at most as many as the budget holds stream windows: past that, a
 * call that would wait is ended. Each is answered RESOURCE_EXHAUSTED naming the limit (EndCall).
 */
export class RequestReads {
  readonly #input: ClientInputBudget;
  readonly #maxMessageBytes: number;
  readonly #stallMs: number;
  readonly #stalledCallMs: number;
  readonly #windowBytes: number;
  readonly #maxCalls: number;
  readonly #onEnded: ((refusal: ReadRefusal) => void) | undefined;
  readonly #scheduler: Scheduler;
  readonly #reads = new Map<ReadableCallStream, Read>();
  /** Reads paused for room, oldest first. */
  readonly #waiting: Read[] = [];
  /** How many of #reads (calls followed) each connection has. */
  readonly #callsOn = new Map<object, number>();
  /** How many of #waiting each connection has. */
  readonly #waitingOn = new Map<object, number>();
  /** The next stall check, while a read holds room in the middle of a message, or has stalled. */
  #sweep: unknown;
  #wakeAsked = false;
  #waking = false;
  #closed = false;

  /**
   * `maxMessageBytes`: limits.max_request_bytes (a longer message is grpc-js's to refuse, unread).
   * `stalledCallMs`: limits.idle_timeout_ms, how long a client may stay silent in the middle of a
   * message before its call is ended (default never). `onEnded`: told of each call ended, with the
   * limit it passed. `windowBytes`: what a call's stream may receive before it is asked for more
   * (its HTTP/2 window: Node's 65,535 bytes by default). `maxCalls`: limits.max_client_calls, how
   * many calls may be followed at once (default no bound). `scheduler`: default realScheduler
   * (unref'd timers); tests give one they move by hand.
   */
  constructor(
    input: ClientInputBudget,
    opts: {
      maxMessageBytes: number;
      stallMs?: number;
      stalledCallMs?: number;
      windowBytes?: number;
      maxCalls?: number;
      onEnded?: (refusal: ReadRefusal) => void;
      scheduler?: Scheduler;
    },
  ) {
    this.#input = input;
    this.#maxMessageBytes = opts.maxMessageBytes;
    this.#stallMs = opts.stallMs ?? 1000;
    this.#stalledCallMs = opts.stalledCallMs ?? Infinity;
    this.#windowBytes = opts.windowBytes ?? STREAM_WINDOW_BYTES;
    this.#maxCalls = opts.maxCalls ?? Infinity;
    this.#onEnded = opts.onEnded;
    this.#scheduler = opts.scheduler ?? realScheduler;
  }

  /**
   * Bytes of the messages that did not come whole in their first chunk, all together so far (a count
   * that only grows): their chunks, and grpc-js's copy joining them, are garbage once the message is
   * answered, which the memory guard has V8 collect young (memory-guard.ts, largeInputBytes).
   */
  bytesReadInPieces = 0;

  #streamsHeld = 0;

  /**
   * Clients' calls followed now that their clients keep open: streams of requests (Pipeline), and
   * WatchTopology, health and reflection streams. Unary calls, in flight for a moment, are not.
   */
  get streamsHeld(): number {
    return this.#streamsHeld;
  }

  /** Reads paused for room now. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Follows the reading of a client's call on `stream`, before its stream flows (grpc-js has paused
   * it): one message, or (`streaming`) a message after another. False when the call is refused, for
   * max_client_calls open already: it is ended (`endCall`) and must not start. `countOnly`: the call
   * is counted in max_client_calls, and its reads are not followed (a WatchTopology, health or
   * reflection stream: small requests no handler claims a hold for; ended to make room, it is reset).
   */
  watch(stream: ReadableCallStream, streaming: boolean, endCall?: EndCall, countOnly = false): boolean {
    if (this.#reads.has(stream)) return true;
    const connection = stream.session ?? stream;
    if (this.#reads.size >= this.#maxCalls) {
      // Full: the connection with the most calls open gives one up, its newest; so one client's
      // thousands of streams are its own loss, and another client's call still starts.
      const [crowded, most] = this.#mostCrowded();
      const own = (this.#callsOn.get(connection) ?? 0) + 1;
      // A draining node makes no room: the calls it has are finishing, and a new one may go elsewhere.
      const evicted = own < most && !this.#closed ? this.#newestOf(crowded) : undefined;
      if (evicted === undefined) {
        const refusal = this.#refusal('calls');
        if (endCall) endCall(refusal.message);
        else stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
        this.#onEnded?.(refusal);
        return false;
      }
      this.#end(evicted, 'calls');
    }
    this.#callsOn.set(connection, (this.#callsOn.get(connection) ?? 0) + 1);
    if (streaming || countOnly) this.#streamsHeld++;
    const pause = stream.pause.bind(stream);
    const resume = stream.resume.bind(stream);
    const read: Read = {
      stream,
      streaming,
      length: -1,
      prefix: undefined,
      received: 0,
      held: undefined,
      stalledBytes: 0,
      state: 'reading',
      flowWanted: false,
      lastDataAt: this.#scheduler.now(),
      connection,
      answered: false,
      unclaimed: [],
      heldOpen: streaming || countOnly,
      onData: (chunk) => this.#onData(read, chunk),
      endCall,
      pause: () => void pause(),
      resume: () => void resume(),
    };
    // A draining node reads what its clients send until they are done, but still counts their calls.
    if (countOnly || this.#closed) {
      read.state = 'done';
      read.answered = true;
      this.#reads.set(stream, read);
      stream.on('close', () => this.#gone(read));
      return true;
    }
    // grpc-js's pause() and resume(), seen: while the read waits for room or has stalled, the
    // stream stays paused whatever grpc-js asks, and flows again as grpc-js last asked.
    const own = stream as { pause(): unknown; resume(): unknown };
    own.pause = () => {
      read.flowWanted = false;
      return pause();
    };
    own.resume = () => {
      read.flowWanted = true;
      if (read.state !== 'waiting' && read.state !== 'stalled') return resume();
      // A read parked while grpc-js held its stream (see #checkStalls) asks for its room now; not
      // one whose stream is closing (grpc-js resumes it then, to drop what comes).
      if (read.state === 'stalled' && !stream.closed) this.#wait(read);
      if (this.#waiting.length > 0) this.#wake();
      return stream;
    };
    this.#reads.set(stream, read);
    stream.on('data', read.onData);
    stream.on('close', () => this.#gone(read));
    return true;
  }

  /**
   * Counts in a request of `bytes` just read whole on `stream` (undefined: not followed): what to
   * release() once it is answered. Its read's hold becomes its own; without one, it is taken if it
   * has room (ClientInputBudget.tryTake), and undefined when it has none (nothing counted).
   */
  take(stream: ReadableCallStream | undefined, bytes: number): number | undefined {
    const read = stream && this.#reads.get(stream);
    const hold = read?.unclaimed.shift();
    if (hold?.held === undefined) return this.#input.tryTake(bytes);
    // Counted before the read's hold goes back: its room is not given to another read meanwhile.
    const taken = this.#input.take(bytes);
    this.#input.release(hold.held);
    hold.held = undefined;
    return taken;
  }

  /**
   * The call on `stream` has its answer, or was cancelled: what it reads from now on is not
   * followed (grpc-js reads the rest only to drop it), and what its message in reading holds goes
   * back. Messages read whole keep their holds for their handlers, until the call ends.
   */
  ended(stream: ReadableCallStream | undefined): void {
    const read = stream && this.#reads.get(stream);
    if (read) this.#unfollow(read);
  }

  /**
   * Stops the stall checks and follows no call any more (a draining node); calls are still counted
   * in max_client_calls until they end.
   */
  close(): void {
    this.#closed = true;
    this.#stopSweep();
    // A draining node reads what its clients send until they are done: nothing waits for room. A
    // call no longer followed may have answered, whatever was read of it.
    for (const read of this.#reads.values()) {
      this.#unfollow(read);
      read.answered = true;
    }
  }

  #onData(read: Read, chunk: Buffer): void {
    if (read.state === 'done') return;
    read.lastDataAt = this.#scheduler.now();
    if (read.state !== 'reading') {
      // Data while paused for room: what was buffered before the pause. Its message is being read
      // anyway: it takes its room, past the budget if need be.
      this.#leaveLine(read);
      this.#unstall(read);
      read.held = this.#input.take(read.length);
      read.state = 'reading';
      this.#startSweep();
    }
    let at = 0;
    while (at < chunk.length) {
      if (read.length < 0) {
        let length: number;
        if (read.prefix === undefined && chunk.length - at >= MESSAGE_PREFIX_BYTES) {
          length = chunk.readUInt32BE(at + 1);
          at += MESSAGE_PREFIX_BYTES;
        } else {
          const piece = chunk.subarray(at, at + MESSAGE_PREFIX_BYTES - (read.prefix?.length ?? 0));
          at += piece.length;
          const prefix = read.prefix ? Buffer.concat([read.prefix, piece]) : piece;
          if (prefix.length < MESSAGE_PREFIX_BYTES) {
            read.prefix = Buffer.from(prefix);
            return;
          }
          length = prefix.readUInt32BE(1);
        }
        read.prefix = undefined;
        if (length > this.#maxMessageBytes) return this.#unfollow(read); // grpc-js refuses it
        read.length = MESSAGE_PREFIX_BYTES + length;
        read.received = MESSAGE_PREFIX_BYTES;
        if (chunk.length - at >= length) {
          // Whole in this chunk: read already, and counted by its handler.
          at += length;
          this.#messageRead(read);
          if (!read.streaming) return;
          continue;
        }
        this.bytesReadInPieces += read.length;
        read.held = this.#input.tryTake(read.length);
        if (read.held === undefined) {
          // The rest of the chunk is all this message's: grpc-js has it already.
          read.received += chunk.length - at;
          return this.#wait(read);
        }
        this.#startSweep();
      }
      const bytes = Math.min(read.length - read.received, chunk.length - at);
      read.received += bytes;
      at += bytes;
      if (read.received >= read.length) {
        this.#messageRead(read);
        if (!read.streaming) return;
      }
    }
  }

  /**
   * The message is whole: its hold (none if it came whole in a chunk) waits for its handler's claim,
   * in order, so that the handler of each message takes its own.
   */
  #messageRead(read: Read): void {
    const hold: Hold = read.held === undefined ? NO_HOLD : { held: read.held };
    read.length = -1;
    read.received = 0;
    read.held = undefined;
    read.unclaimed.push(hold);
    read.answered = true;
    if (!read.streaming) {
      // One message: the call is followed no more, and its hold waits for its handler until it ends.
      read.state = 'done';
      read.stream.off('data', read.onData);
      return;
    }
    // grpc-js hands a stream's message to its handler within the microtasks after its read, unless
    // the handler's stream is paused (pipeline.ts): then the message's room goes back meanwhile, and
    // its handler counts it as it would without a read before (its hold stays in line, empty).
    if (hold.held !== undefined) setImmediate(() => this.#release(hold));
  }

  #wait(read: Read): void {
    if (!this.#waiting.includes(read)) {
      // A read paused for room may still receive a stream window (HTTP/2 lets a client send that
      // much unasked), held here uncounted: past the budget's worth of windows one is refused, else
      // 4 connections of 1,000 streams each took a node of max_memory 64 MiB from 128 to 431 MB.
      if ((this.#waiting.length + 1) * this.#windowBytes > this.#input.maxBytes) {
        const refused = this.#toRefuse(read);
        this.#end(refused, 'waiting');
        if (refused === read) return;
      }
      this.#waiting.push(read);
      this.#waitingOn.set(read.connection, (this.#waitingOn.get(read.connection) ?? 0) + 1);
    }
    read.state = 'waiting';
    read.pause();
    this.#askWake();
  }

  /**
   * Which read to refuse when `read` would wait past the bound: one of the connection with the most
   * reads waiting (with `read`), a new call before a stream that has had a message read (an SDK's
   * Pipeline stream: ended, every frame in flight on it would fail), the newest first. So a flood of
   * streams on a few connections is refused its own, and a client waiting with one stream beside it
   * keeps its place.
   */
  #toRefuse(read: Read): Read {
    const countOf = (r: Read) =>
      (this.#waitingOn.get(r.connection) ?? 0) + (r.connection === read.connection ? 1 : 0);
    let worst = read;
    let worstCount = countOf(read);
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const r = this.#waiting[i]!;
      const count = countOf(r);
      if (count > worstCount || (count === worstCount && worst.answered && !r.answered)) {
        worst = r;
        worstCount = count;
      }
    }
    return worst;
  }

  /** The connection with the most calls followed, and how many (the first of those tied). */
  #mostCrowded(): [object | undefined, number] {
    let most: object | undefined;
    let count = 0;
    for (const [connection, n] of this.#callsOn) {
      if (n > count) {
        most = connection;
        count = n;
      }
    }
    return [most, count];
  }

  /** The newest call followed of `connection`: a scan of every call, done only to make room. */
  #newestOf(connection: object | undefined): Read | undefined {
    let newest: Read | undefined;
    for (const read of this.#reads.values()) if (read.connection === connection) newest = read;
    return newest;
  }

  #leaveLine(read: Read): void {
    const at = this.#waiting.indexOf(read);
    if (at >= 0) this.#leaveLineAt(at);
  }

  #leaveLineAt(at: number): void {
    const read = this.#waiting[at]!;
    this.#waiting.splice(at, 1);
    const left = (this.#waitingOn.get(read.connection) ?? 1) - 1;
    if (left > 0) this.#waitingOn.set(read.connection, left);
    else this.#waitingOn.delete(read.connection);
  }

  #askWake(): void {
    if (this.#wakeAsked) return;
    this.#wakeAsked = true;
    this.#input.whenRoom(this.#wake);
  }

  /** Resumes waiting reads, oldest first, each whose length finds room (first fit). */
  readonly #wake = (): void => {
    this.#wakeAsked = false;
    // Once at a time: a stream resumed can read, and take and give back room, meanwhile.
    if (this.#waking) return;
    this.#waking = true;
    for (let admitted = true; admitted;) {
      admitted = false;
      for (let i = 0; i < this.#waiting.length;) {
        const read = this.#waiting[i]!;
        read.held = this.#input.tryTake(read.length);
        if (read.held === undefined) {
          i++;
          continue;
        }
        // A stalled read's bytes are its length's again.
        this.#unstall(read);
        this.#leaveLineAt(i);
        this.#flow(read);
        admitted = true;
      }
    }
    this.#waking = false;
    if (this.#waiting.length > 0) this.#askWake();
  };

  /** The read has its room: its stream flows again if grpc-js wants it to. */
  #flow(read: Read): void {
    read.state = 'reading';
    read.lastDataAt = this.#scheduler.now();
    if (read.flowWanted) read.resume();
    this.#startSweep();
  }

  #startSweep(): void {
    if (this.#sweep !== undefined || this.#closed) return;
    this.#sweep = this.#scheduler.setTimeout(() => {
      this.#sweep = undefined;
      if (this.#checkStalls()) this.#startSweep();
    }, this.#stallMs / 2);
  }

  #stopSweep(): void {
    if (this.#sweep === undefined) return;
    this.#scheduler.clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  /**
   * A read that holds its message's length and has received nothing for stallMs is paused, and what
   * it received moves out of the budget; a stalled read to which more has come since waits for room
   * again. Whether any
   * read still holds room in the middle of a message, or has stalled: the checks go on while one does.
   */
  #checkStalls(): boolean {
    const now = this.#scheduler.now();
    let watching = false;
    for (const read of this.#reads.values()) {
      if (read.state === 'stalled') {
        watching = true;
        if (read.flowWanted && read.stream.readableLength > 0) this.#wait(read);
        // Silent that long in the middle of a message, it is let go whatever room there is (as Redis
        // closes a client idle past its `timeout`): the client is gone, or never meant to finish.
        else if (read.stalledBytes > 0 && now - read.lastDataAt >= this.#stalledCallMs)
          this.#end(read, 'silent');
      } else if (read.state === 'reading' && read.held !== undefined) {
        watching = true;
        if (now - read.lastDataAt < this.#stallMs) continue;
        read.pause();
        read.state = 'stalled';
        // Silent because grpc-js holds its stream (its handler's stream is throttled: pipeline.ts),
        // it gives its room back all the same, else streams throttled for want of room could wait
        // on reads of their own; it received at most a chunk, and asks again when grpc-js resumes.
        if (read.flowWanted) {
          read.stalledBytes = read.received;
          this.#input.stalledBytes += read.received;
        }
        this.#release(read);
      }
    }
    // Stalled reads hold what they received outside the budget, up to the budget again: past it, the
    // oldest calls are ended (as Redis closes a client past its query buffer limit).
    for (const read of this.#reads.values()) {
      if (this.#input.stalledBytes <= this.#input.maxBytes) break;
      if (read.stalledBytes === 0) continue;
      this.#end(read, 'stalled');
    }
    // Now, not at the next answer: what the stalled reads gave back may be all the room there is.
    if (this.#waiting.length > 0) this.#wake();
    return watching;
  }

  /** Ends a read's call with RESOURCE_EXHAUSTED naming the limit it passed (EndCall). */
  #end(read: Read, why: EndedRead): void {
    this.#gone(read);
    // Closing already (its client reset it, grpc-js's deadline passed): nothing to end, or count.
    if (read.stream.closed) return;
    const refusal = this.#refusal(why);
    // A call answered nothing yet gets its status; one whose handler has had a message may have
    // answered, and is reset (its handler is told it was cancelled).
    if (read.endCall && !read.answered) read.endCall(refusal.message);
    else read.stream.close(http2.NGHTTP2_ENHANCE_YOUR_CALM);
    this.#onEnded?.(refusal);
  }

  #refusal(why: EndedRead): ReadRefusal {
    const budget = `limits.max_client_input_bytes, ${this.#input.maxBytes} bytes`;
    switch (why) {
      case 'waiting':
        return waitingRefusal(this.#input.maxBytes);
      case 'stalled':
        return {
          limit: 'max_client_input_bytes',
          message: `requests stopped in the middle hold more than ${budget}; the oldest is ended`,
          warning: 'calls ended: their clients stopped in the middle of a request',
        };
      case 'calls':
        return {
          limit: 'max_client_calls',
          message: `${this.#maxCalls} calls of clients are open on this node already (limits.max_client_calls); close some first`,
          warning: 'calls refused: too many open at once',
        };
      case 'silent':
        return {
          limit: 'idle_timeout_ms',
          message: `nothing more of this request came for limits.idle_timeout_ms, ${this.#stalledCallMs} ms`,
          warning: 'calls ended: their clients stopped in the middle of a request',
        };
    }
  }

  /** A stalled read's bytes leave ClientInputBudget.stalledBytes. */
  #unstall(read: Read): void {
    this.#input.stalledBytes -= read.stalledBytes;
    read.stalledBytes = 0;
  }

  /** Stops following a read: what its message in reading holds goes back, its stream flows as asked. */
  #unfollow(read: Read): void {
    const state = read.state;
    read.state = 'done';
    read.stream.off('data', read.onData);
    this.#leaveLine(read);
    this.#release(read);
    this.#unstall(read);
    if ((state === 'waiting' || state === 'stalled') && read.flowWanted) read.resume();
  }

  /** The call ended (answered, cancelled, or its connection gone): what its reads hold goes back. */
  #gone(read: Read): void {
    this.#unfollow(read);
    if (!this.#reads.delete(read.stream)) return;
    if (read.heldOpen) this.#streamsHeld--;
    const left = (this.#callsOn.get(read.connection) ?? 1) - 1;
    if (left > 0) this.#callsOn.set(read.connection, left);
    else this.#callsOn.delete(read.connection);
    for (const hold of read.unclaimed.splice(0)) this.#release(hold);
  }

  #release(hold: { held: number | undefined }): void {
    if (hold.held === undefined) return;
    const held = hold.held;
    hold.held = undefined;
    this.#input.release(held);
  }
}
