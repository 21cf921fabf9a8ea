import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../proto/load';
import {
  deserializePackedFrame,
  isReplyPart,
  PACKED_PART_BYTES,
  packFrame,
  refusedFrameResults,
  replyFrameIdOf,
  serializePackedFrame,
  unpackFrame,
  type PackedOp,
  type PackedResult,
  valueBytesOf,
} from '../proto/packed';
import { BatchedStream, type OnStall } from './batched-stream';
import { channelCredentials, withTls, type TlsOptions } from './tls';
import { withUserToken } from './user-token';
import { LatencyWindow } from './latency-window';
import { CHANNEL_OPTIONS } from './pipeline-connection';

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

  constructor(opts: PackedConnectionOptions) {
    this.address = opts.address;
    const { Cache } = loadServices();
    this.#client = new Cache(
      opts.address,
      channelCredentials(opts.tls),
      withTls(withUserToken(CHANNEL_OPTIONS, opts.userToken), opts.tls),
    );
    const onEpoch = opts.onEpoch;
    // Replies are unpacked once, while being deserialized; the codec below then only indexes arrays.
    const deserialize = (buf: Buffer): unknown[] => unpackFrame(deserializePackedFrame(buf));
    this.#stream = new BatchedStream(
      () =>
        this.#client.makeBidiStreamRequest<Buffer, unknown[]>(
          METHOD,
          serializePackedFrame,
          deserialize,
          new grpc.Metadata(),
        ),
      {
        encode: (items, frameId, deadlineMs) => {
          this.framesSent++;
          // The node keeps replication and forwarding within what is left of the earliest deadline.
          const timeoutMs = Number.isFinite(deadlineMs) ? Math.max(1, deadlineMs - Date.now()) : 0;
          return packFrame(frameId, timeoutMs, items);
        },
        // A reply in parts names its frame negated in all but the last (packReply).
        frameIdOf: replyFrameIdOf,
        isPart: isReplyPart,
        itemBytes: (op: PackedOp) => valueBytesOf(op),
        // A frame refused whole by a node's limit is answered by one failure, for each of its calls.
        decode: (reply, itemCount) =>
          refusedFrameResults(reply, itemCount) ?? (reply.slice(2) as PackedResult[]),
        failure: (code, message) => [code, message, ''],
        onReply: onEpoch ? (reply) => onEpoch(Number(reply[1])) : undefined,
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

  /** See BatchedStream.send, `onStall` included. */
  send(op: PackedOp, deadlineMs: number, onStall?: OnStall): Promise<PackedResult> {
    return this.#stream.send(op, deadlineMs, onStall);
  }

  close(): void {
    this.#stream.close();
    this.#client.close();
  }
}
