import type * as grpc from '@grpc/grpc-js';
import { Code, METADATA } from '../proto/messages';

/**
 * Many small requests, one long-lived bidi stream. Items queued within one turn of the event loop go out
 * as one frame (flushed on setImmediate, or at once when a frame is full), and each reply frame resolves
 * the items it answers. This is the data path of the SDK (Cache.Pipeline) and of node-to-node replication
 * (Peer.Replicate): one unary grpc-js call costs ~150 µs of client CPU, a frame of 64 items ~1.6 µs each.
 *
 * Failures never reject: every item resolves with a result whose `code` says what happened
 * (UNAVAILABLE when the stream broke, DEADLINE_EXCEEDED when the frame's deadline passed), because
 * callers handle per-item codes anyway and a rejected promise per item would cost more.
 */
export interface FrameCodec<Item, Result, ReqFrame, ResFrame> {
  /**
   * Builds a request frame from queued items; `deadlineMs` is the earliest deadline among them,
   * `itemBytes` what itemBytes adds up to over them (0 without it).
   */
  encode(items: Item[], frameId: number, deadlineMs: number, itemBytes: number): ReqFrame;
  /** The frame id a reply answers. */
  frameIdOf(reply: ResFrame): number;
  /**
   * Results of a reply, one per item in the request's order; with `isPart`, those of one part, the
   * parts in order. `itemCount`: the items still unanswered; `items`: the frame's items, of which
   * those from index `from` on are the ones this reply answers.
   */
  decode(reply: ResFrame, itemCount: number, items: readonly Item[], from: number): Result[];
  /**
   * Whether the reply is one part of its frame's answer with more to come: a node splits the results
   * of a frame whose values are large over several messages, so that none nears gRPC's message limit.
   */
  isPart?(reply: ResFrame): boolean;
  /** About how many bytes the item adds to a frame (its key's and value's): frames stop at maxFrameBytes. */
  itemBytes?(item: Item): number;
  /** The result standing for a failure of the whole frame. */
  failure(code: number, message: string): Result;
  /**
   * Called for every reply, before its items resolve (e.g. to read the epoch). `sentAtMs`: when the
   * frame it answers was sent (on the stream's clock), undefined when that frame is no longer awaited.
   */
  onReply?(reply: ResFrame, sentAtMs: number | undefined): void;
}

/** Time for deadlines and budgets: Date.now and Node's timers, or a test's virtual clock. */
export interface StreamClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Date.now, and timers that do not keep the process up by themselves (the calls they time do). */
export const REAL_TIME: StreamClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface BatchedStreamOptions {
  /** Most items per frame; a full queue flushes at once. Default 256. */
  maxItemsPerFrame?: number;
  /**
   * Most frames awaiting their reply; items sent meanwhile wait and go out together when a reply
   * comes back (as ioredis' auto-pipelining keeps one batch in flight). Under load this grows frames
   * by itself instead of sending many small ones, each of which costs grpc-js tens of microseconds;
   * under light load nothing waits. Default: no limit.
   */
  maxFramesInFlight?: number;
  /**
   * Most bytes of items (codec.itemBytes) per frame; an item larger than that goes alone. A frame is
   * one gRPC message, and 80 sets of 1 MiB made one frame past gRPC's 64 MiB limit. Default: none.
   */
  maxFrameBytes?: number;
  /** A short name for messages: "node n2 (127.0.0.1:7402)". */
  peerName: string;
  /** Called with each answered frame's round trip in ms (send to reply). */
  onRoundTrip?: (ms: number) => void;
  /**
   * How long a frame may stay unanswered once sent, in ms, before its callers are told the node is
   * slow: past it each item sent with an `onStall` has it called (its caller may ask another node
   * too), while the frame stays in flight until its deadline, so a reply that comes late still
   * answers its items (and it holds its place in the window). Items queued behind it are told too. Counted
   * from the send, never while items wait in the queue for the window (a burst of calls must not be
   * taken for a stall because it is large). Default: none.
   */
  flightBudgetMs?: (frameBytes: number) => number;
  /**
   * When a frame's deadline passes with no reply on its stream since it was sent, later frames go on
   * a new stream. The frames still awaited on the old one keep it open until they settle (a late
   * reply still answers them), then it is cancelled. For a stream that can go silent while its
   * connection answers, and whose frames are independent probes (gossip): each unanswered call used
   * to be one stream of its own. Default false.
   */
  retireSilentStreams?: boolean;
  /** Where deadlines and budgets are read and timed. Default: Date.now and Node's timers. */
  clock?: StreamClock;
}

/** Called once when the frame carrying an item outlives its flight budget (see flightBudgetMs). */
export type OnStall = () => void;

interface PendingFrame<Item, Result> {
  /** What was sent, for decode: a reply may be read against what each item asked. */
  items: readonly Item[];
  resolvers: ((r: Result) => void)[];
  /** Each item's OnStall, when it was sent with one. */
  onStall: (OnStall | undefined)[];
  /** Whether its budget has passed (OnStall called): its timer now waits for its deadline. */
  stalled: boolean;
  /** Items answered by the reply's parts so far. */
  answered: number;
  timer: unknown;
  sentAtMs: number;
  /**
   * Its flight budget in ms (flightBudgetMs), restarted by each part of the reply that arrives;
   * undefined when none of its items was sent with an OnStall (nobody to tell).
   */
  budgetMs: number | undefined;
  deadlineMs: number;
  /** The stream it went out on, and how many replies that stream had brought by then. */
  carrier: Carrier<unknown, unknown>;
  repliesAtSend: number;
}

type OpenStream<ReqFrame, ResFrame> = () => grpc.ClientDuplexStream<ReqFrame, ResFrame>;

/** A stream frames go out on. */
interface Carrier<ReqFrame, ResFrame> {
  call: grpc.ClientDuplexStream<ReqFrame, ResFrame>;
  /** Replies it brought: a frame that outlived its deadline with none since it was sent found it silent. */
  replies: number;
  /** Frames sent on it and still awaited. */
  frames: number;
  /** Taken for silent (retireSilentStreams): no new frame goes on it, and it is cancelled once it carries none. */
  retired: boolean;
}

export class BatchedStream<Item, Result, ReqFrame, ResFrame> {
  readonly #open: OpenStream<ReqFrame, ResFrame>;
  readonly #codec: FrameCodec<Item, Result, ReqFrame, ResFrame>;
  readonly #maxItems: number;
  readonly #maxFrames: number;
  readonly #maxFrameBytes: number;
  readonly #peerName: string;
  readonly #onRoundTrip: ((ms: number) => void) | undefined;
  readonly #flightBudgetMs: ((frameBytes: number) => number) | undefined;
  readonly #retireSilent: boolean;
  readonly #clock: StreamClock;
  #stream: Carrier<ReqFrame, ResFrame> | undefined;
  #queue: Item[] = [];
  #queueResolvers: ((r: Result) => void)[] = [];
  #queueDeadlines: number[] = [];
  /** Each queued item's OnStall (see send); undefined for a patient one. */
  #queueOnStall: (OnStall | undefined)[] = [];
  /** Armed while items wait behind a full window: they must not outlive their own deadlines. */
  #queueTimer: unknown;
  #flushScheduled = false;
  #nextFrameId = 1;
  /** What codec.itemBytes added up to over the items #frameLength last took. */
  #frameBytes = 0;
  readonly #inFlight = new Map<number, PendingFrame<Item, Result>>();
  #closed = false;

  constructor(
    open: OpenStream<ReqFrame, ResFrame>,
    codec: FrameCodec<Item, Result, ReqFrame, ResFrame>,
    opts: BatchedStreamOptions,
  ) {
    this.#open = open;
    this.#codec = codec;
    this.#maxItems = opts.maxItemsPerFrame ?? 256;
    this.#maxFrames = opts.maxFramesInFlight ?? Infinity;
    this.#maxFrameBytes = opts.maxFrameBytes ?? Infinity;
    this.#peerName = opts.peerName;
    this.#onRoundTrip = opts.onRoundTrip;
    this.#flightBudgetMs = opts.flightBudgetMs;
    this.#retireSilent = opts.retireSilentStreams ?? false;
    this.#clock = opts.clock ?? REAL_TIME;
  }

  /** Items waiting or in flight: for load-aware routing and tests. */
  get pending(): number {
    let n = this.#queue.length;
    for (const f of this.#inFlight.values()) n += f.resolvers.length - f.answered;
    return n;
  }

  /**
   * Queues one item; resolves with its result by `deadlineMs` (absolute, on the stream's clock:
   * Date.now() by default) at the latest. `onStall` is called once if the frame carrying the item outlives its flight budget (the
   * item still resolves with the reply when it comes, or at its deadline). A frame whose items all
   * came without one has no budget: nobody would be told.
   */
  send(item: Item, deadlineMs: number, onStall?: OnStall): Promise<Result> {
    if (this.#closed) {
      return Promise.resolve(
        this.#codec.failure(Code.UNAVAILABLE, `connection to ${this.#peerName} is closed`),
      );
    }
    return new Promise<Result>((resolve) => {
      this.#queue.push(item);
      this.#queueResolvers.push(resolve);
      this.#queueDeadlines.push(deadlineMs);
      this.#queueOnStall.push(onStall);
      if (this.#queue.length >= this.#maxItems && this.#windowOpen()) this.#flush();
      else this.#scheduleFlush();
    });
  }

  /** Fails everything pending and ends the stream. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(Code.UNAVAILABLE, `connection to ${this.#peerName} closed`);
    this.#stream?.call.cancel();
    this.#stream = undefined;
  }

  /** Whether another frame may go out: fewer than maxFramesInFlight await their reply. */
  #windowOpen(): boolean {
    return this.#inFlight.size < this.#maxFrames;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled || this.#queue.length === 0) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    while (this.#queue.length > 0 && this.#windowOpen()) {
      const items = this.#queue.splice(0, this.#frameLength());
      const bytes = this.#frameBytes;
      const resolvers = this.#queueResolvers.splice(0, items.length);
      const deadlines = this.#queueDeadlines.splice(0, items.length);
      const onStall = this.#queueOnStall.splice(0, items.length);
      let earliest = Infinity;
      for (const d of deadlines) if (d < earliest) earliest = d;
      this.#sendFrame(items, bytes, resolvers, onStall, earliest);
    }
    this.#armQueueTimer();
  }

  /**
   * How many of the queued items the next frame takes: at most maxItems, and maxFrameBytes of them.
   * What codec.itemBytes adds up to over them is left in #frameBytes (0 without it).
   */
  #frameLength(): number {
    const n = Math.min(this.#queue.length, this.#maxItems);
    const codec = this.#codec;
    this.#frameBytes = 0;
    if (!codec.itemBytes) return n;
    let bytes = codec.itemBytes(this.#queue[0]!);
    for (let i = 1; i < n; i++) {
      const more = codec.itemBytes(this.#queue[i]!);
      if (bytes + more > this.#maxFrameBytes) {
        this.#frameBytes = bytes;
        return i;
      }
      bytes += more;
    }
    this.#frameBytes = bytes;
    return n;
  }

  /** Items still queued (the window is full) get a timer for the earliest of their deadlines. */
  #armQueueTimer(): void {
    this.#clock.clearTimeout(this.#queueTimer);
    this.#queueTimer = undefined;
    if (this.#queue.length === 0) return;
    let earliest = Infinity;
    for (const d of this.#queueDeadlines) if (d < earliest) earliest = d;
    if (!Number.isFinite(earliest)) return;
    this.#queueTimer = this.#clock.setTimeout(
      () => this.#expireQueued(),
      Math.max(0, earliest - this.#clock.now()),
    );
  }

  #expireQueued(): void {
    const now = this.#clock.now();
    const expired = this.#takeQueued((i) => this.#queueDeadlines[i]! <= now);
    const failure = this.#codec.failure(
      Code.DEADLINE_EXCEEDED,
      `${this.#peerName} was busy until the deadline; the call was never sent`,
    );
    for (const resolve of expired) resolve(failure);
    this.#armQueueTimer();
  }

  #sendFrame(
    items: Item[],
    itemBytes: number,
    resolvers: ((r: Result) => void)[],
    onStall: (OnStall | undefined)[],
    deadlineMs: number,
  ): void {
    const frameId = this.#nextFrameId;
    this.#nextFrameId = this.#nextFrameId >= 0x7fffffff ? 1 : this.#nextFrameId + 1;
    let encoded: ReqFrame;
    try {
      // The node is told the items' own deadline: the budget below is this side's patience only.
      encoded = this.#codec.encode(items, frameId, deadlineMs, itemBytes);
    } catch (err) {
      const failure = this.#codec.failure(
        Code.INTERNAL,
        `could not encode a frame for ${this.#peerName}: ${String(err)}`,
      );
      for (const resolve of resolvers) resolve(failure);
      return;
    }
    const nowMs = this.#clock.now();
    const bytes = encoded instanceof Uint8Array ? encoded.length : 0;
    const carrier = this.#ensureStream();
    carrier.frames++;
    const frame: PendingFrame<Item, Result> = {
      items,
      resolvers,
      onStall,
      stalled: false,
      answered: 0,
      timer: undefined,
      sentAtMs: nowMs,
      budgetMs: onStall.some(Boolean) ? this.#flightBudgetMs?.(bytes) : undefined,
      deadlineMs,
      carrier: carrier as Carrier<unknown, unknown>,
      repliesAtSend: carrier.replies,
    };
    this.#arm(frameId, frame, nowMs);
    this.#inFlight.set(frameId, frame);
    carrier.call.write(encoded);
  }

  /** One timer per frame, not per item: the frame's deadline is its earliest item's (or its budget). */
  #arm(frameId: number, frame: PendingFrame<Item, Result>, nowMs: number): void {
    const budgetMs = frame.budgetMs;
    const byBudget = budgetMs !== undefined && !frame.stalled && nowMs + budgetMs < frame.deadlineMs;
    const waitMs = Math.max(0, (byBudget ? nowMs + budgetMs : frame.deadlineMs) - nowMs);
    if (!Number.isFinite(waitMs)) return;
    frame.timer = this.#clock.setTimeout(
      () => (byBudget ? this.#stalled(frameId) : this.#expire(frameId)),
      waitMs,
    );
  }

  #ensureStream(): Carrier<ReqFrame, ResFrame> {
    if (this.#stream) return this.#stream;
    const stream = this.#open();
    const carrier: Carrier<ReqFrame, ResFrame> = { call: stream, replies: 0, frames: 0, retired: false };
    this.#stream = carrier;
    stream.on('data', (reply: ResFrame) => {
      carrier.replies++;
      this.#onReply(reply);
    });
    // A broken stream fails what it carried; the next send opens a new one.
    const onBroken = (code: number, message: string) => {
      if (this.#stream === carrier) this.#stream = undefined;
      this.#failCarried(carrier, code, message);
    };
    stream.on('error', (err: grpc.ServiceError) => {
      const errCode: number = err.code;
      // A node that says its refusal means "not reachable for you" (a connection past its
      // max_connections, answered RESOURCE_EXHAUSTED for other gRPC clients' sake) applied nothing:
      // its items may go to another replica, as when the connection fails.
      const unreachable = err.metadata?.get(METADATA.errorCode)[0] === 'UNAVAILABLE';
      const code = errCode === Code.CANCELLED || unreachable ? Code.UNAVAILABLE : errCode;
      onBroken(
        code === Code.OK ? Code.UNAVAILABLE : code,
        `${this.#peerName}: ${err.details || err.message}`,
      );
    });
    stream.on('end', () => onBroken(Code.UNAVAILABLE, `${this.#peerName} ended the stream`));
    return carrier;
  }

  /** A frame is no longer awaited: a retired stream that carries none any more is cancelled. */
  #release(frame: PendingFrame<Item, Result>): void {
    const carrier = frame.carrier;
    carrier.frames--;
    if (carrier.retired && carrier.frames === 0) carrier.call.cancel();
  }

  /**
   * `frame` outlived its deadline with no reply on its stream since it was sent (retireSilentStreams):
   * unless a reply already waiting on the socket comes in this turn, later frames take a new stream.
   */
  #retireIfSilent(frame: PendingFrame<Item, Result>): void {
    const carrier = frame.carrier;
    if (carrier !== this.#stream || carrier.replies !== frame.repliesAtSend) return;
    setImmediate(() => {
      if (carrier !== this.#stream || carrier.replies !== frame.repliesAtSend) return;
      this.#stream = undefined;
      carrier.retired = true;
      if (carrier.frames === 0) carrier.call.cancel();
    });
  }

  #onReply(reply: ResFrame): void {
    const frameId = this.#codec.frameIdOf(reply);
    const frame = this.#inFlight.get(frameId);
    this.#codec.onReply?.(reply, frame?.sentAtMs);
    if (!frame) return; // answered after its deadline, or the stream broke: its callers have their answer
    if (frame.timer) this.#clock.clearTimeout(frame.timer);
    const from = frame.answered;
    const results = this.#codec.decode(reply, frame.resolvers.length - from, frame.items, from);
    if (this.#codec.isPart?.(reply) && from + results.length < frame.resolvers.length) {
      // More parts to come: these items are answered, the rest wait, and the node is not stalled.
      frame.answered += results.length;
      for (let i = 0; i < results.length; i++) frame.resolvers[from + i]!(results[i] as Result);
      this.#arm(frameId, frame, this.#clock.now());
      return;
    }
    this.#inFlight.delete(frameId);
    this.#release(frame);
    this.#onRoundTrip?.(this.#clock.now() - frame.sentAtMs);
    // Callers answered below usually send again at once: flush on the next turn so those join.
    this.#scheduleFlush();
    for (let i = from; i < frame.resolvers.length; i++) {
      // By index, not `??`: undefined is a result of its own for some codecs (a replica write held).
      const result =
        i - from < results.length
          ? (results[i - from] as Result)
          : this.#codec.failure(Code.INTERNAL, `${this.#peerName} sent a short reply frame`);
      frame.resolvers[i]!(result);
    }
  }

  #expire(frameId: number): void {
    const frame = this.#inFlight.get(frameId);
    if (frame && this.#retireSilent) this.#retireIfSilent(frame);
    this.#settle(
      frameId,
      this.#codec.failure(Code.DEADLINE_EXCEEDED, `${this.#peerName} did not answer before the deadline`),
    );
  }

  /**
   * A frame unanswered past its flight budget: its callers are told (each may ask another node too)
   * and it waits on for its deadline, since a late reply is as good as any. So are the callers of
   * items queued behind it, which stay queued: the window is this node's flow control, and when every
   * node is slow (large values, a starved machine) sending more at once only slows them all.
   */
  #stalled(frameId: number): void {
    const frame = this.#inFlight.get(frameId);
    if (!frame) return;
    frame.stalled = true;
    this.#arm(frameId, frame, this.#clock.now());
    for (let i = frame.answered; i < frame.onStall.length; i++) frame.onStall[i]?.();
    const queued = this.#queueOnStall;
    for (let i = 0; i < queued.length; i++) {
      const onStall = queued[i];
      if (!onStall) continue;
      queued[i] = undefined; // told once
      onStall();
    }
  }

  /** Removes the queued items that `which` picks (by index); their resolvers, in queue order. */
  #takeQueued(which: (index: number) => boolean): ((r: Result) => void)[] {
    const taken: ((r: Result) => void)[] = [];
    let kept = 0;
    for (let i = 0; i < this.#queue.length; i++) {
      if (which(i)) {
        taken.push(this.#queueResolvers[i]!);
        continue;
      }
      this.#queue[kept] = this.#queue[i]!;
      this.#queueResolvers[kept] = this.#queueResolvers[i]!;
      this.#queueDeadlines[kept] = this.#queueDeadlines[i]!;
      this.#queueOnStall[kept] = this.#queueOnStall[i];
      kept++;
    }
    this.#queue.length = kept;
    this.#queueResolvers.length = kept;
    this.#queueDeadlines.length = kept;
    this.#queueOnStall.length = kept;
    return taken;
  }

  #settle(frameId: number, result: Result): void {
    const frame = this.#inFlight.get(frameId);
    if (!frame) return;
    this.#inFlight.delete(frameId);
    this.#release(frame);
    if (frame.timer) this.#clock.clearTimeout(frame.timer);
    this.#scheduleFlush();
    for (let i = frame.answered; i < frame.resolvers.length; i++) frame.resolvers[i]!(result);
  }

  /** Fails the frames `carrier` carried (it broke). */
  #failCarried(carrier: Carrier<ReqFrame, ResFrame>, code: number, message: string): void {
    for (const [frameId, frame] of [...this.#inFlight])
      if (frame.carrier === carrier) this.#settle(frameId, this.#codec.failure(code, message));
  }

  #failAll(code: number, message: string): void {
    for (const frameId of [...this.#inFlight.keys()])
      this.#settle(frameId, this.#codec.failure(code, message));
    if (this.#closed) {
      this.#clock.clearTimeout(this.#queueTimer);
      for (const resolve of this.#takeQueued(() => true)) resolve(this.#codec.failure(code, message));
    }
  }
}
