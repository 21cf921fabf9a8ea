import { realScheduler } from '../cluster/membership/scheduler';
import type { Scheduler } from '../cluster/membership/types';
import type { ClientInputBudget } from './client-input';

/** What UnaryRequestReads needs of a call's HTTP/2 stream (a ServerHttp2Stream). */
export interface ReadableCallStream {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
  pause(): unknown;
  resume(): unknown;
}

/** gRPC's prefix of a message: a compression flag and its length, 4 bytes big-endian. */
const MESSAGE_PREFIX_BYTES = 5;

interface Read {
  readonly stream: ReadableCallStream;
  /** Prefix and message, once the prefix is read; -1 until then. */
  length: number;
  /** The prefix as read so far, while it comes in pieces. */
  prefix: Buffer | undefined;
  received: number;
  /** What it holds in the budget (ClientInputBudget.tryTake's answer), or undefined for nothing. */
  held: number | undefined;
  /** 'reading': its stream flows; 'waiting': paused for room; 'read': whole, its bytes to be claimed. */
  state: 'prefix' | 'reading' | 'waiting' | 'read' | 'gone';
  lastDataAt: number;
  readonly onData: (chunk: Buffer) => void;
}

/**
 * Clients' unary requests to the Cache service while they are read, in max_client_input_bytes.
 * grpc-js reads a unary call's message whole before any handler sees it, so the budget counted a
 * Set only once it was read: one client's 500 concurrent Sets of 1 MiB on one connection were all
 * read at once, and took a node of max_memory 64 MiB from 124 to 722 MB of RSS before each was
 * refused. Here a request's length, on its gRPC prefix, is taken in the budget as soon as its first
 * bytes arrive; when it has no room the call's stream is paused (HTTP/2 flow control keeps the rest
 * on the client's side, at most a stream window here) and resumed, first come first served, once
 * the node has room. A request whose bytes come whole with its prefix is not held back: what it
 * holds is read already, and its handler counts it as before.
 *
 * The handler takes over the bytes of the request it runs (`claim`), so that a read admitted is not
 * refused for the room its own read took; a request no handler claims (a GetMany's keys) holds its
 * bytes until its call ends. A read that receives nothing for `stallMs` while
 * others wait is paused and holds only what it received, so that a client cannot hold the budget
 * with lengths it never sends.
 */
export class UnaryRequestReads {
  readonly #input: ClientInputBudget;
  readonly #stallMs: number;
  readonly #scheduler: Scheduler;
  readonly #reads = new Map<ReadableCallStream, Read>();
  /** Reads paused for room, oldest first. */
  readonly #waiting: Read[] = [];
  /** The next stall check, while reads wait. */
  #sweep: unknown;
  #wakeAsked = false;
  #closed = false;

  /** `scheduler`: default realScheduler (unref'd timers); tests give one they move by hand. */
  constructor(input: ClientInputBudget, opts: { stallMs?: number; scheduler?: Scheduler } = {}) {
    this.#input = input;
    this.#stallMs = opts.stallMs ?? 1000;
    this.#scheduler = opts.scheduler ?? realScheduler;
  }

  /** Reads paused for room now (a gauge, and tests). */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Follows the reading of a client's unary call on `stream`, before its stream flows. */
  watch(stream: ReadableCallStream): void {
    if (this.#closed || this.#reads.has(stream)) return;
    const read: Read = {
      stream,
      length: -1,
      prefix: undefined,
      received: 0,
      held: undefined,
      state: 'prefix',
      lastDataAt: this.#scheduler.now(),
      onData: (chunk) => this.#onData(read, chunk),
    };
    this.#reads.set(stream, read);
    stream.on('data', read.onData);
    stream.on('close', () => this.#gone(read));
  }

  /**
   * The budget's hold on the request read on `stream`, handed to its handler, which then gives it
   * back (ClientInputBudget.release) once the request is answered; undefined when the read held none.
   */
  claim(stream: ReadableCallStream | undefined): number | undefined {
    const read = stream && this.#reads.get(stream);
    if (!read || read.state !== 'read' || read.held === undefined) return undefined;
    const held = read.held;
    read.held = undefined;
    return held;
  }

  /** Stops the stall checks; reads are no longer followed. */
  close(): void {
    this.#closed = true;
    this.#stopSweep();
  }

  #onData(read: Read, chunk: Buffer): void {
    read.received += chunk.length;
    read.lastDataAt = this.#scheduler.now();
    if (read.state === 'prefix') {
      const prefix = read.prefix ? Buffer.concat([read.prefix, chunk]) : chunk;
      if (prefix.length < MESSAGE_PREFIX_BYTES) {
        read.prefix = Buffer.from(prefix);
        return;
      }
      read.prefix = undefined;
      read.length = MESSAGE_PREFIX_BYTES + prefix.readUInt32BE(1);
      if (read.received >= read.length) return this.#read(read);
      read.held = this.#input.tryTake(read.length);
      if (read.held !== undefined) read.state = 'reading';
      else this.#wait(read);
      return;
    }
    if (read.received >= read.length) this.#read(read);
  }

  /** The message is whole: what it holds waits for its handler's claim, or for the call's end. */
  #read(read: Read): void {
    read.state = 'read';
    read.stream.off('data', read.onData);
  }

  #wait(read: Read): void {
    read.state = 'waiting';
    read.stream.pause();
    this.#waiting.push(read);
    this.#askWake();
    this.#startSweep();
  }

  #startSweep(): void {
    if (this.#sweep !== undefined || this.#closed) return;
    this.#sweep = this.#scheduler.setTimeout(() => {
      this.#sweep = undefined;
      this.#pauseStalled();
      if (this.#waiting.length > 0) this.#startSweep();
    }, this.#stallMs / 2);
  }

  #stopSweep(): void {
    if (this.#sweep === undefined) return;
    this.#scheduler.clearTimeout(this.#sweep);
    this.#sweep = undefined;
  }

  #askWake(): void {
    if (this.#wakeAsked) return;
    this.#wakeAsked = true;
    this.#input.whenRoom(this.#wake);
  }

  /**
   * Resumes waiting reads, oldest first, each whose length finds room: first fit, so that a read
   * that stalled, holding what it received, is not kept waiting behind one that needs that room.
   */
  readonly #wake = (): void => {
    this.#wakeAsked = false;
    for (let i = 0; i < this.#waiting.length;) {
      const read = this.#waiting[i]!;
      // A stalled read holds what it received while it waits, and its length once it reads again.
      const received = read.held;
      if (received !== undefined) this.#input.release(received);
      read.held = this.#input.tryTake(read.length);
      if (read.held === undefined) {
        if (received !== undefined) read.held = this.#input.take(read.received);
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      read.state = 'reading';
      read.lastDataAt = this.#scheduler.now();
      read.stream.resume();
    }
    if (this.#waiting.length > 0) this.#askWake();
    else this.#stopSweep();
  };

  /**
   * While reads wait for room, one that has received nothing for stallMs gives its room back and
   * waits too, holding what it received.
   */
  #pauseStalled(): void {
    const now = this.#scheduler.now();
    for (const read of this.#reads.values()) {
      if (read.state !== 'reading' || now - read.lastDataAt < this.#stallMs) continue;
      read.stream.pause();
      const held = read.held;
      read.held = this.#input.take(read.received);
      if (held !== undefined) this.#input.release(held);
      read.state = 'waiting';
      this.#waiting.push(read);
    }
    this.#askWake();
  }

  /** The call ended (answered, cancelled, or its connection gone): what its read holds goes back. */
  #gone(read: Read): void {
    read.state = 'gone';
    this.#reads.delete(read.stream);
    const at = this.#waiting.indexOf(read);
    if (at >= 0) this.#waiting.splice(at, 1);
    this.#release(read);
  }

  #release(read: Read): void {
    if (read.held === undefined) return;
    const held = read.held;
    read.held = undefined;
    this.#input.release(held);
  }
}
