/**
 * The two flavours of Cache's pipeline streams, as PipelineStreams (pipeline.ts) serves them: how
 * each reads a request frame, runs its operations and writes the reply. Pipeline carries protobuf
 * messages; PipelinePacked carries msgpack payloads as raw bytes (src/proto/packed.ts), which the SDK
 * uses.
 */
import type { OperationContext } from '../cluster/replication/operation';
import { RingCacheError } from '../errors';
import type { NodeTracer } from '../observability/tracing';
import {
  Code,
  type OperationMsg,
  type OperationResultMsg,
  type PipelineRequestMsg,
  type PipelineResponseMsg,
} from '../proto/messages';
import {
  packReply,
  peekFrameHead,
  TRACEPARENT_INDEX,
  trailingNumberOf,
  REPLY_FULL,
  TRY_AGAIN,
  unpackFrame,
  valueBytesOf,
  type PackedResult,
} from '../proto/packed';
import { runOperationMsg, type OperationExecutor } from './operation-executor';
import { knownConsistency } from './operation-wire';
import { operationFromPacked, outcomeToPacked } from './packed-operations';
import { operationOverheadBytes } from './client-input';
import { passesLater, TooManyItems, type LimitName } from './request-limits';

const OP_NAMES = ['get', 'set', 'delete', 'touch', 'incr', 'cas'];

/** A request frame, whatever its encoding: operations (undefined where one could not be read). */
export interface DecodedFrame<Op> {
  frameId: number;
  timeoutMs: number;
  /** The packed frame's notAfter (packed.ts): past it, in this node's clock, its writes are refused. */
  notAfterMs?: number;
  /** Empty when opCount is past the frame's limit: such a frame is refused undecoded. */
  ops: (Op | undefined)[];
  opCount: number;
}

export interface FrameContext extends OperationContext {
  /** Date.now() when the frame arrived: remaining TTLs of the frame's gets are counted from it. */
  nowMs: number;
}

/**
 * How one stream flavour reads request frames, runs their operations and writes replies. Each keeps
 * its own operation and result shapes, so the packed flavour can answer its commonest case (a local
 * get) without building the protobuf-shaped objects in between.
 */
export interface FrameFormat<Req, Op, Result, Res> {
  /** The frame; with more than `maxOps` operations, only its head (ops empty) where that is cheaper. */
  decode(frame: Req, maxOps: number): DecodedFrame<Op>;
  execute(op: Op, index: number, ctx: FrameContext): Result | Promise<Result>;
  /** An INVALID_ARGUMENT result for operation `index` (undefined where it could not be read). */
  invalid(op: Op | undefined, index: number, message: string): Result;
  /** The result of an operation refused by a limit; alone in a reply, it stands for the whole frame. */
  refused(
    op: Op | undefined,
    index: number,
    refusal: { code: number; message: string; limit?: LimitName },
  ): Result;
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
  /**
   * What the frame's operations hold while they run beyond the frame's bytes (operationOverheadBytes):
   * counted toward when the node stops reading the stream (pipeline.ts), not toward refusals.
   */
  overheadBytes(decoded: DecodedFrame<Op>): number;
}

export type AnyFormat = FrameFormat<unknown, unknown, unknown, unknown>;

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

/** What a protobuf operation holds while it runs beyond its bytes (operationOverheadBytes). */
export function operationOverheadOf(op: OperationMsg): number {
  const key = (op as unknown as Record<string, { key?: unknown } | undefined>)[op.op]?.key;
  return operationOverheadBytes(op.op !== 'get', typeof key === 'string' ? key.length : 0);
}

/** The message of an operation that could not be read. */
export const malformed = (index: number) => `operation ${index} is malformed or of an unknown kind`;

export function protobufFormat(
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
    overheadBytes: (frame) => {
      let bytes = 0;
      for (const op of frame.ops) if (op) bytes += operationOverheadOf(op);
      return bytes;
    },
  };
}

/** Cache.PipelinePacked: payloads arrive and leave as raw bytes (see src/proto/packed.ts). */
export function packedFormat(
  executor: OperationExecutor,
  tracer: NodeTracer | undefined,
): FrameFormat<Buffer, unknown[], PackedResult, Buffer> {
  const localGet = executor.localGet?.bind(executor);
  /** A packed get (op code 0): it only reads. */
  const isRead = (p: unknown[] | undefined) => p?.[0] === 0;
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
    // Worth sending again only what wrote nothing: the whole frame (no op: refused before it ran), or a get.
    refused: (p, _index, refusal) => {
      const again = passesLater(refusal.limit) && (p === undefined || isRead(p));
      const name = !again ? '' : refusal.limit === 'max_reply_bytes' ? REPLY_FULL : TRY_AGAIN;
      return [refusal.code, refusal.message, name];
    },
    isRead,
    // Packed op codes 0-5 are get, set, delete, touch, incr, cas: OPERATIONS' first six.
    operationOf: (p) => (typeof p?.[0] === 'number' && p[0] >= 0 && p[0] <= 5 ? p[0] : -1),
    codeOf: (r) => r[0],
    partialReply: true,
    valueBytes: valueBytesOf,
    encode: (results, frameId, epoch, clockMs) => packReply(frameId, epoch, results, clockMs),
    messageBytes: (payload) => payload.length,
    requestBytes: (payload) => payload.length,
    overheadBytes: (frame) => {
      let bytes = 0;
      for (const p of frame.ops) {
        if (!p) continue;
        const key = p[1];
        bytes += operationOverheadBytes(p[0] !== 0, typeof key === 'string' ? key.length : 0);
      }
      return bytes;
    },
  };
}
