import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../proto/load';
import {
  CLOCK_METADATA,
  deserializePackedFrame,
  isReplyPart,
  OpCode,
  PROBE_OP,
  PACKED_PART_BYTES,
  packFrame,
  refusedFrameResults,
  replyFrameIdOf,
  serializePackedFrame,
  trailingNumberOf,
  unpackFrame,
  type PackedOp,
  type PackedResult,
  valueBytesOf,
} from '../proto/packed';
import { Code } from '../proto/messages';
import { BatchedStream, type OnStall } from './batched-stream';
import { channelCredentials, withTls, type TlsOptions } from './tls';
import { withUserToken } from './user-token';
import { LatencyWindow } from './latency-window';
import { NodeClock } from './node-clock';
import { CHANNEL_OPTIONS } from './pipeline-connection';
import { streamErrorName } from './wire-version';

export interface PackedConnectionOptions {
  address: string;
  /** For messages: "node n2 (127.0.0.1:7402)". */
  peerName?: string;
  maxOpsPerFrame?: number;
  /** See BatchedStreamOptions.maxFramesInFlight. */
  maxFramesInFlight?: number;
  /** Called with the answering node's epoch on every reply frame. */
  onEpoch?: (epoch: number) => void;
  /** A sent frame's budget from the recent round trips' p99 (see BatchedStreamOptions.flightBudgetMs). */
  flightBudgetMs?: (p99Ms: number | undefined, frameBytes: number) => number;
  /** TLS to the node; plaintext when unset. */
  tls?: TlsOptions;
  /** A user's token (cluster.yml `auth`), sent with the stream when set. */
  userToken?: string;
}

const METHOD = '/ringcache.v1.Cache/PipelinePacked';

/**
 * The SDK's connection to one node: a Cache.PipelinePacked stream whose frames are msgpack arrays
 * (src/proto/packed.ts). Operations sent in one event-loop turn share a frame; each resolves with its
 * packed result (`result[0]` is the status code); never rejects.
 */
export class PackedConnection {
  readonly address: string;
  readonly #client: grpc.Client;
  readonly #stream: BatchedStream<PackedOp, PackedResult, Buffer, unknown[]>;
  /** Frames sent: lets tests check that batching really merges calls. */
  framesSent = 0;
  /** Round trips of recent frames: the router's per-attempt budgets come from them. */
  readonly latency = new LatencyWindow();
  /** The node's clock against this process's: turns a call's deadline into the node's notAfter. */
  readonly #clock = new NodeClock();
  /**
   * Whether the node has answered a frame on this connection: from then on its clock is known, or
   * known to be unreported (a node too old to report it, whose frames carry no notAfter).
   */
  #answered = false;
  /** Writes held until the node first answers (see send), and whether a probe for that is out. */
  readonly #held: HeldWrite[] = [];
  #probing = false;
  readonly #peerName: string;

  constructor(opts: PackedConnectionOptions) {
    this.address = opts.address;
    this.#peerName = opts.peerName ?? opts.address;
    const { Cache } = loadServices();
    this.#client = new Cache(
      opts.address,
      channelCredentials(opts.tls),
      withTls(withUserToken(CHANNEL_OPTIONS, opts.userToken), opts.tls),
    );
    const onEpoch = opts.onEpoch;
    const clock = this.#clock;
    const metadata = new grpc.Metadata();
    metadata.set(CLOCK_METADATA, '1');
    // Replies are unpacked once, while being deserialized; the codec below then only indexes arrays.
    const deserialize = (buf: Buffer): unknown[] => unpackFrame(deserializePackedFrame(buf));
    this.#stream = new BatchedStream(
      () => {
        // A new stream may reach a new process (the node restarted, its clock maybe set right since):
        // what was learnt of the old one's clock is forgotten, and writes wait for the new one's.
        this.#answered = false;
        clock.reset();
        return this.#client.makeBidiStreamRequest<Buffer, unknown[]>(
          METHOD,
          serializePackedFrame,
          deserialize,
          metadata.clone(),
        );
      },
      {
        encode: (items, frameId, deadlineMs, bytes) => {
          this.framesSent++;
          // The node keeps replication and forwarding within what is left of the earliest deadline.
          const timeoutMs = Number.isFinite(deadlineMs) ? Math.max(1, deadlineMs - Date.now()) : 0;
          return packFrame(frameId, timeoutMs, items, notAfterMs(clock, deadlineMs), bytes);
        },
        // A reply in parts names its frame negated in all but the last (packReply).
        frameIdOf: replyFrameIdOf,
        isPart: isReplyPart,
        // Keys count too: a node refuses a message past its max_request_bytes, which leaves room for
        // one frame of this many bytes of keys and values and the operation that passed it.
        itemBytes: (op: PackedOp) => valueBytesOf(op) + op[1].length,
        // A frame refused whole by a node's limit is answered by one failure, for each of its calls.
        decode: (reply, itemCount) =>
          refusedFrameResults(reply, itemCount) ??
          (reply.slice(2, trailingNumberOf(reply) === undefined ? undefined : -1) as PackedResult[]),
        // FAILED_PRECONDITION for a whole stream is only ever a wire version refusal (wire-version.ts).
        failure: (code, message) => [code, message, streamErrorName(code) ?? ''],
        onReply: (reply, sentAtMs) => {
          this.#answered = true;
          const nodeClockMs = trailingNumberOf(reply);
          if (nodeClockMs !== undefined && sentAtMs !== undefined)
            clock.record(sentAtMs, Date.now(), nodeClockMs);
          onEpoch?.(Number(reply[1]));
        },
      },
      {
        peerName: opts.peerName ?? opts.address,
        maxItemsPerFrame: opts.maxOpsPerFrame,
        maxFramesInFlight: opts.maxFramesInFlight,
        maxFrameBytes: PACKED_PART_BYTES,
        onRoundTrip: (ms) => this.latency.record(ms),
        flightBudgetMs: opts.flightBudgetMs && ((bytes) => opts.flightBudgetMs!(this.latency.p99Ms, bytes)),
      },
    );
  }

  get pending(): number {
    return this.#stream.pending;
  }

  /**
   * See BatchedStream.send, `onStall` included. A write before the node's first answer waits for it:
   * a frame sent then would carry no notAfter, and if the node froze with it in its socket, it could
   * apply it after the caller gave up on it and wrote the key elsewhere. Reads (and operations of
   * no kind a node knows) go at once.
   */
  send(op: PackedOp, deadlineMs: number, onStall?: OnStall): Promise<PackedResult> {
    if (this.#answered || !WRITE_CODES.has(op[0])) return this.#stream.send(op, deadlineMs, onStall);
    return new Promise<PackedResult>((resolve) => {
      const held: HeldWrite = { op, deadlineMs, onStall, resolve, timer: undefined };
      held.timer = setTimeout(
        () =>
          this.#release(held, [
            Code.DEADLINE_EXCEEDED,
            `${this.#peerName} did not answer before the deadline; the call was never sent`,
            '',
          ]),
        Math.max(0, deadlineMs - Date.now()),
      );
      held.timer.unref();
      this.#held.push(held);
      this.#probe();
    });
  }

  /**
   * Asks the node for any answer (a get of the empty key, which it refuses itself), to learn its
   * clock before the held writes go. Past its flight budget the held writes' callers are told the
   * node is slow, as if they had been sent. When the probe fails here (unreachable, no answer in
   * time), the held writes fail with it: none of them reached the node, so another replica may take
   * them.
   */
  #probe(): void {
    if (this.#probing) return;
    this.#probing = true;
    const onStall = () => {
      for (const held of [...this.#held]) held.onStall?.();
    };
    void this.#stream.send(PROBE_OP, Date.now() + CLOCK_PROBE_TIMEOUT_MS, onStall).then((res) => {
      this.#probing = false;
      // Not the probe's own failure (DEADLINE_EXCEEDED would tell the router the write may have been
      // applied, and a read-modify-write would not be tried elsewhere): these were never sent.
      const unsent: PackedResult = [
        Code.UNAVAILABLE,
        `${this.#peerName} did not answer its clock probe (${String(res[1] ?? res[0])}); the call was never sent`,
        '',
      ];
      for (const held of [...this.#held]) this.#release(held, this.#answered ? undefined : unsent);
    });
  }

  /** Sends a held write (or answers it `result`), once. */
  #release(held: HeldWrite, result: PackedResult | undefined): void {
    const at = this.#held.indexOf(held);
    if (at < 0) return;
    this.#held.splice(at, 1);
    clearTimeout(held.timer);
    held.resolve(result ?? this.#stream.send(held.op, held.deadlineMs, held.onStall));
  }

  close(): void {
    this.#stream.close();
    this.#client.close();
  }
}

/** A write waiting for the node's first answer (PackedConnection.send). */
interface HeldWrite {
  op: PackedOp;
  deadlineMs: number;
  onStall: OnStall | undefined;
  resolve: (result: PackedResult | Promise<PackedResult>) => void;
  timer: NodeJS.Timeout | undefined;
}

/** The operations that write (all but get; a kind no node knows is refused, so goes at once). */
const WRITE_CODES: ReadonlySet<number> = new Set([
  OpCode.set,
  OpCode.delete,
  OpCode.touch,
  OpCode.incr,
  OpCode.cas,
]);

/** How long the probe for a node's first answer may take before the writes held for it fail. */
const CLOCK_PROBE_TIMEOUT_MS = 1000;

/**
 * The last instant, in the node's clock, at which a frame due by `deadlineMs` (this process's clock)
 * may still be applied, so that the node never applies it after its caller gave up on it (and maybe
 * wrote the key again elsewhere). Undefined (no bound sent) before the node's clock is known, as with
 * a node too old to report it, and for a frame without a deadline.
 */
function notAfterMs(clock: NodeClock, deadlineMs: number): number | undefined {
  if (!Number.isFinite(deadlineMs)) return undefined;
  const bound = clock.noLaterThan(deadlineMs);
  return bound === undefined ? undefined : Math.max(1, bound);
}
