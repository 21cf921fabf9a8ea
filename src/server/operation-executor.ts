import type { Consistency, Operation, OperationContext, Outcome } from '../cluster/replication/operation';
import type { StoredValue } from '../store/types';

/** What the Cache service and the Pipeline streams run operations on: the node's core. Never throws. */
export interface OperationExecutor {
  execute(op: Operation, ctx: OperationContext): Outcome | Promise<Outcome>;
  /**
   * Optional shortcut for the commonest operation: a get answered from the local store at once.
   * Value, null when absent, undefined when execute() must handle it (see Coordinator.localGet).
   */
  localGet?(key: string, consistency: Consistency, forwarded: boolean): StoredValue | null | undefined;
}
