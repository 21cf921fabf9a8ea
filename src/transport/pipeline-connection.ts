import * as grpc from '@grpc/grpc-js';
import { loadServices } from '../proto/load';
import type {
  OperationMsg,
  OperationResultMsg,
  PipelineRequestMsg,
  PipelineResponseMsg,
} from '../proto/messages';
import { PACKED_PART_BYTES } from '../proto/packed';
import { BatchedStream, type FrameCodec } from './batched-stream';
import { withClusterToken } from './cluster-token';
import { channelCredentials, withTls, type TlsOptions } from './tls';
import { withUserToken } from './user-token';
import { streamErrorName, wireVersionClientInterceptor } from './wire-version';

/** An operation before it is numbered within its frame. */
export type OperationBody = OperationMsg extends infer O
  ? O extends { id: number }
    ? Omit<O, 'id'>
    : never
  : never;

export interface PipelineConnectionOptions {
  address: string;
  /** For messages: "n2 (127.0.0.1:7402)". */
  peerName?: string;
  /** Sent with the stream (e.g. x-ringcache-forwarded-by). */
  metadata?: Record<string, string>;
  /** TLS to the node; plaintext when unset. */
  tls?: TlsOptions;
  maxOpsPerFrame?: number;
  /** Called with the answering node's epoch on every reply frame. */
  onEpoch?: (epoch: number) => void;
  /** Sent with the stream when set (node-to-node forwarding in a cluster that has a token). */
  clusterToken?: string;
  /** A user's token (cluster.yml `auth`), sent with the stream when set. */
  userToken?: string;
}

/**
 * Options shared by every ringcache client: fail fast when a node is down, keep streams alive, and
 * state this release's wire version on every call (checked once per call: a stream is one call).
 */
export const CHANNEL_OPTIONS: grpc.ClientOptions = {
  interceptors: [wireVersionClientInterceptor()],
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1_000,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/**
 * A Cache.Pipeline stream to one node: operations sent in the same event-loop turn share a frame.
 * Each operation resolves with its own OperationResult (code 0 = OK); never rejects.
 */
export class PipelineConnection {
  readonly address: string;
  readonly client: grpc.Client;
  readonly #stream: BatchedStream<OperationBody, OperationResultMsg, PipelineRequestMsg, PipelineResponseMsg>;
  /** Frames sent: lets tests check that batching really merges calls. */
  framesSent = 0;

  constructor(opts: PipelineConnectionOptions) {
    this.address = opts.address;
    const { Cache } = loadServices();
    this.client = new Cache(
      opts.address,
      channelCredentials(opts.tls),
      withTls(withUserToken(withClusterToken(CHANNEL_OPTIONS, opts.clusterToken), opts.userToken), opts.tls),
    );
    const metadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(opts.metadata ?? {})) metadata.set(k, v);
    const codec: FrameCodec<OperationBody, OperationResultMsg, PipelineRequestMsg, PipelineResponseMsg> = {
      encode: (items, frameId, deadlineMs) => {
        this.framesSent++;
        const ops = items.map((item, i) => ({ ...item, id: i }));
        // The node keeps replication and forwarding within what is left of the earliest deadline.
        const timeoutMs = Number.isFinite(deadlineMs)
          ? Math.max(1, Math.min(0xffffffff, deadlineMs - Date.now()))
          : 0;
        return { ops, frameId, timeoutMs };
      },
      frameIdOf: (reply) => reply.frameId,
      // Forwards of large values: frames stop at PACKED_PART_BYTES of them (gRPC's 64 MiB limit).
      itemBytes: (op) =>
        op.op === 'set' ? op.set.value.length : op.op === 'compareAndSet' ? op.compareAndSet.value.length : 0,
      decode: (reply) => reply.results,
      // FAILED_PRECONDITION for a whole stream is only ever a wire version refusal (wire-version.ts).
      failure: (code, message) => ({ id: 0, code, message, error: streamErrorName(code) }),
      onReply: opts.onEpoch ? (reply) => opts.onEpoch!(reply.epoch) : undefined,
    };
    const open = () =>
      (
        this.client as unknown as {
          Pipeline(md: grpc.Metadata): grpc.ClientDuplexStream<PipelineRequestMsg, PipelineResponseMsg>;
        }
      ).Pipeline(metadata);
    this.#stream = new BatchedStream(open, codec, {
      peerName: opts.peerName ?? opts.address,
      maxItemsPerFrame: opts.maxOpsPerFrame,
      maxFrameBytes: PACKED_PART_BYTES,
    });
  }

  get pending(): number {
    return this.#stream.pending;
  }

  send(op: OperationBody, deadlineMs: number): Promise<OperationResultMsg> {
    return this.#stream.send(op, deadlineMs);
  }

  close(): void {
    this.#stream.close();
    this.client.close();
  }
}
