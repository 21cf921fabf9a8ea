import type { ErrorCode } from '../errors';
import type { Logger } from '../observability/logger';
import { Code, type OperationMsg, type OperationResultMsg } from '../proto/messages';
import { toCodeAndMessage } from '../proto/status-codes';
import type { Store } from '../store/store';
import type { StoredValue } from '../store/types';
import type { Clock } from '../store/hlc';
import { checkKey } from '../store/validation';
import type { ClusterView } from './cluster-view';
import type { HintStore } from './hints';
import { applyLocal, keyOf } from './local-ops';
import { requiredReplicas, type ReplicationSettings } from './quorum';
import { QuorumReader } from './quorum-read';
import { ReplicaWriter } from './replica-write';

export interface OperationContext {
  /** Set when another node forwarded this operation: serve it here, never forward again (no loops). */
  forwarded: boolean;
  /** Absolute deadline (Date.now() based) for everything this operation does. */
  deadlineMs: number;
}

export interface CoordinatorOptions {
  view: ClusterView;
  store: Store;
  hints: HintStore;
  replication: ReplicationSettings;
  clock: Clock;
  logger: Logger;
  /** limits.max_key_bytes. */
  maxKeyBytes: number;
}

/**
 * Runs one Cache operation on this node, Dynamo-style (DESIGN.md "Data path"): a key outside this
 * node's preference list is forwarded to the first alive node of it; otherwise this node coordinates:
 * writes apply locally then go to the other replicas (answering once W acknowledged), reads consult R
 * replicas and return the newest version. Never throws: every outcome is an OperationResult with a code.
 * Returns synchronously when nothing remote is needed (R=1 reads, N=1 writes): no promise on the hot path.
 */
export class Coordinator {
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #rep: ReplicationSettings;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #writer: ReplicaWriter;
  readonly #reader: QuorumReader;
  readonly #maxKeyBytes: number;
  /** Operations forwarded because this node is not a replica of the key (stale client rings). */
  forwardedCount = 0;

  constructor(opts: CoordinatorOptions) {
    this.#view = opts.view;
    this.#store = opts.store;
    this.#rep = opts.replication;
    this.#clock = opts.clock;
    this.#log = opts.logger;
    this.#maxKeyBytes = opts.maxKeyBytes;
    this.#writer = new ReplicaWriter(opts.view, opts.hints, opts.logger);
    this.#reader = new QuorumReader(opts.view, opts.store, this.#writer);
  }

  /**
   * The common read on its own: a get this node answers from its store at once, because it is a
   * replica of the key and one copy is enough (R = 1). Returns the value, or null when the key is
   * absent; undefined means "not that simple" (a bad key, a key owned elsewhere, R > 1): use execute(),
   * which also reports errors. Lets a packed frame answer gets without building operation objects.
   */
  localGet(key: string, consistency: number, forwarded: boolean): StoredValue | null | undefined {
    if (requiredReplicas(consistency, 'read', this.#rep) > 1) return undefined;
    try {
      checkKey(key, this.#maxKeyBytes);
    } catch {
      return undefined;
    }
    if (!forwarded && !this.#preferenceList(key).includes(this.#view.selfId)) return undefined;
    return this.#store.get(key) ?? null;
  }

  /**
   * The key's replicas. When every node holds every key (N >= nodes, e.g. 3 of 3), the list's order
   * changes nothing this node does with it, so the key is not hashed at all.
   */
  #preferenceList(key: string): readonly string[] {
    const ring = this.#view.ring();
    return this.#rep.factor >= ring.nodeIds.length
      ? ring.nodeIds
      : ring.preferenceList(key, this.#rep.factor);
  }

  execute(op: OperationMsg, ctx: OperationContext): OperationResultMsg | Promise<OperationResultMsg> {
    const key = keyOf(op);
    if (key === undefined) {
      return failure(
        op.id,
        Code.INVALID_ARGUMENT,
        `operation ${op.id} names no kind: set one of get, set, delete, touch, increment, compare_and_set`,
        'INVALID_ARGUMENT',
      );
    }
    try {
      // Checked before routing: a bad key is refused here, never forwarded.
      checkKey(key, this.#maxKeyBytes);
    } catch (err) {
      return this.#failed(op.id, err);
    }
    const preferenceList = this.#preferenceList(key);
    if (!ctx.forwarded && !preferenceList.includes(this.#view.selfId)) {
      this.forwardedCount++;
      return this.#forward(op, preferenceList, ctx.deadlineMs);
    }
    try {
      if (op.op === 'get') {
        const r = requiredReplicas(op.get.consistency, 'read', this.#rep);
        if (r <= 1) return applyLocal(this.#store, op, this.#clock.now()).result;
        return this.#reader
          .get(op, preferenceList, r, ctx.deadlineMs)
          .catch((err) => this.#failed(op.id, err));
      }
      return this.#write(op, key, preferenceList, ctx.deadlineMs).catch((err) => this.#failed(op.id, err));
    } catch (err) {
      return this.#failed(op.id, err);
    }
  }

  async #write(
    op: OperationMsg,
    key: string,
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<OperationResultMsg> {
    if (op.op === 'increment' || op.op === 'compareAndSet') {
      // Decided here, so this copy must be current first: a replica that restarted empty, or missed a
      // write, would otherwise count from a stale value.
      await this.#reader.catchUp(key, preferenceList, deadlineMs);
    }
    const local = applyLocal(this.#store, op, this.#clock.now());
    if (!local.written || this.#rep.factor === 1) return local.result;
    const consistency = (op as unknown as Record<string, { consistency?: number }>)[op.op]?.consistency ?? 0;
    const w = requiredReplicas(consistency, 'write', this.#rep);
    const acks = await this.#writer.replicate(key, local.written, preferenceList, w, deadlineMs);
    if (acks.acknowledged < w) {
      return failure(
        op.id,
        Code.UNAVAILABLE,
        `write of key '${key}' was acknowledged by ${acks.acknowledged} of the ${w} replicas it needs ` +
          `(write quorum ${w}, replication factor ${this.#rep.factor}; unreachable: ${acks.missing.join(', ') || 'none'}). ` +
          `It is kept on ${acks.holders.join(', ')} and will reach the others through hints; retry or lower consistency.`,
        'QUORUM_NOT_MET',
      );
    }
    return local.result;
  }

  async #forward(
    op: OperationMsg,
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<OperationResultMsg> {
    const candidates = preferenceList.filter((id) => this.#view.isAlive(id));
    if (candidates.length === 0) candidates.push(...preferenceList);
    let last: OperationResultMsg | undefined;
    for (const id of candidates) {
      const { id: _ignored, ...body } = op;
      const result = await this.#view.peer(id).forwarder.send(body, deadlineMs);
      if (result.code !== Code.UNAVAILABLE) return { ...result, id: op.id };
      last = result;
    }
    return failure(
      op.id,
      Code.UNAVAILABLE,
      `no replica of the key answered (${preferenceList.join(', ')}): ${last?.message ?? 'all down'}`,
    );
  }

  #failed(id: number, err: unknown): OperationResultMsg {
    const { code, message, error } = toCodeAndMessage(err, (bug) =>
      this.#log.error({ err: bug }, 'unexpected error in coordinator'),
    );
    return failure(id, code, message, error);
  }
}

export function failure(
  id: number,
  code: number,
  message: string,
  error: ErrorCode = 'UNAVAILABLE',
): OperationResultMsg {
  return { id, code, message, error };
}
