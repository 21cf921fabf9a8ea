import * as grpc from '@grpc/grpc-js';
import type { OperationContext } from '../cluster/replication/operation';
import {
  Code,
  METADATA,
  ValueFlags,
  type GetManyRequestMsg,
  type GetResponseMsg,
  type OperationMsg,
  type OperationResultMsg,
  type OpKind,
  type OpRequests,
  type SetManyRequestMsg,
} from '../proto/messages';
import { OPERATIONS } from '../observability/request-metrics';
import { isForwarded } from './cluster-token-guard';
import { runOperationMsg } from './operation-executor';
import { operationBytes, operationOverheadOf, requestHeldBytes } from './frame-formats';
import { PipelineStreams, type PipelineDeps } from './pipeline';
import {
  batchRefusal,
  http2StreamOf,
  onStreamClosed,
  ReplyBudget,
  replyLimitRefusal,
  TooManyItems,
  withBatchBounds,
  type LimitRefusal,
} from './request-limits';
import { READ_STEP_BYTES, ReadTurns } from './read-turns';

export type CacheServiceDeps = PipelineDeps;

/** The unary calls' operation names, in request-metrics.ts OPERATIONS' order. */
const UNARY_OPERATIONS: readonly string[] = ['get', 'set', 'delete', 'touch', 'increment', 'compareAndSet'];
/** The same calls as their clients name them: what a refusal says. */
const UNARY_NAMES: readonly string[] = ['Get', 'Set', 'Delete', 'Touch', 'Increment', 'CompareAndSet'];
const GET_MANY = OPERATIONS.indexOf('get_many');
const SET_MANY = OPERATIONS.indexOf('set_many');

type UnaryCall<Req> = grpc.ServerUnaryCall<Req, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

/**
 * The ringcache.v1.Cache handlers: each unary call is one Operation through the same executor as
 * Pipeline. `withBatchBounds` is the service definition to serve them with: it counts the items of a
 * GetMany, SetMany or Pipeline frame before they are decoded (request-limits.ts).
 */
export function cacheService(deps: CacheServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  pipelines: PipelineStreams;
  withBatchBounds(service: grpc.ServiceDefinition): grpc.ServiceDefinition;
} {
  const pipelines = new PipelineStreams(deps);
  const readTurns = new ReadTurns();

  const contextOf = (call: { getDeadline(): grpc.Deadline; metadata: grpc.Metadata }): OperationContext => {
    const deadline = call.getDeadline();
    const deadlineMs =
      deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : Infinity;
    return {
      forwarded: isForwarded(call.metadata, deps.clusterToken),
      deadlineMs: Math.min(deadlineMs, Date.now() + deps.defaultTimeoutMs),
    };
  };
  const trailer = (error?: string) => {
    const md = new grpc.Metadata();
    md.set(METADATA.epoch, String(deps.epoch()));
    if (error) md.set(METADATA.errorCode, error);
    return md;
  };

  const run = (msg: OperationMsg, ctx: OperationContext) =>
    runOperationMsg(deps.executor, msg, ctx, Date.now());

  /** A unary call's answer in the request metrics (request-metrics.ts OPERATIONS). */
  const answered = (operation: number, startedAt: number, code: number) =>
    pipelines.requests.record(operation, code, (performance.now() - startedAt) / 1000);

  const input = pipelines.input;
  /**
   * Counts a client's write in max_client_input_bytes until it is answered: what to release then, or
   * undefined when the node holds too much already (the call is then refused, naming the limit).
   * 0 for a call forwarded by a node: counted where its client sent it.
   */
  const held = (call: UnaryCall<unknown>, bytes: number): number | undefined => {
    return isForwarded(call.metadata, deps.clusterToken)
      ? 0
      : pipelines.requestReads.take(http2StreamOf(call), bytes);
  };

  const unary = <K extends OpKind>(kind: K, shape?: (res: OperationResultMsg) => unknown) => {
    const operation = UNARY_OPERATIONS.indexOf(kind);
    // Every write holds its key and value and its round's state until it is answered, so a flood of
    // unary deletes, touches or increments is bounded as one of Sets is. A Get holds its key only.
    const counts = kind !== 'get';
    return (call: UnaryCall<OpRequests[K]>, callback: Callback) => {
      const startedAt = performance.now();
      deps.onRequest?.();
      const op = { id: 0, op: kind, [kind]: call.request } as unknown as OperationMsg;
      const bytes = counts ? held(call, operationBytes(op) + operationOverheadOf(op)) : 0;
      if (bytes === undefined) {
        answered(operation, startedAt, Code.RESOURCE_EXHAUSTED);
        return refuse(callback, {
          ...input.refusal(UNARY_NAMES[operation]!),
          requestBytes: operationBytes(op),
        });
      }
      void Promise.resolve(run(op, contextOf(call))).then((res) => {
        input.release(bytes);
        answered(operation, startedAt, res.code);
        if (res.code !== Code.OK)
          return callback({ code: res.code, details: res.message, metadata: trailer(res.error) });
        callback(null, shape ? shape(res) : res[kind], trailer());
      });
    };
  };

  /**
   * Whether the values this node holds for `keys` add up to more than max_reply_bytes: such a GetMany
   * is refused before a value is copied. Reading, which counts as it goes, would copy up to the limit
   * first, and 32 of them at once left the collector some 70 MB of copies to find. Asked only of a
   * GetMany of enough keys to pass the limit at all; the keys are looked up, never read.
   */
  const heldPastReplyLimit = (keys: readonly string[]): boolean => {
    const { maxReplyBytes, maxValueBytes } = deps.limits;
    const executor = deps.executor;
    if (!executor.localValueBytes || keys.length * maxValueBytes <= maxReplyBytes) return false;
    let bytes = 0;
    for (const key of keys) {
      bytes += executor.localValueBytes(key);
      if (bytes > maxReplyBytes) return true;
    }
    return false;
  };

  /** A call refused whole by a limit: counted, and answered with the limit named. */
  const refuse = (callback: Callback, refusal: LimitRefusal) => {
    pipelines.refusals.note(refusal);
    callback({ code: refusal.code, details: refusal.message, metadata: trailer() });
  };

  const handlers: grpc.UntypedServiceImplementation = {
    Get: unary('get', (res) => withText(res.get!)),
    Set: unary('set'),
    Delete: unary('delete'),
    Touch: unary('touch'),
    Increment: unary('increment'),
    CompareAndSet: unary('compareAndSet'),
    GetMany: (call: UnaryCall<GetManyRequestMsg | TooManyItems>, reply: Callback) => {
      const startedAt = performance.now();
      deps.onRequest?.();
      const callback: Callback = (err, value, trailer) => {
        answered(GET_MANY, startedAt, err ? (err.code ?? Code.UNKNOWN) : Code.OK);
        reply(err, value, trailer);
      };
      const request = call.request;
      if (request instanceof TooManyItems) return refuse(callback, request.refusal);
      const { keys, consistency } = request;
      const tooMany = batchRefusal('GetMany', keys.length, 'keys', deps.limits);
      if (tooMany) return refuse(callback, tooMany);
      if (heldPastReplyLimit(keys))
        return refuse(callback, {
          ...replyLimitRefusal('GetMany', deps.limits.maxReplyBytes),
          requestBytes: keysBytes(keys),
        });
      const ctx = contextOf(call);
      // Values are summed as they are read, and reading stops past max_reply_bytes (or the node's
      // max_client_output_bytes): the reply is never built, and the store's copies stop at the limit
      // (reads answered at once; reads sent to replicas are all in flight before their sizes are
      // known). The node counts them until the call has ended: a client that does not read keeps them.
      let budget = new ReplyBudget(deps.limits.maxReplyBytes, pipelines.output);
      const counted = (r: OperationResultMsg) => {
        budget.add(r.get?.value?.length ?? 0);
        return r;
      };
      const pending: Promise<OperationResultMsg>[] = [];
      // Reads READ_STEP_BYTES of values at most; true once every key is read (or the budget is
      // past, or the caller gone). The first step runs now, the others in turns (read-turns.ts).
      let next = 0;
      let remote = false;
      const readStep = (): boolean => {
        let bytes = 0;
        for (; next < keys.length && !budget.exceeded && bytes < READ_STEP_BYTES; next++) {
          const r = run({ id: next, op: 'get', get: { key: keys[next]!, consistency } }, ctx);
          if (r instanceof Promise) {
            remote = true;
            pending.push(r.then(counted));
          } else {
            bytes += r.get?.value?.length ?? 0;
            pending.push(Promise.resolve(counted(r)));
          }
        }
        return next >= keys.length || budget.exceeded || call.cancelled;
      };
      const refused = () => {
        budget.release();
        refuse(callback, budget.refusal('GetMany'));
      };
      const answer = () => {
        if (call.cancelled) return budget.release();
        if (budget.exceeded) return refused();
        void Promise.all(pending).then((results) => {
          if (budget.exceeded) return refused();
          const failed = results.find((r) => r.code !== Code.OK);
          if (failed) {
            budget.release();
            return callback({
              code: failed.code,
              details: `keys[${failed.id}]: ${failed.message}`,
              metadata: trailer(failed.error),
            });
          }
          callback(null, { results: results.map((r) => r.get) }, trailer());
          if (!onStreamClosed(call, () => budget.release())) budget.release();
        });
      };
      if (readStep()) return answer();
      if (!remote) {
        // A large reply, read only here: it starts again in its turn, holding nothing of the
        // output budget while it waits. Held, the first steps of the replies waiting took the
        // budget, and the one reading was refused past it, its copies for nothing.
        budget.release();
        budget = new ReplyBudget(deps.limits.maxReplyBytes, pipelines.output);
        pending.length = 0;
        next = 0;
      }
      void readTurns.run(readStep).then(answer);
    },
    SetMany: (call: UnaryCall<SetManyRequestMsg | TooManyItems>, reply: Callback) => {
      const startedAt = performance.now();
      deps.onRequest?.();
      const callback: Callback = (err, value, trailer) => {
        answered(SET_MANY, startedAt, err ? (err.code ?? Code.UNKNOWN) : Code.OK);
        reply(err, value, trailer);
      };
      const request = call.request;
      if (request instanceof TooManyItems) return refuse(callback, request.refusal);
      const { items } = request;
      const tooMany = batchRefusal('SetMany', items.length, 'items', deps.limits);
      if (tooMany) return refuse(callback, tooMany);
      let bytes = 0;
      for (const set of items) bytes += requestHeldBytes(set);
      const holds = held(call, bytes);
      if (holds === undefined) return refuse(callback, { ...input.refusal('SetMany'), requestBytes: bytes });
      const ctx = contextOf(call);
      void Promise.all(items.map((set, id) => Promise.resolve(run({ id, op: 'set', set }, ctx)))).then(
        (results) => {
          input.release(holds);
          callback(null, { results }, trailer());
        },
      );
    },
    Pipeline: (call: grpc.ServerDuplexStream<unknown, unknown>) => pipelines.serveProtobuf(call),
    PipelinePacked: (call: grpc.ServerDuplexStream<unknown, unknown>) => pipelines.servePacked(call),
  };
  return { handlers, pipelines, withBatchBounds: (service) => withBatchBounds(service, deps.limits) };
}

/** Unary Get also fills `text` for people reading grpcurl output (bytes show as base64 there). */
function withText(get: GetResponseMsg): GetResponseMsg {
  return get.found && get.flags === ValueFlags.UTF8 ? { ...get, text: get.value.toString('utf8') } : get;
}

/**
 * About what a GetMany of `keys` took on the wire (each key a tag, a length and its characters): the
 * bytes it was read in before it could be refused, for the memory guard's view of a flood.
 */
function keysBytes(keys: readonly string[]): number {
  let bytes = 0;
  for (const key of keys) bytes += key.length + 2;
  return bytes;
}
