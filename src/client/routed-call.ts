import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import {
  OP_KIND,
  OpCode,
  REPLY_FULL,
  TRY_AGAIN,
  type PackedFailure,
  type PackedOp,
  type PackedReply,
} from '../proto/packed';
import type { OnStall } from '../transport/batched-stream';

/** What one call needs of the router: its replicas, attempts at them, and the map's refresh. */
export interface CallRoutes {
  /** The key's replicas in the order to try them (the router's tiers: alive, busy, suspect, stalled, rest). */
  candidates(key: string): readonly string[];
  /** One attempt at `id`; never rejects. `onStall`: the attempt outlived its budget (see BatchedStream). */
  send(id: string, op: PackedOp, deadlineMs: number, onStall: OnStall | undefined): Promise<PackedReply>;
  /** An attempt at `id` outlived its budget while the call's deadline was still ahead. */
  stalled(id: string, deadlineMs: number): void;
  /** Whether `id` is taken for stalled (an attempt there outlived its budget, no probe answered since). */
  isStalled(id: string): boolean;
  /** `id` refused an attempt for a limit before running it (TRY_AGAIN): it is busy for a moment. */
  busy(id: string): void;
  /** Whether a failed reply may be tried at another replica (e.g. not an increment that may be applied). */
  shouldRetry(op: PackedOp, res: PackedReply): boolean;
  /** Refreshes the cluster map; resolves when done, never rejects. */
  refresh(): Promise<void>;
  /** Rounds after the first, each after a refresh and a backoff. */
  readonly maxRetries: number;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * One call's attempts at the replicas of its key. A round tries each replica once, by id, in the
 * router's order (a stalled replica last); an attempt that fails moves the call on to the next
 * replica at once, and one that outlives its budget moves it on too, but stays in flight: its reply,
 * when it comes, is as good as any (a slow node is not a failed one). The first success, or the first
 * failure not worth another replica, settles the call. When every attempt of a round failed, the map
 * is refreshed and, after a backoff, another round starts, up to `maxRetries` more, all within the
 * call's deadline. So a call sends its operation at most once to each replica per round, and a round
 * after the first starts only once every attempt of the one before has failed, never while one waits.
 *
 * A write (`hedge` false) is never moved on for a budget, only when its replica fails outright
 * (unreachable, refused): see the router's mayHedge.
 */
export class RoutedCall<O extends PackedOp, T> {
  readonly #routes: CallRoutes;
  readonly #key: string;
  readonly #op: O;
  readonly #deadlineMs: number;
  readonly #hedge: boolean;
  readonly #answer: (res: PackedReply<O>) => T;
  readonly #resolve: (value: T) => void;
  readonly #reject: (err: unknown) => void;
  /** Replicas tried in this round (a few: an array is cheaper than a Set). */
  readonly #tried: string[] = [];
  /** Every replica that failed, how often and its last message: for the error. Made on the first. */
  #failures: Map<string, { times: number; message: string }> | undefined;
  #round = 0;
  #inFlight = 0;
  /** Whether some replica was reached but ran out of time: else every one was down or refused. */
  #timedOut = false;
  #settled = false;
  /** Whether a round is ending (refresh and backoff): no attempt starts meanwhile. */
  #betweenRounds = false;
  /**
   * Whether a replica deleted the key's live value for this call, then missed its quorum: a later
   * attempt elsewhere finds the key absent, yet this call did delete it.
   */
  #deletedEarlier = false;
  /** Whether a replica was reached and missed its quorum: the call's error then says so. */
  #quorumMissed = false;
  /** Whether every failure was a refusal for a limit, to be sent again (TRY_AGAIN): likewise. */
  #onlyRefusedForNow = true;

  constructor(
    routes: CallRoutes,
    key: string,
    op: O,
    deadlineMs: number,
    hedge: boolean,
    answer: (res: PackedReply<O>) => T,
    resolve: (value: T) => void,
    reject: (err: unknown) => void,
  ) {
    this.#routes = routes;
    this.#key = key;
    this.#op = op;
    this.#deadlineMs = deadlineMs;
    this.#hedge = hedge;
    this.#answer = answer;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  /** Starts the first attempt. */
  start(): void {
    this.#next();
  }

  /**
   * Starts an attempt at the first replica not tried in this round; ends the round if none is left
   * and none is in flight. A hedge (`hedging`: an attempt outlived its budget, and waits on) goes
   * only to a replica not itself stalled: when every other one is slow too (all busy with large
   * values, the whole cluster starved of CPU), another copy would only add to their work, and the
   * attempt in flight is as good as any.
   */
  #next(hedging = false): void {
    if (this.#settled || this.#betweenRounds) return;
    const candidates = this.#routes.candidates(this.#key);
    if (this.#routes.now() < this.#deadlineMs) {
      for (const id of candidates) {
        if (this.#tried.includes(id)) continue;
        if (hedging && this.#routes.isStalled(id)) return;
        return this.#attempt(id, candidates);
      }
    }
    if (this.#inFlight === 0) void this.#endRound();
  }

  #attempt(id: string, candidates: readonly string[]): void {
    this.#tried.push(id);
    this.#inFlight++;
    // The node is marked stalled either way (new calls then try it last); moving on helps only a
    // call that may be hedged, while another replica is left to try in this round.
    const another = this.#hedge && candidates.some((c) => !this.#tried.includes(c));
    const onStall = () => {
      this.#routes.stalled(id, this.#deadlineMs);
      if (another) this.#next(true);
    };
    void this.#routes.send(id, this.#op, this.#deadlineMs, onStall).then((res) => this.#answered(id, res));
  }

  #answered(id: string, res: PackedReply): void {
    this.#inFlight--;
    if (this.#settled) return;
    if (res[0] === Code.OK || !this.#routes.shouldRetry(this.#op, res)) {
      this.#settled = true;
      if (this.#deletedEarlier && res[0] === Code.OK && this.#op[0] === OpCode.delete) res = [Code.OK, true];
      // `answer` turns the reply into the call's value (or throws its typed error) in this one step,
      // which saves each call a second promise and microtask.
      try {
        this.#resolve(this.#answer(res as PackedReply<O>));
      } catch (err) {
        this.#reject(err);
      }
      return;
    }
    if ((res as PackedFailure)[3] === true) this.#deletedEarlier = true;
    if ((res as PackedFailure)[2] === 'QUORUM_NOT_MET') this.#quorumMissed = true;
    const errorName = (res as PackedFailure)[2];
    if (errorName === TRY_AGAIN) this.#routes.busy(id);
    else if (errorName !== REPLY_FULL) this.#onlyRefusedForNow = false;
    const failures = (this.#failures ??= new Map<string, { times: number; message: string }>());
    const f = failures.get(id);
    failures.set(id, { times: (f?.times ?? 0) + 1, message: String(res[1]) });
    if (res[0] === Code.DEADLINE_EXCEEDED) {
      this.#timedOut = true;
      this.#routes.stalled(id, this.#deadlineMs);
    }
    this.#next();
  }

  async #endRound(): Promise<void> {
    const left = this.#deadlineMs - this.#routes.now();
    if (this.#round >= this.#routes.maxRetries || left <= 0) return this.#fail(left);
    this.#betweenRounds = true;
    await this.#routes.refresh();
    await this.#routes.sleep(
      Math.min(50 * 2 ** this.#round, Math.max(0, this.#deadlineMs - this.#routes.now())),
    );
    this.#betweenRounds = false;
    this.#round++;
    this.#tried.length = 0;
    this.#next();
  }

  #fail(left: number): void {
    this.#settled = true;
    // The most telling cause: out of time, or replicas reached that could not reach enough others
    // (a write at ALL with one replica frozen), or every replica too busy to take it (a limit of
    // theirs, RESOURCE_EXHAUSTED: nothing was written), else none reached at all. An attempt that may
    // have been applied (a broken stream, a deadline) is never hidden behind a later refusal.
    const code =
      left <= 0 && this.#timedOut
        ? 'DEADLINE_EXCEEDED'
        : this.#quorumMissed
          ? 'QUORUM_NOT_MET'
          : this.#failures && this.#onlyRefusedForNow
            ? 'OUT_OF_MEMORY'
            : 'UNAVAILABLE';
    const tried = [...(this.#failures ?? [])]
      .map(([id, f]) => `${id} (${f.times}x): ${f.message}`)
      .join('; ');
    const kind = OP_KIND[this.#op[0]] ?? 'operation';
    this.#reject(
      new RingCacheError(
        code,
        `${kind} of key '${this.#key}' failed on every replica after ${this.#round + 1} round(s); tried ${tried}`,
      ),
    );
  }
}
