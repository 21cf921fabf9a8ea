import type * as grpc from '@grpc/grpc-js';
import type { OperationContext } from '../cluster/replication/operation';
import { RingCacheError } from '../errors';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../observability/logger';
import {
  Code,
  type OperationMsg,
  type OperationResultMsg,
  type PipelineRequestMsg,
  type PipelineResponseMsg,
} from '../proto/messages';
import {
  CLOCK_METADATA,
  packReply,
  peekFrameHead,
  trailingNumberOf,
  unpackFrame,
  valueBytesOf,
  type PackedResult,
} from '../proto/packed';
import { RequestMetrics } from '../observability/request-metrics';
import { writeRefusal } from './access';
import { isForwarded } from './cluster-token-guard';
import { runOperationMsg, type OperationExecutor } from './operation-executor';
import { knownConsistency } from './operation-wire';
import { operationFromPacked, outcomeToPacked } from './packed-operations';
import {
  batchRefusal,
  LimitRefusals,
  ReplyBudget,
  TooManyItems,
  type LimitRefusal,
  type RequestLimits,
} from './request-limits';
import { ClientOutputBudget } from './client-output';
import { ClientInputBudget, ReadGate, type HeldElsewhere } from './client-input';
import type { NodeTracer } from '../observability/tracing';
import { TRACEPARENT_INDEX } from '../proto/packed';

const OP_NAMES = ['get', 'set', 'delete', 'touch', 'incr', 'cas'];

export interface PipelineDeps {
  executor: OperationExecutor;
  epoch(): number;
  logger: Logger;
  /** Operations without a deadline of their own get this budget. */
  defaultTimeoutMs: number;
  /**
   * limits.max_batch_keys and max_reply_bytes (what one GetMany, SetMany or frame may ask), and
   * max_frames_in_flight and max_output_buffer_bytes (how far a stream may run ahead of its reader).
   */
  limits: RequestLimits &
    Pick<
      LimitsConfig,
      'maxFramesInFlight' | 'maxOutputBufferBytes' | 'maxClientOutputBytes' | 'maxClientInputBytes'
    >;
  /** RINGCACHE_CLUSTER_TOKEN: when set, only calls carrying it may claim to be forwarded by a node. */
  clusterToken?: string;
  /** Spans for operations that carry a trace context, when the node traces. */
  tracer?: NodeTracer;
  /** Copies of writes sent to other replicas and not yet answered: max_client_input_bytes counts them. */
  copies?: HeldElsewhere;
  /** A client's call or frame arrived (the memory guard's `nudge`): called on each, so it must be cheap. */
  onRequest?: () => void;
}

/** A request frame, whatever its encoding: operations (undefined where one could not be read). */
interface DecodedFrame<Op> {
  frameId: number;
  timeoutMs: number;
  /** The packed frame's notAfter (packed.ts): past it, in this node's clock, its writes are refused. */
  notAfterMs?: number;
  /** Empty when opCount is past the frame's limit: such a frame is refused undecoded. */
  ops: (Op | undefined)[];
  opCount: number;
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
  /** The frame; with more than `maxOps` operations, only its head (ops empty) where that is cheaper. */
  decode(frame: Req, maxOps: number): DecodedFrame<Op>;
  execute(op: Op, index: number, ctx: FrameContext): Result | Promise<Result>;
  /** An INVALID_ARGUMENT result for operation `index` (undefined where it could not be read). */
  invalid(op: Op | undefined, index: number, message: string): Result;
  /** The result of an operation refused by a limit; alone in a reply, it stands for the whole frame. */
  refused(op: Op | undefined, index: number, refusal: { code: number; message: string }): Result;
  /** Whether an operation only reads (a get): refusing its result changes nothing the client did. */
  isRead(op: Op | undefined): boolean;
  /** Bytes of value a result carries (a found get's): counted against max_reply_bytes. */
  valueBytes(result: Result): number;
  /**
   * How a frame whose values pass max_reply_bytes is answered. The protobuf flavour refuses its reads
   * whole (one failure, as GetMany). The packed flavour answers each read that fits and refuses those
   * past the limit, one by one: the SDK fills its frames with up to 256 unrelated calls (concurrent
   * gets of large values must not all fail because they were batched together).
   */
  readonly partialReply: boolean;
  /**
   * The reply's messages: one, or for the packed flavour parts when its values are large (packReply).
   * `clockMs`: this node's wall clock, for a packed stream whose client asked for it (CLOCK_METADATA).
   */
  encode(results: Result[], frameId: number, epoch: number, clockMs: number | undefined): Res[];
  /** The operation's index in OPERATIONS (request-metrics.ts), -1 when unknown. */
  operationOf(op: Op | undefined): number;
  /** A result's gRPC code. */
  codeOf(result: Result): number;
  /** About the bytes a reply message takes on the wire: counted against max_output_buffer_bytes. */
  messageBytes(message: Res): number;
  /** About the bytes a request frame holds: counted against max_client_input_bytes. */
  requestBytes(frame: Req): number;
}

type AnyFormat = FrameFormat<unknown, unknown, unknown, unknown>;

/** A protobuf result's bytes besides its value: id, code, version, flags, TTL and their tags. */
const RESULT_OVERHEAD_BYTES = 48;

/** The protobuf Operation's oneof names, in OPERATIONS' order. */
const PROTOBUF_OPERATIONS: readonly string[] = [
  'get',
  'set',
  'delete',
  'touch',
  'increment',
  'compareAndSet',
];

/** A protobuf request's key and value bytes (a Set's, a CompareAndSet's): what it holds. */
export function requestHeldBytes(
  req: { key?: string; value?: Uint8Array; text?: string } | undefined,
): number {
  if (!req) return 0;
  return (req.key?.length ?? 0) + (req.value?.length ?? 0) + (req.text?.length ?? 0);
}

/** The key and value bytes of a protobuf operation: what it holds. */
export function operationBytes(op: OperationMsg): number {
  return requestHeldBytes(
    (op as unknown as Record<string, { key?: string; value?: Uint8Array; text?: string }>)[op.op],
  );
}

const malformed = (index: number) => `operation ${index} is malformed or of an unknown kind`;

function protobufFormat(
  executor: OperationExecutor,
): FrameFormat<PipelineRequestMsg | TooManyItems, OperationMsg, OperationResultMsg, PipelineResponseMsg> {
  return {
    // A frame past max_batch_keys arrives as a TooManyItems, counted undecoded (withBatchBounds).
    decode: (f: PipelineRequestMsg | TooManyItems) =>
      f instanceof TooManyItems
        ? { frameId: f.frameId, timeoutMs: 0, ops: [], opCount: f.count }
        : { frameId: f.frameId, timeoutMs: f.timeoutMs ?? 0, ops: f.ops, opCount: f.ops.length },
    execute: (msg, _index, ctx) => runOperationMsg(executor, msg, ctx, ctx.nowMs),
    invalid: (op, index, message) => ({
      id: op?.id ?? index,
      code: Code.INVALID_ARGUMENT,
      message,
      error: 'INVALID_ARGUMENT',
    }),
    refused: (op, index, refusal) => ({ id: op?.id ?? index, code: refusal.code, message: refusal.message }),
    isRead: (op) => op?.op === 'get',
    operationOf: (op) => (op ? PROTOBUF_OPERATIONS.indexOf(op.op) : -1),
    codeOf: (r) => r.code,
    partialReply: false,
    valueBytes: (r) => r.get?.value?.length ?? 0,
    encode: (results, frameId, epoch) => [{ results, frameId, epoch }],
    messageBytes: (m) => {
      let bytes = 0;
      for (const r of m.results) bytes += RESULT_OVERHEAD_BYTES + (r.get?.value?.length ?? 0);
      return bytes;
    },
    requestBytes: (f) => {
      if (f instanceof TooManyItems) return 0;
      let bytes = 0;
      for (const op of f.ops) bytes += RESULT_OVERHEAD_BYTES + operationBytes(op);
      return bytes;
    },
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
    decode: (payload, maxOps) => {
      const head = peekFrameHead(payload);
      // One element of slack: a frame may end with its notAfter, which is no operation. The full
      // decode below counts exactly, and #answer refuses past the limit from that count.
      if (head && head.length - 3 > maxOps)
        return { frameId: head.frameId, timeoutMs: 0, ops: [], opCount: head.length - 2 };
      const frame = unpackFrame(payload);
      // A trailing positive integer is the frame's notAfter, not an operation (operations are arrays).
      const notAfterMs = trailingNumberOf(frame);
      const end = notAfterMs === undefined ? frame.length : frame.length - 1;
      const ops = new Array<unknown[] | undefined>(end - 2);
      for (let i = 2; i < end; i++) {
        const p = frame[i];
        ops[i - 2] = Array.isArray(p) ? p : undefined;
      }
      return {
        frameId: Number(frame[0]) || 0,
        timeoutMs: Number(frame[1]) || 0,
        notAfterMs,
        ops,
        opCount: ops.length,
      };
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
    refused: (_op, _index, refusal) => [refusal.code, refusal.message, ''],
    isRead: (p) => p?.[0] === 0,
    // Packed op codes 0-5 are get, set, delete, touch, incr, cas: OPERATIONS' first six.
    operationOf: (p) => (typeof p?.[0] === 'number' && p[0] >= 0 && p[0] <= 5 ? p[0] : -1),
    codeOf: (r) => r[0],
    partialReply: true,
    valueBytes: valueBytesOf,
    encode: (results, frameId, epoch, clockMs) => packReply(frameId, epoch, results, clockMs),
    messageBytes: (payload) => payload.length,
    requestBytes: (payload) => payload.length,
  };
}

type AnyStream = grpc.ServerDuplexStream<unknown, unknown>;

interface StreamState {
  framesInFlight: number;
  /** Reply bytes written and not yet taken by the connection. */
  unsent: number;
  /** Whether the node stopped reading the stream (too many frames in flight, or replies unread). */
  paused: boolean;
  /** The stream ended or failed: write callbacks that still come count nothing. */
  gone: boolean;
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
  /** Operations answered and their times, for /metrics (request-metrics.ts). */
  readonly requests = new RequestMetrics();
  /** Reply bytes written to streams and not yet sent, all streams together (a gauge). */
  bufferedBytes = 0;
  /** Requests refused whole by a limit, on these streams and the Cache calls (cache-service.ts). */
  readonly refusals: LimitRefusals;
  /** What the node holds for all its clients' replies (max_client_output_bytes), GetMany and Watch included. */
  readonly output: ClientOutputBudget;
  /** What the node holds of its clients' requests (max_client_input_bytes), unary writes included. */
  readonly input: ClientInputBudget;

  readonly #protobuf: AnyFormat;
  readonly #packed: AnyFormat;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.refusals = new LimitRefusals(deps.logger.child({ component: 'limits' }));
    this.output = new ClientOutputBudget(deps.limits.maxClientOutputBytes);
    this.input = new ClientInputBudget(deps.limits.maxClientInputBytes, deps.copies);
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
    const state: StreamState = {
      framesInFlight: 0,
      unsent: 0,
      paused: false,
      gone: false,
      halfClosed: false,
    };
    this.#open.set(stream, state);
    const forwarded = isForwarded(stream.metadata, this.#deps.clusterToken);
    // Asked for by SDKs that send notAfter: older clients would take a trailing clock for a result.
    const sendsClock = format === this.#packed && stream.metadata.get(CLOCK_METADATA).length > 0;
    const { maxFramesInFlight, maxOutputBufferBytes } = this.#deps.limits;
    // A node's frames are counted where its client sent them (and must not wait on each other).
    const input = forwarded ? undefined : this.input;
    const gate = new ReadGate(stream);
    // A client that sends frames and does not read the replies must not make the node hold them
    // all: past either bound, or while the node holds max_client_input_bytes of its clients'
    // requests, the node stops reading the stream (HTTP/2 flow control then stops the client), and
    // reads again once the replies drain, or the node has room. Not a refusal: nothing is lost.
    const throttle = (): void => {
      if (state.gone) return;
      const inputFull = input !== undefined && input.full;
      const full =
        inputFull || state.framesInFlight >= maxFramesInFlight || state.unsent > maxOutputBufferBytes;
      if (inputFull) input.whenRoom(throttle);
      if (full === state.paused) return;
      state.paused = full;
      if (full) {
        gate.hold();
        stream.pause();
      } else {
        stream.resume();
        gate.release();
      }
    };
    const send = (message: unknown) => {
      const bytes = format.messageBytes(message);
      state.unsent += bytes;
      this.bufferedBytes += bytes;
      this.output.bytes += bytes;
      stream.write(message, () => {
        if (state.gone) return;
        state.unsent -= bytes;
        this.bufferedBytes -= bytes;
        this.output.bytes -= bytes;
        throttle();
      });
    };
    // A `read` user's stream: its writes are refused one by one, its reads served (access.ts).
    const writeRefused = writeRefusal(stream);
    stream.on('data', (raw: unknown) => {
      this.#deps.onRequest?.();
      let frame: DecodedFrame<unknown>;
      try {
        frame = format.decode(raw, this.#deps.limits.maxBatchKeys);
      } catch (err) {
        // Without a readable frame id there is no frame to answer: end the stream, saying why.
        stream.emit('error', {
          code: Code.INVALID_ARGUMENT,
          details: `unreadable frame: ${(err as Error).message}`,
        });
        return;
      }
      // Past max_client_input_bytes a frame is refused whole (unless small: the reserve), and the
      // stream is read no more until the node has room: a read frame costs its copies to run.
      const held = input ? input.tryTake(format.requestBytes(raw)) : 0;
      const overInput = held === undefined ? input!.refusal('frame') : undefined;
      state.framesInFlight++;
      throttle();
      this.#answer(format, frame, forwarded, writeRefused, overInput, (results) => {
        if (held) input!.release(held);
        if (this.#open.has(stream)) {
          const clockMs = sendsClock ? Date.now() : undefined;
          for (const message of format.encode(results, frame.frameId, this.#deps.epoch(), clockMs))
            send(message);
        }
        state.framesInFlight--;
        throttle();
        this.#maybeEnd(stream, state);
      });
    });
    const forget = () => {
      if (!state.gone) {
        state.gone = true;
        this.bufferedBytes -= state.unsent;
        this.output.bytes -= state.unsent;
        input?.forget(throttle);
      }
      if (!this.#open.delete(stream)) return;
      if (this.#open.size === 0) this.#onIdle?.();
    };
    stream.on('close', forget);
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
    writeRefused: { code: number; message: string } | undefined,
    overInput: LimitRefusal | undefined,
    reply: (results: unknown[]) => void,
  ): void {
    const { ops } = frame;
    const limits = this.#deps.limits;
    this.frames++;
    const tooMany = batchRefusal('frame', frame.opCount, 'operations', limits) ?? overInput;
    if (tooMany) return reply([this.#refused(format, tooMany)]);
    this.operations += ops.length;
    const startedAt = performance.now();
    const nowMs = Date.now();
    const timeoutMs = Math.min(frame.timeoutMs || this.#deps.defaultTimeoutMs, this.#deps.defaultTimeoutMs);
    // One shape for every frame's context (notAfterMs undefined when the frame has none).
    const ctx: FrameContext = {
      forwarded,
      deadlineMs: nowMs + timeoutMs,
      nowMs,
      notAfterMs: frame.notAfterMs,
    };
    const budget = new ReplyBudget(limits.maxReplyBytes, this.output);
    const counted = (r: unknown) => {
      budget.add(format.valueBytes(r));
      return r;
    };
    const results = new Array<unknown>(ops.length);
    let async = false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (budget.exceeded) {
        // Stop reading: the values read so far are all this frame makes the node copy. The packed
        // flavour still runs the frame's writes; its reads past the limit are refused (#partial).
        if (!format.partialReply) {
          results.length = i;
          break;
        }
        if (format.isRead(op)) continue;
      }
      const r =
        op === undefined
          ? format.invalid(op, i, malformed(i))
          : writeRefused && !format.isRead(op)
            ? format.refused(op, i, writeRefused)
            : format.execute(op, i, ctx);
      if (r instanceof Promise) {
        async = true;
        results[i] = r.then(counted);
        continue;
      }
      results[i] = counted(r);
    }
    const finish = (done: unknown[]) => {
      const answered = !budget.exceeded
        ? done
        : format.partialReply
          ? this.#partial(format, ops, done, budget)
          : this.#overBudget(format, ops, done, budget);
      this.#record(format, ops, answered, startedAt);
      // The values read become the reply's messages, counted from here as the stream's unsent bytes.
      budget.release();
      reply(answered);
    };
    if (!async) return finish(results);
    void Promise.all(results).then(finish);
  }

  /** Each operation of an answered frame in the request metrics, with the frame's time. */
  #record(format: AnyFormat, ops: unknown[], answered: unknown[], startedAt: number): void {
    // A frame refused whole answers one result for all its operations: each counts with it.
    const seconds = (performance.now() - startedAt) / 1000;
    const whole = answered.length === 1 && ops.length > 1 ? answered[0] : undefined;
    for (let i = 0; i < ops.length; i++) {
      const r = whole ?? answered[i];
      if (r !== undefined) this.requests.record(format.operationOf(ops[i]), format.codeOf(r), seconds);
    }
  }

  /**
   * A packed frame whose values passed max_reply_bytes: its reads answered in order while their
   * values fit, each one after refused (those not run included), its writes' outcomes kept.
   */
  #partial(format: AnyFormat, ops: unknown[], done: unknown[], budget: ReplyBudget): unknown[] {
    const refusal = budget.refusal('frame');
    this.refusals.note(refusal);
    let bytes = 0;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      if (op === undefined || !format.isRead(op)) continue;
      const r = done[i];
      if (r !== undefined) bytes += format.valueBytes(r);
      if (r === undefined || bytes > budget.maxBytes) done[i] = format.refused(op, i, refusal);
    }
    return done;
  }

  /** One result standing for the whole frame, counted and logged as a refusal. */
  #refused(format: AnyFormat, refusal: LimitRefusal): unknown {
    this.refusals.note(refusal);
    return format.refused(undefined, 0, refusal);
  }

  /**
   * The reply to a frame whose values passed max_reply_bytes (`done`: the results of the operations
   * run, which may stop short). A frame that only read is refused whole, one failure for all; one whose
   * writes ran keeps their outcomes, so a client never takes an applied write for a refused one, and
   * each read (and each operation not run) gets the refusal.
   */
  #overBudget(format: AnyFormat, ops: unknown[], done: unknown[], budget: ReplyBudget): unknown[] {
    const refusal = budget.refusal('frame');
    const kept = ops.map((op, i) => i < done.length && op !== undefined && !format.isRead(op));
    if (!kept.includes(true)) return [this.#refused(format, refusal)];
    this.refusals.note(refusal);
    return ops.map((op, i) => (kept[i] ? done[i] : format.refused(op, i, refusal)));
  }
}
