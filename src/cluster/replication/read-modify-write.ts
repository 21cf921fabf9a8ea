import { RingCacheError } from '../../errors';
import type { Store } from '../../store/store';
import type { StoreRecord } from '../../store/types';
import type { ClusterView } from '../cluster-view';
import { copyHolders } from './copy-holders';
import { applyLocal } from './local-ops';
import type { Outcome, ReadModifyWrite } from './operation';
import { requiredReplicas, type ReplicationSettings } from './quorum';
import type { ReplicaWriter } from './replica-write';
import type { RequestLog } from './request-log';

/** Pause before asking again a replica whose connection failed at once (refused, reconnecting). */
const LOOKUP_RETRY_MS = 50;

/**
 * How the key's coordinator runs a read-modify-write (incr, cas, touch, a conditional set) exactly
 * once (issue 11 §1):
 * 1. A request it already holds the outcome of (a retry) is answered with that outcome, after making
 *    sure the write reached W replicas; nothing is applied again.
 * 2. Catch-up: it reads the key from enough other replicas that, with its own copy, they overlap every
 *    acknowledged write (N - W + 1 copies), and takes the newest. A replica that holds the request's
 *    outcome ends it as in 1. It waits for those answers only, never for a slow or paused replica
 *    beyond them, and never past the call's deadline.
 * 3. Past the deadline nothing is applied: the caller has been told DEADLINE_EXCEEDED.
 * 4. It applies the operation to its store, remembers the outcome under the request id, and sends the
 *    record with the request to the other replicas, waiting for at least the configured W of them
 *    (a per-call consistency may raise that, never lower it: 2. relies on it).
 */
export class ReadModifyWriter {
  readonly #view: ClusterView;
  readonly #store: Store;
  readonly #rep: ReplicationSettings;
  readonly #writer: ReplicaWriter;
  readonly #requests: RequestLog;

  constructor(
    view: ClusterView,
    store: Store,
    rep: ReplicationSettings,
    writer: ReplicaWriter,
    requests: RequestLog,
  ) {
    this.#view = view;
    this.#store = store;
    this.#rep = rep;
    this.#writer = writer;
    this.#requests = requests;
  }

  async run(
    op: ReadModifyWrite & { requestId: string },
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<Outcome> {
    const clock = this.#view.scheduler;
    const known = this.#requests.get(op.requestId, op.key, clock.now());
    if (known) return this.#settle(op, known, preferenceList, deadlineMs);
    const caughtUp = await this.#catchUp(op, preferenceList, deadlineMs);
    if (caughtUp instanceof RingCacheError) return caughtUp;
    if (caughtUp) {
      this.#requests.remember(op.key, { id: op.requestId, outcome: caughtUp }, clock.now());
      return this.#settle(op, caughtUp, preferenceList, deadlineMs);
    }
    if (clock.now() >= deadlineMs) {
      return new RingCacheError(
        'DEADLINE_EXCEEDED',
        `${op.kind} of key '${op.key}' not applied: its deadline passed during catch-up`,
      );
    }
    const local = applyLocal(this.#store, op);
    const request = { id: op.requestId, outcome: local.result };
    this.#requests.remember(op.key, request, clock.now());
    if (!local.written || this.#rep.factor === 1) return local.result;
    return this.#replicated(op, local.result, preferenceList, deadlineMs, request);
  }

  /** A request applied before: the record this node holds now goes to the replicas, then the first outcome. */
  #settle(
    op: ReadModifyWrite & { requestId: string },
    outcome: Outcome,
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<Outcome> | Outcome {
    if (this.#rep.factor === 1 || outcome instanceof RingCacheError) return outcome;
    return this.#replicated(op, outcome, preferenceList, deadlineMs, { id: op.requestId, outcome });
  }

  async #replicated(
    op: ReadModifyWrite,
    outcome: Outcome,
    preferenceList: readonly string[],
    deadlineMs: number,
    request: { id: string; outcome: Exclude<Outcome, RingCacheError> } | undefined,
  ): Promise<Outcome> {
    const record = this.#store.readRecord(op.key);
    if (!record) return outcome;
    // At least the configured W, whatever the call asked: the next coordinator's catch-up reads
    // N - W + 1 copies, which must overlap this write (a per-call 'one' would let it slip past).
    const w = Math.max(
      requiredReplicas(op.consistency, 'write', this.#rep),
      requiredReplicas('default', 'write', this.#rep),
    );
    const acks = await this.#writer.replicate(op.key, record, preferenceList, w, deadlineMs, request);
    if (acks.acknowledged >= w) return outcome;
    return new RingCacheError(
      'QUORUM_NOT_MET',
      `${op.kind} of key '${op.key}' was acknowledged by ${acks.acknowledged} of the ${w} replicas it needs ` +
        `(write quorum ${w}, replication factor ${this.#rep.factor}; unreachable: ${acks.missing.join(', ') || 'none'}). ` +
        `It was applied once; a retry with the same request returns its outcome without applying it again.`,
    );
  }

  /** A replica's copy, kept if newer; one this node's limits refuse counts as an answer all the same. */
  #applyCopy(key: string, record: StoreRecord): void {
    try {
      this.#store.applyRecord(key, record);
    } catch {
      // Refused by this node's own limits (a larger max_value_bytes elsewhere): its copy stays.
    }
  }

  /**
   * Brings this copy up to the newest among N - W + 1 copies (its own included). Resolves with the
   * request's outcome when a replica already holds it, undefined once caught up, or QUORUM_NOT_MET
   * when too few replicas answered before the deadline (then nothing was applied).
   */
  #catchUp(
    op: ReadModifyWrite & { requestId: string },
    preferenceList: readonly string[],
    deadlineMs: number,
  ): Promise<Outcome | undefined> {
    const others = copyHolders(this.#view, op.key, preferenceList);
    // While this node catches up its own copy proves nothing: one more replica must answer instead.
    const own = this.#view.catchingUp() ? 0 : 1;
    const needed = Math.min(this.#rep.factor - this.#rep.writeQuorum + 1 - own, preferenceList.length - 1);
    if (needed <= 0) return Promise.resolve(undefined);
    if (others.length < needed) {
      return Promise.resolve(
        new RingCacheError(
          'QUORUM_NOT_MET',
          `${op.kind} of key '${op.key}' not applied: it must read ${needed + 1} replicas first and only ${others.length + 1} of ${preferenceList.join(', ')} are alive`,
        ),
      );
    }
    return new Promise((resolve) => {
      let answered = 0;
      let outstanding = others.length;
      let done = false;
      const finish = (v: Outcome | undefined) => {
        if (done) return;
        done = true;
        resolve(v);
      };
      const ask = (replica: string) => {
        void this.#view.transport.lookup(replica, op.key, op.requestId, deadlineMs).then((found) => {
          if (done) return;
          if (found instanceof RingCacheError) {
            // A connection refused or still coming up fails at once: ask again while time is left,
            // so a replica that is merely reconnecting still answers in time.
            const retryAtMs = this.#view.scheduler.now() + LOOKUP_RETRY_MS;
            if (found.code === 'UNAVAILABLE' && retryAtMs < deadlineMs) {
              this.#view.scheduler.setTimeout(() => done || ask(replica), LOOKUP_RETRY_MS);
              return;
            }
          } else {
            answered++;
            if (found.record) this.#applyCopy(op.key, found.record);
            if (found.outcome) return finish(found.outcome);
          }
          if (answered >= needed) return finish(undefined);
          if (--outstanding === 0) {
            finish(
              new RingCacheError(
                'QUORUM_NOT_MET',
                `${op.kind} of key '${op.key}' not applied: ${answered} of the ${needed} other replicas it must read first answered before the deadline`,
              ),
            );
          }
        });
      };
      for (const replica of others) ask(replica);
    });
  }
}
