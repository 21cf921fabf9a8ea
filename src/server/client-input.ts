import type { Readable } from 'node:stream';
import { Code } from '../proto/messages';
import type { LimitRefusal } from './request-limits';

/** Bytes held for clients elsewhere in the node, which tells when they go (CopiesInFlight). */
export interface HeldElsewhere {
  readonly bytes: number;
  onSettle(listener: () => void): void;
}

/**
 * What one operation of a client's request holds of the node until it is answered, besides its
 * bytes as read: its key decoded as a string and its own state (its result, its promise), and for
 * a write the state of its round and its key in the copy sent to each other replica (the copies'
 * values are counted where they are sent: CopiesInFlight). A Pipeline stream whose frames in flight
 * hold an eighth of max_client_input_bytes with it is read no more until they are answered
 * (pipeline.ts): a client's heavy frames then run one at a time, and other clients' streams are
 * not held back by them. Measured on a node of max_memory 64 MiB, 40,000 deletes of absent 1 KB
 * keys sent at once on one stream in PipelinePacked frames of 2,000 (2 MB on the wire, about 12 MB
 * held each): read as their bytes found room in the budget, four at a time, they took the node's
 * RSS up by 69-82 MB and another client's calls waited up to 1.1-2.3 s; one at a time, by 33-43 MB,
 * and up to 0.38-0.53 s. An SDK frame (at most 256 operations) of small writes holds about 0.5 MB
 * by this count, and of gets about 35 KB.
 */
export function operationOverheadBytes(write: boolean, keyChars: number): number {
  return write ? WRITE_STATE_BYTES + keyChars * (1 + OTHER_REPLICAS) : READ_STATE_BYTES + keyChars;
}

/** A read's own state while it runs: its decoded operation, result and promise, about. */
const READ_STATE_BYTES = 128;
/** A write's: its round (replicas asked, answers counted, timers, promises), about, from a heap snapshot. */
const WRITE_STATE_BYTES = 2048;
/** The replicas a write is copied to besides this node, at the default replication factor of 3. */
const OTHER_REPLICAS = 2;

/**
 * limits.max_client_input_bytes: what a node holds of its clients' requests at once, from their
 * arrival until they are answered, as max_client_output_bytes bounds their replies. Each request
 * was within its own limits, but nothing bounded their sum: eight PipelinePacked streams of 1 MiB
 * sets, sixteen frames in flight each (128 MiB), took a node of max_memory 64 MiB to its most memory
 * pressure, and its memory guard evicted keys written before them with the store half empty.
 *
 * Counted: the values and keys of Set, CompareAndSet and SetMany calls, each unary write's round
 * (operationOverheadBytes), and each Pipeline frame's bytes, from the read until the answer. One
 * add and one subtract per request: no allocation. Past the budget the node stops reading its
 * clients' Pipeline streams (HTTP/2 flow control then stops their clients), refuses whole a frame
 * read meanwhile, and refuses a unary write: each RESOURCE_EXHAUSTED naming the limit. A refused
 * frame costs only its read; run, a 1 MiB set costs its copies to the replicas too. A request finds
 * room on a node that holds no other, however large; and an eighth more than the budget is kept for
 * small requests (at most a sixty-fourth of it each), taken when the budget itself has no room:
 * while a flood holds it, ordinary writes are still taken. Calls forwarded by a node, and the Peer
 * service, are not counted: their bytes count where their client sent them.
 *
 * The copies this node sends to other replicas as a coordinator count too, each until its replica
 * answers (CopiesInFlight): a write is answered at W, and its copies to slower replicas would
 * otherwise hold the node's memory with nothing to bound them.
 */
export class ClientInputBudget {
  /** Bytes of clients' requests held in the budget now (frames past it included). */
  bytes = 0;
  /** Bytes of small requests held in the eighth kept for them, when the budget had no room. */
  reservedBytes = 0;
  /** A unary request of at most this many bytes may take the reserve. */
  readonly smallRequestBytes: number;
  readonly #reserveBytes: number;
  /** Streams that stopped reading for this budget: each is told once the node is below it again. */
  readonly #waiting = new Set<() => void>();

  readonly #copies: HeldElsewhere | undefined;

  /** `copies`: the values sent to other replicas and not yet answered, counted in the budget. */
  constructor(
    readonly maxBytes: number,
    copies?: HeldElsewhere,
  ) {
    this.smallRequestBytes = Math.floor(maxBytes / 64);
    this.#reserveBytes = Math.floor(maxBytes / 8);
    this.#copies = copies;
    copies?.onSettle(() => this.#wake());
  }

  /**
   * Bytes received of messages whose clients stopped sending them (request-reads.ts): held, but
   * outside the budget, so that a client that stalls does not stop every stream from reading; they
   * are bounded apart (at most the budget again).
   */
  stalledBytes = 0;

  /** All the bytes held (ringcache_client_input_bytes), copies to replicas and stalled reads included. */
  get heldBytes(): number {
    return this.#held() + this.reservedBytes + this.stalledBytes;
  }

  /** Whether the node holds its budget: its clients' streams stop reading. */
  get full(): boolean {
    return this.#held() >= this.maxBytes;
  }

  /** The budget's bytes: requests and copies (the reserve apart). */
  #held(): number {
    return this.bytes + (this.#copies?.bytes ?? 0);
  }

  /**
   * Counts in a request of `bytes` if it has room: what to `release()` once it is answered
   * (negative when it took the reserve), or undefined when it has none (nothing counted).
   */
  tryTake(bytes: number): number | undefined {
    const held = this.#held();
    if (held === 0 || held + bytes <= this.maxBytes) {
      this.bytes += bytes;
      return bytes;
    }
    if (bytes > this.smallRequestBytes || this.reservedBytes + bytes > this.#reserveBytes) return undefined;
    this.reservedBytes += bytes;
    return -bytes;
  }

  /** Counts in `bytes` the node holds already, room or not: what to `release()` later. */
  take(bytes: number): number {
    this.bytes += bytes;
    return bytes;
  }

  /** Gives back what a request held (what take() counted, or tryTake() returned). */
  release(held: number): void {
    if (held < 0) {
      this.reservedBytes += held;
      return;
    }
    this.bytes -= held;
    this.#wake();
  }

  /** Resumes the streams waiting for room, once there is. */
  #wake(): void {
    if (this.#waiting.size === 0 || this.full) return;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const resume of waiting) resume();
  }

  /** Calls `resume` once the node is below its budget again (once; a stream that stops again asks again). */
  whenRoom(resume: () => void): void {
    this.#waiting.add(resume);
  }

  /** A stream that ended waits no more. */
  forget(resume: () => void): void {
    this.#waiting.delete(resume);
  }

  /** The refusal of a request past the budget: `what` is the call refused ('Set', 'SetMany'). */
  refusal(what: string, heldBytes = this.heldBytes): LimitRefusal {
    return {
      limit: 'max_client_input_bytes',
      code: Code.RESOURCE_EXHAUSTED,
      message:
        `${what} refused: this node holds ${heldBytes} bytes of requests from its clients; ` +
        `limits.max_client_input_bytes is ${this.maxBytes}. Try again shortly, or send less at once`,
      warning: 'requests refused: the node holds too much from its clients',
    };
  }
}

/**
 * Stops a server stream from reading more messages while `hold()` lasts. Pausing the stream only
 * stops its 'data' events: grpc-js still reads up to sixteen messages into its buffer (its
 * highWaterMark), so a paused stream of 1 MiB frames could still take 16 MiB. grpc-js reads the next
 * message only when the stream's `_read` asks for it; held, that request waits for `release()`,
 * and the client's bytes stay on its side of HTTP/2 flow control.
 */
export class ReadGate {
  #held = false;
  #wanted = false;
  readonly #read: (size: number) => void;

  constructor(readonly stream: Readable) {
    const read = stream._read.bind(stream);
    this.#read = read;
    stream._read = (size: number) => {
      if (this.#held) this.#wanted = true;
      else read(size);
    };
  }

  hold(): void {
    this.#held = true;
  }

  release(): void {
    this.#held = false;
    if (!this.#wanted) return;
    this.#wanted = false;
    this.#read(this.stream.readableHighWaterMark);
  }
}
