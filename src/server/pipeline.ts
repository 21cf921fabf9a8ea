import type * as grpc from '@grpc/grpc-js';
import type { LimitsConfig } from '../config/types';
import type { Logger } from '../observability/logger';
import { Code } from '../proto/messages';
import { CLOCK_METADATA } from '../proto/packed';
import { RequestMetrics } from '../observability/request-metrics';
import { writeRefusal } from './access';
import { isForwarded } from './cluster-token-guard';
import type { OperationExecutor } from './operation-executor';
import {
  batchRefusal,
  http2StreamOf,
  LimitRefusals,
  ReplyBudget,
  TooManyItems,
  type LimitRefusal,
  type RequestLimits,
} from './request-limits';
import { ClientOutputBudget } from './client-output';
import { ClientInputBudget, ReadGate, type HeldElsewhere } from './client-input';
import { RequestReads } from './request-reads';
import type { NodeTracer } from '../observability/tracing';
import {
  malformed,
  packedFormat,
  protobufFormat,
  type AnyFormat,
  type DecodedFrame,
  type FrameContext,
} from './frame-formats';

export interface PipelineDeps {
  executor: OperationExecutor;
  epoch(): number;
  logger: Logger;
  /** Operations without a deadline of their own get this budget. */
  defaultTimeoutMs: number;
  /**
   * limits.max_batch_keys and max_reply_bytes (what one GetMany, SetMany or frame may ask), and
   * max_frames_in_flight and max_output_buffer_bytes (how far a stream may run ahead of its reader);
   * max_value_bytes says which GetMany may pass max_reply_bytes at all; max_request_bytes, the
   * longest message a client's read is followed for (request-reads.ts); idle_timeout_ms, how long
   * its client may stay silent in the middle of one; max_client_calls, how many it follows at once.
   */
  limits: RequestLimits &
    Pick<
      LimitsConfig,
      | 'maxFramesInFlight'
      | 'maxOutputBufferBytes'
      | 'maxClientOutputBytes'
      | 'maxClientInputBytes'
      | 'maxRequestBytes'
      | 'maxValueBytes'
      | 'idleTimeoutMs'
      | 'maxClientCalls'
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

type AnyStream = grpc.ServerDuplexStream<unknown, unknown>;

interface StreamState {
  framesInFlight: number;
  /**
   * What the stream's frames in flight hold: their bytes and what their operations hold beyond them
   * (operationOverheadBytes). Past an eighth of max_client_input_bytes the stream is read no more.
   */
  holding: number;
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
  /**
   * What clients' frames in flight hold beyond what their own stream may hold (an eighth of
   * max_client_input_bytes), all streams together, by their operations' estimated overhead
   * (operationOverheadBytes). A stream stops reading at its eighth, so no later frame of its stream
   * is read until a heavier one is answered; no budget bounds that frame's excess, only
   * max_batch_keys and max_request_bytes: 2,000 deletes of 1 KB keys, 2 MB on the wire, hold about
   * 10 MB. The memory guard takes it for a sign of a flood (node.ts). Frames of the SDK's size (at
   * most 256 operations) of short keys hold none of it from max_memory 64 MiB on; of 1 KB keys, or
   * at a smaller max_memory, a part.
   */
  excessOverheadBytes = 0;

  /** Pipeline and PipelinePacked streams open (a gauge). */
  get openStreams(): number {
    return this.#open.size;
  }
  /** Requests refused whole by a limit, on these streams and the Cache calls (cache-service.ts). */
  readonly refusals: LimitRefusals;
  /** What the node holds for all its clients' replies (max_client_output_bytes), GetMany and Watch included. */
  readonly output: ClientOutputBudget;
  /** What the node holds of its clients' requests (max_client_input_bytes), unary writes included. */
  readonly input: ClientInputBudget;
  /** Clients' requests while they are read, in `input`: each handler takes its own (request-reads.ts). */
  readonly requestReads: RequestReads;

  readonly #protobuf: AnyFormat;
  readonly #packed: AnyFormat;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
    this.refusals = new LimitRefusals(deps.logger.child({ component: 'limits' }));
    this.output = new ClientOutputBudget(deps.limits.maxClientOutputBytes);
    this.input = new ClientInputBudget(deps.limits.maxClientInputBytes, deps.copies);
    this.requestReads = new RequestReads(this.input, {
      maxMessageBytes: deps.limits.maxRequestBytes,
      stalledCallMs: deps.limits.idleTimeoutMs,
      maxCalls: deps.limits.maxClientCalls,
      onEnded: (refusal) => this.refusals.note({ ...refusal, code: Code.RESOURCE_EXHAUSTED }),
    });
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
    this.requestReads.close();
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
      holding: 0,
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
    const http2 = input && http2StreamOf(stream);
    // A client that sends frames and does not read the replies must not make the node hold them
    // all: past either bound, or while the node holds max_client_input_bytes of its clients'
    // requests, the node stops reading the stream (HTTP/2 flow control then stops the client), and
    // reads again once the replies drain, or the node has room. Not a refusal: nothing is lost.
    // So too while the stream's own frames in flight hold an eighth of that budget with what their
    // operations hold beyond their bytes (StreamState.holding): one client's heavy frames run one
    // at a time, without holding back other clients' streams.
    const streamHoldBytes = input ? input.maxBytes / 8 : Infinity;
    const throttle = (): void => {
      if (state.gone) return;
      const inputFull = input !== undefined && input.full;
      const full =
        inputFull ||
        state.framesInFlight >= maxFramesInFlight ||
        state.unsent > maxOutputBufferBytes ||
        state.holding >= streamHoldBytes;
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
      // A frame whose read took room keeps it (request-reads.ts). Past max_client_input_bytes
      // another is refused whole (unless small: the reserve), and the stream is read no more until
      // the node has room: a read frame costs its copies to run.
      const bytes = input ? format.requestBytes(raw) : 0;
      const held = input ? this.requestReads.take(http2, bytes) : 0;
      const overInput = held === undefined ? input!.refusal('frame') : undefined;
      // A frame refused for want of room, or on a stream without a budget, holds nothing of it.
      const holds = input !== undefined && overInput === undefined;
      const overhead = holds ? format.overheadBytes(frame) : 0;
      const holding = holds ? bytes + overhead : 0;
      // What a frame holds past its stream's share: no budget bounds it (excessOverheadBytes).
      const excess = overhead > streamHoldBytes ? overhead - streamHoldBytes : 0;
      this.excessOverheadBytes += excess;
      state.framesInFlight++;
      state.holding += holding;
      throttle();
      this.#answer(format, frame, raw, forwarded, writeRefused, overInput, (results) => {
        if (held) input!.release(held);
        this.excessOverheadBytes -= excess;
        state.holding -= holding;
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
    raw: unknown,
    forwarded: boolean,
    writeRefused: { code: number; message: string } | undefined,
    overInput: LimitRefusal | undefined,
    reply: (results: unknown[]) => void,
  ): void {
    const { ops } = frame;
    const limits = this.#deps.limits;
    this.frames++;
    const tooMany = batchRefusal('frame', frame.opCount, 'operations', limits) ?? overInput;
    if (tooMany) {
      // Read whole before it could be refused: the memory guard's sign of a flood (requestBytes).
      // A protobuf frame past max_batch_keys came undecoded, its size counted then.
      const requestBytes =
        raw instanceof TooManyItems ? (raw.refusal.requestBytes ?? 0) : format.requestBytes(raw);
      return reply([this.#refused(format, { ...tooMany, requestBytes })]);
    }
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
