import type { Consistency, Operation, OperationContext, Outcome } from '../cluster/replication/operation';
import type { HotKeys } from '../observability/hot-keys';
import type { StoredValue } from '../store/types';
import type { OperationExecutor } from './operation-executor';

/**
 * The node's executor with hot-key sampling in front: every Cache operation (unary calls, GetMany,
 * SetMany and Pipeline frames alike) passes here before the core runs it. An operation another node
 * forwarded is not counted: the node the client reached counted it, so each client call is counted
 * once in the cluster.
 */
export function withHotKeySampling(executor: OperationExecutor, hotKeys: HotKeys): OperationExecutor {
  return {
    execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome> {
      if (!ctx.forwarded) {
        if (op.kind === 'get') hotKeys.read(op.key);
        else hotKeys.write(op.key);
      }
      return executor.execute(op, ctx);
    },
    ...(executor.localGet && {
      // A method call, not a bound function, which V8 does not inline through: this runs on every
      // get a Pipeline frame answers at once.
      localGet(key: string, consistency: Consistency, forwarded: boolean): StoredValue | null | undefined {
        const value = executor.localGet!(key, consistency, forwarded);
        // undefined: execute() will run the get, and count it there.
        if (value !== undefined && !forwarded) hotKeys.read(key);
        return value;
      },
    }),
    ...(executor.localValueBytes && { localValueBytes: executor.localValueBytes.bind(executor) }),
  };
}
