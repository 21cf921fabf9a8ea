import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import {
  Code,
  METADATA,
  type OperationMsg,
  type OperationResultMsg,
  type PipelineRequestMsg,
  type PipelineResponseMsg,
} from '../proto/messages';
import { opFromPacked, packFrame, resultToPacked, unpackFrame, type PackedOp } from '../proto/packed';
import type { OperationExecutor } from './cache-service';

interface PipelineDeps {
  executor: OperationExecutor;
  epoch(): number;
  logger: Logger;
  defaultTimeoutMs: number;
  maxBatch: number;
}

/** A request frame, whatever its encoding: operations (undefined where one could not be read). */
interface DecodedFrame {
  frameId: number;
  timeoutMs: number;
  ops: (OperationMsg | undefined)[];
}

/** How one stream flavour reads request frames and writes replies. */
interface FrameFormat<Req, Res> {
  decode(frame: Req): DecodedFrame;
  encode(results: OperationResultMsg[], frameId: number, epoch: number): Res;
}

const protobufFormat: FrameFormat<PipelineRequestMsg, PipelineResponseMsg> = {
  decode: (f) => ({ frameId: f.frameId, timeoutMs: f.timeoutMs ?? 0, ops: f.ops }),
  encode: (results, frameId, epoch) => ({ results, frameId, epoch }),
};

/** Cache.PipelinePacked: payloads arrive and leave as raw bytes (see src/proto/packed.ts). */
const packedFormat: FrameFormat<Buffer, Buffer> = {
  decode: (payload) => {
    const frame = unpackFrame(payload);
    const ops = new Array<OperationMsg | undefined>(frame.length - 2);
    for (let i = 2; i < frame.length; i++) {
      const p = frame[i];
      ops[i - 2] = Array.isArray(p) ? opFromPacked(p as PackedOp, i - 2) : undefined;
    }
    return { frameId: Number(frame[0]) || 0, timeoutMs: Number(frame[1]) || 0, ops };
  },
  encode: (results, frameId, epoch) => packFrame(frameId, epoch, results.map(resultToPacked)),
};

type AnyStream = grpc.ServerDuplexStream<unknown, unknown>;

/**
 * Serves Cache.Pipeline and Cache.PipelinePacked streams: each request frame is answered by one reply
 * frame, one result per operation in order. Operations of a frame run concurrently; a frame whose
 * operations all finished synchronously (local reads, N=1 writes) is answered without a promise.
 * Keeps track of open streams so a draining node can finish what it holds and then end them.
 */
export class PipelineStreams {
  readonly #deps: PipelineDeps;
  readonly #open = new Map<AnyStream, { framesInFlight: number }>();
  #draining = false;
  #onIdle: (() => void) | undefined;
  /** Frames and operations answered: exposed as metrics (batching shows as operations per frame). */
  frames = 0;
  operations = 0;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
  }

  serveProtobuf(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.#serve(call, protobufFormat);
  }

  servePacked(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    this.#serve(call, packedFormat);
  }

  /** Stops taking new streams, answers the frames in flight, then ends every stream. */
  drain(): Promise<void> {
    this.#draining = true;
    for (const [stream, state] of this.#open) this.#maybeEnd(stream, state);
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#onIdle = resolve));
  }

  #serve(stream: AnyStream, format: FrameFormat<unknown, unknown>): void {
    if (this.#draining) {
      stream.emit('error', { code: Code.UNAVAILABLE, details: 'node is shutting down; use another node' });
      return;
    }
    const state = { framesInFlight: 0 };
    this.#open.set(stream, state);
    const forwarded = stream.metadata.get(METADATA.forwardedBy).length > 0;
    stream.on('data', (raw: unknown) => {
      let frame: DecodedFrame;
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
      this.#answer(frame, forwarded, (results) => {
        if (this.#open.has(stream)) stream.write(format.encode(results, frame.frameId, this.#deps.epoch()));
        state.framesInFlight--;
        this.#maybeEnd(stream, state);
      });
    });
    const forget = () => {
      if (!this.#open.delete(stream)) return;
      if (this.#open.size === 0) this.#onIdle?.();
    };
    stream.on('end', () => {
      if (state.framesInFlight === 0) stream.end();
      forget();
    });
    stream.on('error', forget);
    stream.on('cancelled', forget);
  }

  #maybeEnd(stream: AnyStream, state: { framesInFlight: number }): void {
    if (this.#draining && state.framesInFlight === 0 && this.#open.has(stream)) {
      stream.end();
      this.#open.delete(stream);
      if (this.#open.size === 0) this.#onIdle?.();
    }
  }

  #answer(frame: DecodedFrame, forwarded: boolean, reply: (results: OperationResultMsg[]) => void): void {
    const { ops } = frame;
    this.frames++;
    this.operations += ops.length;
    if (ops.length > this.#deps.maxBatch) {
      const message = `frame holds ${ops.length} operations; at most ${this.#deps.maxBatch} per frame`;
      return reply(
        ops.map((op, i) => ({
          id: op?.id ?? i,
          code: Code.INVALID_ARGUMENT,
          message,
          error: 'INVALID_ARGUMENT',
        })),
      );
    }
    const timeoutMs = Math.min(frame.timeoutMs || this.#deps.defaultTimeoutMs, this.#deps.defaultTimeoutMs);
    const ctx = { forwarded, deadlineMs: Date.now() + timeoutMs };
    const results = new Array<OperationResultMsg | Promise<OperationResultMsg>>(ops.length);
    let async = false;
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i];
      const r: OperationResultMsg | Promise<OperationResultMsg> = op
        ? this.#deps.executor.execute(op, ctx)
        : {
            id: i,
            code: Code.INVALID_ARGUMENT,
            message: `operation ${i} is malformed or of an unknown kind`,
            error: 'INVALID_ARGUMENT',
          };
      if (r instanceof Promise) async = true;
      results[i] = r;
    }
    if (!async) return reply(results as OperationResultMsg[]);
    void Promise.all(results.map((r) => Promise.resolve(r))).then(reply);
  }
}
