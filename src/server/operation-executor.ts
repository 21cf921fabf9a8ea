import type { Consistency, Operation, OperationContext, Outcome } from '../cluster/replication/operation';
import { RingCacheError } from '../errors';
import type { OperationMsg, OperationResultMsg } from '../proto/messages';
import type { StoredValue } from '../store/types';
import { operationFromMsg, outcomeToMsg } from './operation-wire';

/** What the Cache service and the Pipeline streams run operations on: the node's core. Never throws. */
export interface OperationExecutor {
  execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome>;
  /**
   * Optional shortcut for the commonest operation: a get answered from the local store at once.
   * Value, null when absent, undefined when execute() must handle it (see Coordinator.localGet).
   */
  localGet?(key: string, consistency: Consistency, forwarded: boolean): StoredValue | null | undefined;
  /** Bytes of the value this node holds for `key`, 0 when none, without a copy: a reply's size before it is read. */
  localValueBytes?(key: string): number;
}

/**
 * One protobuf Operation through the executor, its outcome as an OperationResult (unary calls and
 * Pipeline frames alike). `nowMs` turns an entry's expiry into its remaining TTL when the answer is
 * at once; an answer that comes later counts from when it came.
 */
export function runOperationMsg(
  executor: OperationExecutor,
  msg: OperationMsg,
  ctx: OperationContext,
  nowMs: number,
): OperationResultMsg | Promise<OperationResultMsg> {
  const op = operationFromMsg(msg);
  if (op instanceof RingCacheError) return outcomeToMsg(op, msg.id, nowMs);
  // An operation's own bound (a node forwarding a client's write sets it; 0 is none), on top of its
  // frame's: a new context only then.
  const bound = msg.notAfterMs;
  const r = executor.execute(
    op,
    bound
      ? { ...ctx, notAfterMs: ctx.notAfterMs === undefined ? bound : Math.min(ctx.notAfterMs, bound) }
      : ctx,
  );
  return r instanceof Promise
    ? r.then((o) => outcomeToMsg(o, msg.id, Date.now()))
    : outcomeToMsg(r, msg.id, nowMs);
}
