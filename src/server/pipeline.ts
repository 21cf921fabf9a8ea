import type * as grpc from '@grpc/grpc-js';
import type { OperationContext } from '../cluster/replication/operation';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import {
  Code,
  type OperationMsg,
  type OperationResultMsg,
  type PipelineRequestMsg,
  type PipelineResponseMsg,
} from '../proto/messages';
import { packReply, unpackFrame, type PackedResult } from '../proto/packed';
import { isForwarded } from './cluster-token-guard';
import { runOperationMsg, type OperationExecutor } from './operation-executor';
import { knownConsistency } from './operation-wire';
import { operationFromPacked, outcomeToPacked } from './packed-operations';
import type { NodeTracer } from '../observability/tracing';
import { TRACEPARENT_INDEX } from '../proto/packed';

const OP_NAMES = ['get', 'set', 'delete', 'touch', 'incr', 'cas'];

export interface PipelineDeps {
  executor: OperationExecutor;
  epoch(): number;
  logger: Logger;
  /** Operations without a deadline of their own get this budget. */
  defaultTimeoutMs: number;
  /** Most items in one GetMany, SetMany or Pipeline frame. */
  maxBatch: number;
  /** RINGCACHE_CLUSTER_TOKEN: when set, only calls carrying it may claim to be forwarded by a node. */
  clusterToken?: string;
  /** Spans for operations that carry a trace context, when the node traces. */
  tracer?: NodeTracer;
}

/** A request frame, whatever its encoding: operations (undefined where one could not be read). */
interface DecodedFrame<Op> {
  frameId: number;
  timeoutMs: number;
  ops: (Op | undefined)[];
}

interface FrameContext extends OperationContext {
  /** Date.now() when the frame arrived: remaining TTLs of the frame's gets are counted from it. */
  nowMs: number;
}

/**
 * How one stream flavour reads request frames, runs their operations and writes replies. Each keeps
 * its own operation and result shapes, so the packed flavour can answer its commonest case (a local
 * get) without building the protobuf-shaped objects in between.
 */
interface FrameFormat<Req, Op, Result, Res> {
  decode(frame: Req): DecodedFrame<Op>;
  execute(op: Op, index: number, ctx: FrameContext): Result | Promise<Result>;
  /** An INVALID_ARGUMENT result for operation `index` (undefined where it could not be read). */
  invalid(op: Op | undefined, index: number, message: string): Result;
  /** The reply's messages: one, or for the packed flavour parts when its values are large (packReply). */
  encode(results: Result[], frameId: number, epoch: number): Res[];
}

type AnyFormat = FrameFormat<unknown, unknown, unknown, unknown>;

const malformed = (index: number) => `operation ${index} is malformed or of an unknown kind`;

function protobufFormat(
  executor: OperationExecutor,
): FrameFormat<PipelineRequestMsg, OperationMsg, OperationResultMsg, PipelineResponseMsg> {
  return {
    decode: (f) => ({ frameId: f.frameId, timeoutMs: f.timeoutMs ?? 0, ops: f.ops }),
    execute: (msg, _index, ctx) => runOperationMsg(executor, msg, ctx, ctx.nowMs),
    invalid: (op, index, message) => ({
      id: op?.id ?? index,
      code: Code.INVALID_ARGUMENT,
      message,
      error: 'INVALID_ARGUMENT',
    }),
    encode: (results, frameId, epoch) => [{ results, frameId, epoch }],
  };
}

/** Cache.PipelinePacked: payloads arrive and leave as raw bytes (see src/proto/packed.ts). */
function packedFormat(
  executor: OperationExecutor,
  tracer: NodeTracer | undefined,
): FrameFormat<Buffer, unknown[], PackedResult, Buffer> {
  const localGet = executor.localGet?.bind(executor);
  const run = (p: unknown[], index: number, ctx: FrameContext): PackedResult | Promise<PackedResult> => {
    const op = operationFromPacked(p);
    if (!op) return [Code.INVALID_ARGUMENT, malformed(index), 'INVALID_ARGUMENT'];
    if (op instanceof RingCacheError) return outcomeToPacked(op, ctx.nowMs);
    const r = executor.execute(op, ctx);
    return r instanceof Promise
      ? r.then((o) => outcomeToPacked(o, Date.now()))
      : outcomeToPacked(r, ctx.nowMs);
  };
  return {
    decode: (payload) => {
      const frame = unpackFrame(payload);
      const ops = new Array<unknown[] | undefined>(frame.length - 2);
      for (let i = 2; i < frame.length; i++) {
        const p = frame[i];
        ops[i - 2] = Array.isArray(p) ? p : undefined;
      }
      return { frameId: Number(frame[0]) || 0, timeoutMs: Number(frame[1]) || 0, ops };
    },
    execute: (p, index, ctx) => {
      // An SDK call traced by the application carries its W3C traceparent last (packed.ts).
      const traceparent = tracer && p[TRACEPARENT_INDEX];
      if (typeof traceparent === 'string') {
        return tracer!.serve(traceparent, `ringcache.coordinate ${OP_NAMES[Number(p[0])] ?? 'op'}`, () =>
          run(p, index, ctx),
        );
      }
      // get [0, key, consistency]: most of the traffic, answered here when the store can.
      const consistency = p[0] === 0 ? knownConsistency(p[2] ?? 0) : undefined;
      if (consistency && localGet && typeof p[1] === 'string') {
        const v = localGet(p[1], consistency, ctx.forwarded);
        if (v === null) return [Code.OK, false];
        if (v !== undefined) {
          const ttlMs = v.expiresAtMs === 0 ? 0 : Math.max(1, v.expiresAtMs - ctx.nowMs);
          return [Code.OK, true, v.value, v.flags, v.version.timestamp, v.version.node, ttlMs];
        }
      }
      return run(p, index, ctx);
    },
    invalid: (_op, _index, message) => [Code.INVALID_ARGUMENT, message, 'INVALID_ARGUMENT'],
    encode: (results, frameId, epoch) => packReply(frameId, epoch, results),
  };
}

type AnyStream = grpc.ServerDuplexStream<unknown, unknown>;

interface StreamState {
  framesInFlight: number;
  /**
   * The client half-closed (grpcurl, Python and Go clients send their frames, then close the send
   * side): the frames still running are answered, then the stream ends.
   */
  halfClosed: boolean;
}

/**
 * Serves Cache.Pipeline and Cache.PipelinePacked streams: each request frame is answered by one reply
 * frame, one result per operation in order. Operations of a frame run concurrently; a frame whose
 * operations all finished synchronously (local reads, N=1 writes) is answered without a promise.
 * Keeps track of open streams so a draining node can finish what it holds and then end them.
 */
export class PipelineStreams {
  readonly #deps: PipelineDeps;
  readonly #open = new Map<AnyStream, StreamState>();
  #draining = false;
  #onIdle: (() => void) | undefined;
  /** Frames and operations answered: exposed as metrics (batching shows as operations per frame). */
  frames = 0;
  operations = 0;

  readonly #protobuf: AnyFormat;
  readonly #packed: AnyFormat;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.#protobuf = protobufFormat(deps.executor);
    this.#packed = packedFormat(deps.executor, deps.tracer);
  }

  serveProtobuf(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.#serve(call, this.#protobuf);
  }

  servePacked(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.#serve(call, this.#packed);
  }

  /** Stops taking new streams, answers the frames in flight, then ends every stream. */
  drain(): Promise<void> {
    this.#draining = true;
    for (const [stream, state] of this.#open) this.#maybeEnd(stream, state);
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#onIdle = resolve));
  }

  #serve(stream: AnyStream, format: AnyFormat): void {
    if (this.#draining) {
      stream.emit('error', { code: Code.UNAVAILABLE, details: 'node is shutting down; use another node' });
      return;
    }
    const state: StreamState = { framesInFlight: 0, halfClosed: false };
    this.#open.set(stream, state);
    const forwarded = isForwarded(stream.metadata, this.#deps.clusterToken);
    stream.on('data', (raw: unknown) => {
      let frame: DecodedFrame<unknown>;
      try {
        frame = format.decode(raw);
      } catch (err) {
        // Without a readable frame id there is no frame to answer: end the stream, saying why.
        stream.emit('error', {
          code: Code.INVALID_ARGUMENT,
          details: `unreadable frame: ${(err as Error).message}`,
        });
        return;
      }
      state.framesInFlight++;
      this.#answer(format, frame, forwarded, (results) => {
        if (this.#open.has(stream)) {
          for (const message of format.encode(results, frame.frameId, this.#deps.epoch()))
            stream.write(message);
        }
        state.framesInFlight--;
        this.#maybeEnd(stream, state);
      });
    });
    const forget = () => {
      if (!this.#open.delete(stream)) return;
      if (this.#open.size === 0) this.#onIdle?.();
    };
    stream.on('end', () => {
      state.halfClosed = true;
      this.#maybeEnd(stream, state);
    });
    stream.on('error', forget);
    stream.on('cancelled', forget);
  }

  /** Ends a stream that has nothing left to answer, once its client half-closed or the node drains. */
  #maybeEnd(stream: AnyStream, state: StreamState): void {
    if ((this.#draining || state.halfClosed) && state.framesInFlight === 0 && this.#open.has(stream)) {
      stream.end();
      this.#open.delete(stream);
      if (this.#open.size === 0) this.#onIdle?.();
    }
  }

  #answer(
    format: AnyFormat,
    frame: DecodedFrame<unknown>,
    forwarded: boolean,
    reply: (results: unknown[]) => void,
  ): void {
    const { ops } = frame;
    this.frames++;
    this.operations += ops.length;
    if (ops.length > this.#deps.maxBatch) {
      const message = `frame holds ${ops.length} operations; at most ${this.#deps.maxBatch} per frame`;
      return reply(ops.map((op, i) => format.invalid(op, i, message)));
    }
    const nowMs = Date.now();
    const timeoutMs = Math.min(frame.timeoutMs || this.#deps.defaultTimeoutMs, this.#deps.defaultTimeoutMs);
    const ctx: FrameContext = { forwarded, deadlineMs: nowMs + timeoutMs, nowMs };
    const results = new Array<unknown>(ops.length);
    let async = false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const r = op === undefined ? format.invalid(op, i, malformed(i)) : format.execute(op, i, ctx);
      if (r instanceof Promise) async = true;
      results[i] = r;
    }
    if (!async) return reply(results);
    void Promise.all(results).then(reply);
  }
}
