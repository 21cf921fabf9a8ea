import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../observability/logger';
import {
  Code,
  METADATA,
  type OperationResultMsg,
  type PipelineRequestMsg,
  type PipelineResponseMsg,
} from '../proto/messages';
import type { OperationExecutor } from './cache-service';

interface PipelineDeps {
  executor: OperationExecutor;
  epoch(): number;
  logger: Logger;
  defaultTimeoutMs: number;
  maxBatch: number;
}

type Stream = grpc.ServerDuplexStream<PipelineRequestMsg, PipelineResponseMsg>;

/**
 * Serves Cache.Pipeline streams: each request frame is answered by one reply frame, one result per
 * operation in order. Operations of a frame run concurrently; a frame whose operations all finished
 * synchronously (local reads, N=1 writes) is answered without allocating a promise.
 * Keeps track of open streams so a draining node can finish what it holds and then end them.
 */
export class PipelineStreams {
  readonly #deps: PipelineDeps;
  readonly #open = new Map<Stream, { framesInFlight: number }>();
  #draining = false;
  #onIdle: (() => void) | undefined;

  constructor(deps: PipelineDeps) {
    this.#deps = deps;
  }

  get openCount(): number {
    return this.#open.size;
  }

  serve(call: grpc.ServerDuplexStream<unknown, unknown>): void {
    const stream = call as Stream;
    if (this.#draining) {
      stream.emit('error', { code: Code.UNAVAILABLE, details: 'node is shutting down; use another node' });
      return;
    }
    const state = { framesInFlight: 0 };
    this.#open.set(stream, state);
    const forwarded = stream.metadata.get(METADATA.forwardedBy).length > 0;
    stream.on('data', (frame: PipelineRequestMsg) => {
      state.framesInFlight++;
      this.#answer(stream, frame, forwarded, () => {
        state.framesInFlight--;
        this.#maybeEnd(stream, state);
      });
    });
    const forget = () => {
      this.#open.delete(stream);
      if (this.#open.size === 0) this.#onIdle?.();
    };
    stream.on('end', () => {
      if (state.framesInFlight === 0) stream.end();
      forget();
    });
    stream.on('error', forget);
    stream.on('cancelled', forget);
  }

  /** Stops taking new streams, answers the frames in flight, then ends every stream. */
  drain(): Promise<void> {
    this.#draining = true;
    for (const [stream, state] of this.#open) this.#maybeEnd(stream, state);
    if (this.#open.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.#onIdle = resolve));
  }

  #maybeEnd(stream: Stream, state: { framesInFlight: number }): void {
    if (this.#draining && state.framesInFlight === 0 && this.#open.has(stream)) {
      stream.end();
      this.#open.delete(stream);
      if (this.#open.size === 0) this.#onIdle?.();
    }
  }

  #answer(stream: Stream, frame: PipelineRequestMsg, forwarded: boolean, done: () => void): void {
    const { ops, frameId } = frame;
    const reply = (results: OperationResultMsg[]) => {
      if (this.#open.has(stream)) stream.write({ results, frameId, epoch: this.#deps.epoch() });
      done();
    };
    if (ops.length > this.#deps.maxBatch) {
      const message = `frame holds ${ops.length} operations; at most ${this.#deps.maxBatch} per frame`;
      return reply(ops.map((op) => ({ id: op.id, code: Code.INVALID_ARGUMENT, message })));
    }
    const timeoutMs = frame.timeoutMs || this.#deps.defaultTimeoutMs;
    const ctx = { forwarded, deadlineMs: Date.now() + Math.min(timeoutMs, this.#deps.defaultTimeoutMs) };
    const results = new Array<OperationResultMsg | Promise<OperationResultMsg>>(ops.length);
    let async = false;
    for (let i = 0; i < ops.length; i++) {
      const r = this.#deps.executor.execute(ops[i]!, ctx);
      if (r instanceof Promise) async = true;
      results[i] = r;
    }
    if (!async) return reply(results as OperationResultMsg[]);
    void Promise.all(results.map((r) => Promise.resolve(r))).then(reply);
  }
}
