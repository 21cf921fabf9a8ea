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
import { isForwarded } from './cluster-token-guard';
import { runOperationMsg } from './operation-executor';
import { PipelineStreams, type PipelineDeps } from './pipeline';

export type CacheServiceDeps = PipelineDeps;

type UnaryCall<Req> = grpc.ServerUnaryCall<Req, unknown>;
type Callback = grpc.sendUnaryData<unknown>;

/** The ringcache.v1.Cache handlers: each unary call is one Operation through the same executor as Pipeline. */
export function cacheService(deps: CacheServiceDeps): {
  handlers: grpc.UntypedServiceImplementation;
  pipelines: PipelineStreams;
} {
  const pipelines = new PipelineStreams(deps);

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

  const unary = <K extends OpKind>(kind: K, shape?: (res: OperationResultMsg) => unknown) => {
    return (call: UnaryCall<OpRequests[K]>, callback: Callback) => {
      const op = { id: 0, op: kind, [kind]: call.request } as unknown as OperationMsg;
      void Promise.resolve(run(op, contextOf(call))).then((res) => {
        if (res.code !== Code.OK)
          return callback({ code: res.code, details: res.message, metadata: trailer(res.error) });
        callback(null, shape ? shape(res) : res[kind], trailer());
      });
    };
  };

  const tooMany = (what: string, n: number) => ({
    code: Code.INVALID_ARGUMENT,
    details: `${what} holds ${n} items; at most ${deps.maxBatch} per call (split it)`,
  });

  const handlers: grpc.UntypedServiceImplementation = {
    Get: unary('get', (res) => withText(res.get!)),
    Set: unary('set'),
    Delete: unary('delete'),
    Touch: unary('touch'),
    Increment: unary('increment'),
    CompareAndSet: unary('compareAndSet'),
    GetMany: (call: UnaryCall<GetManyRequestMsg>, callback: Callback) => {
      const { keys, consistency } = call.request;
      if (keys.length > deps.maxBatch) return callback(tooMany('GetMany', keys.length));
      const ctx = contextOf(call);
      const pending = keys.map((key, id) => run({ id, op: 'get', get: { key, consistency } }, ctx));
      void Promise.all(pending.map((r) => Promise.resolve(r))).then((results) => {
        const failed = results.find((r) => r.code !== Code.OK);
        if (failed) {
          return callback({
            code: failed.code,
            details: `keys[${failed.id}]: ${failed.message}`,
            metadata: trailer(failed.error),
          });
        }
        callback(null, { results: results.map((r) => r.get) }, trailer());
      });
    },
    SetMany: (call: UnaryCall<SetManyRequestMsg>, callback: Callback) => {
      const { items } = call.request;
      if (items.length > deps.maxBatch) return callback(tooMany('SetMany', items.length));
      const ctx = contextOf(call);
      void Promise.all(items.map((set, id) => Promise.resolve(run({ id, op: 'set', set }, ctx)))).then(
        (results) => callback(null, { results }, trailer()),
      );
    },
    Pipeline: (call: grpc.ServerDuplexStream<unknown, unknown>) => pipelines.serveProtobuf(call),
    PipelinePacked: (call: grpc.ServerDuplexStream<unknown, unknown>) => pipelines.servePacked(call),
  };
  return { handlers, pipelines };
}

/** Unary Get also fills `text` for people reading grpcurl output (bytes show as base64 there). */
function withText(get: GetResponseMsg): GetResponseMsg {
  return get.found && get.flags === ValueFlags.UTF8 ? { ...get, text: get.value.toString('utf8') } : get;
}
