import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import { OP_KIND, OpCode, type PackedFailure, type PackedOp, type PackedReply } from '../proto/packed';
import { PackedConnection } from '../transport/packed-connection';
import type { ClusterMap, MemberStateName } from './topology-client';
import { errorFromWire, isRetryable } from './wire-errors';

export interface RouterOptions {
  maxRetries: number;
  maxOpsPerFrame: number;
  maxFramesInFlight: number;
  /** Refreshes the cluster map (coalesced by the caller); resolves when done, never rejects. */
  refresh: () => Promise<void>;
  /** Called with the epoch of every reply, so a newer cluster map is fetched when a node has one. */
  onEpoch: (epoch: number) => void;
}

/**
 * Increment and compare-and-set without a request id: applying one twice is not the same as applying
 * it once. With one (the SDK always sends one) the cluster answers a retry with the first outcome.
 */
function notIdempotent(op: PackedOp): boolean {
  if (op[0] === OpCode.incr) return typeof op[6] !== 'string';
  if (op[0] === OpCode.cas) return typeof op[8] !== 'string';
  return false;
}

/**
 * Sends each operation to the first live node of its key's preference list, over one batched stream
 * per node. When that node fails (UNAVAILABLE, deadline) the next replica of the list gets the call at
 * once, without waiting for the topology to change; when all have failed, the map is refreshed and the
 * list tried again with backoff, a bounded number of rounds, all within the call's deadline.
 *
 * A node that stops answering (SIGSTOP, a GC pause, a saturated link) must not hold the calls sent to
 * it for their whole deadline (issue 12 §1). So each frame sent gets a budget from the node's recent
 * round trips (4 x their p99, within 50..250 ms, plus time for its bytes; see attemptBudgetMs): past
 * it its calls, and those queued behind it, move on to the next replica, and the node is marked
 * stalled. New calls skip a stalled node (it goes last in every preference list)
 * until a probe, sent every 200 ms, is answered again (half-open). Suspect members (gossip, streamed
 * by WatchTopology) go after alive ones too. The budget is there to reach another replica sooner:
 * once every replica has been tried, attempts wait until the call's deadline (all nodes busy with
 * large values, or the whole cluster frozen for a moment, must not fail calls whose deadline allows).
 */
export class Router {
  #map: ClusterMap;
  /** Members of #map that are alive or suspect: worked out once per map, not once per call. */
  #live: ReadonlySet<string>;
  /** Members of #map that are alive (not suspect). */
  #alive: ReadonlySet<string>;
  /** Whether every member of #map is alive: then preference lists need no reordering at all. */
  #allAlive: boolean;
  /** Stalled members, each with its probe timer. */
  readonly #stalled = new Map<string, NodeJS.Timeout>();
  readonly #opts: RouterOptions;
  readonly #connections = new Map<string, PackedConnection>();
  /**
   * Held (ref'd) while any call waits, so that an awaited call settles even when no socket or timer
   * of its own keeps the process running: with every node down, a script's top-level await would
   * otherwise end the process with code 13 and no message (issue 12 §2). Unref'd when none waits.
   */
  readonly #keepAlive = setInterval(() => undefined, 0x7fffffff).unref();
  #waiting = 0;

  constructor(map: ClusterMap, opts: RouterOptions) {
    this.#map = map;
    this.#live = membersIn(map, 'alive', 'suspect');
    this.#alive = membersIn(map, 'alive');
    this.#allAlive = this.#alive.size === map.members.size;
    this.#opts = opts;
  }

  get map(): ClusterMap {
    return this.#map;
  }

  set map(map: ClusterMap) {
    this.#map = map;
    this.#live = membersIn(map, 'alive', 'suspect');
    this.#alive = membersIn(map, 'alive');
    this.#allAlive = this.#alive.size === map.members.size;
    // Connections to members that left the map are closed; the others are kept (same address).
    for (const [id, conn] of this.#connections) {
      const m = map.members.get(id);
      if (!m || m.address !== conn.address) {
        conn.close();
        this.#connections.delete(id);
        this.#unstall(id);
      }
    }
  }

  /** Frames sent per node: tests use it to check batching. */
  framesSent(): Map<string, number> {
    return new Map([...this.#connections].map(([id, c]) => [id, c.framesSent]));
  }

  /**
   * Replicas of the key in preference order, alive ones first, then suspect ones, then stalled
   * ones, then the rest as a last resort.
   */
  candidates(key: string): readonly string[] {
    const { ring, replication } = this.#map;
    const list = ring.preferenceList(key, replication.factor);
    if (this.#stalled.size === 0 && (this.#allAlive || list.every((id) => this.#alive.has(id)))) {
      return list; // the common case: no reordering
    }
    const tiers: string[][] = [[], [], [], []];
    for (const id of list) {
      const tier = !this.#live.has(id) ? 3 : this.#stalled.has(id) ? 2 : this.#alive.has(id) ? 0 : 1;
      tiers[tier]!.push(id);
    }
    return tiers.flat();
  }

  /** Members the router currently skips because they stopped answering: for tests and stats. */
  stalled(): string[] {
    return [...this.#stalled.keys()];
  }

  /**
   * `answer` applied to the operation's result from the first replica that answers; throws when none
   * does in time. Taking `answer` here saves each call a second promise and microtask.
   */
  run<O extends PackedOp, T>(
    key: string,
    op: O,
    timeoutMs: number,
    answer: (res: PackedReply<O>) => T,
  ): Promise<T> {
    const deadlineMs = Date.now() + timeoutMs;
    const candidates = this.candidates(key);
    const first = candidates[0]!;
    if (this.#waiting++ === 0) this.#keepAlive.ref();
    let sent: Promise<PackedReply<O>>;
    try {
      sent = this.#send(first, op, deadlineMs);
    } catch (err) {
      this.#settled();
      throw err;
    }
    // Fast path without an async frame: one send, one callback.
    return sent.then((res) => {
      if (res[0] === Code.DEADLINE_EXCEEDED) this.#attemptTimedOut(first, deadlineMs);
      if (res[0] === Code.OK || !this.#shouldRetry(op, res)) {
        this.#settled();
        return answer(res);
      }
      return this.#failover(key, op, deadlineMs, res).then(
        (last) => {
          this.#settled();
          return answer(last);
        },
        (err: unknown) => {
          this.#settled();
          throw err;
        },
      );
    });
  }

  #settled(): void {
    if (--this.#waiting === 0) this.#keepAlive.unref();
  }

  close(): void {
    clearInterval(this.#keepAlive);
    for (const id of [...this.#stalled.keys()]) this.#unstall(id);
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  /**
   * One attempt at node `id`, within its budget and the call's deadline. The connection answers every
   * operation with its kind's reply: the one place that is asserted.
   */
  #send<O extends PackedOp>(
    id: string,
    op: O,
    deadlineMs: number,
    patient = false,
  ): Promise<PackedReply<O>> {
    return this.#connection(id).send(op, deadlineMs, patient) as Promise<PackedReply<O>>;
  }

  /** An attempt at `id` ran out of its budget with the call's deadline still ahead: `id` stalls. */
  #attemptTimedOut(id: string, deadlineMs: number): void {
    if (Date.now() >= deadlineMs || this.#stalled.has(id)) return;
    const conn = this.#connections.get(id);
    if (!conn) return;
    let probing = false;
    const probe = setInterval(() => {
      if (probing) return;
      probing = true;
      // A get of an empty key: refused by the node itself, never forwarded, so it measures only it.
      void conn.send([OpCode.get, '', 1], Date.now() + PROBE_TIMEOUT_MS).then((res) => {
        probing = false;
        if (res[0] !== Code.DEADLINE_EXCEEDED && res[0] !== Code.UNAVAILABLE) this.#unstall(id);
      });
    }, PROBE_EVERY_MS).unref();
    this.#stalled.set(id, probe);
  }

  #unstall(id: string): void {
    const probe = this.#stalled.get(id);
    if (!probe) return;
    clearInterval(probe);
    this.#stalled.delete(id);
  }

  #shouldRetry(op: PackedOp, res: PackedReply): boolean {
    if (res[0] === Code.OK) return false;
    const [code, , errorName] = res as PackedFailure;
    if (!isRetryable(code)) return false;
    // Increment and compare-and-set may already be applied when their deadline passed or their
    // quorum was missed: trying them on another replica could apply them twice.
    const maybeApplied = code === Code.DEADLINE_EXCEEDED || errorName === 'QUORUM_NOT_MET';
    return !(maybeApplied && notIdempotent(op));
  }

  async #failover<O extends PackedOp>(
    key: string,
    op: O,
    deadlineMs: number,
    first: PackedReply<O>,
  ): Promise<PackedReply<O>> {
    const failures = new Map<string, { times: number; message: string }>();
    // Whether some replica was reached but ran out of time: else every one was down or refused.
    let timedOut = false;
    const note = (id: string, res: PackedReply) => {
      const f = failures.get(id);
      failures.set(id, { times: (f?.times ?? 0) + 1, message: String(res[1]) });
      if (res[0] === Code.DEADLINE_EXCEEDED) timedOut = true;
    };
    note(this.candidates(key)[0]!, first);
    let skipFirst = true;
    for (let round = 0; ; round++) {
      for (const id of this.candidates(key)) {
        if (skipFirst) {
          skipFirst = false;
          continue;
        }
        if (Date.now() >= deadlineMs) break;
        // Every replica was tried and none answered in time (all busy or paused): the budget only
        // moved the call on to another, so from the second round on an attempt has its deadline.
        const res = await this.#send(id, op, deadlineMs, round > 0);
        if (res[0] === Code.DEADLINE_EXCEEDED) this.#attemptTimedOut(id, deadlineMs);
        if (res[0] === Code.OK || !this.#shouldRetry(op, res)) return res;
        note(id, res);
      }
      const left = deadlineMs - Date.now();
      if (round >= this.#opts.maxRetries || left <= 0) {
        const code = left <= 0 && timedOut ? 'DEADLINE_EXCEEDED' : 'UNAVAILABLE';
        const tried = [...failures].map(([id, f]) => `${id} (${f.times}x): ${f.message}`).join('; ');
        const kind = OP_KIND[op[0]] ?? 'operation';
        throw new RingCacheError(
          code,
          `${kind} of key '${key}' failed on every replica after ${round + 1} round(s); tried ${tried}`,
        );
      }
      await this.#opts.refresh();
      await sleep(Math.min(50 * 2 ** round, Math.max(0, deadlineMs - Date.now())));
    }
  }

  #connection(id: string): PackedConnection {
    let conn = this.#connections.get(id);
    if (!conn) {
      const member = this.#map.members.get(id);
      if (!member) throw new RingCacheError('INTERNAL', `ring names node ${id} but the topology does not`);
      conn = new PackedConnection({
        address: member.address,
        peerName: `node ${id} (${member.address})`,
        maxOpsPerFrame: this.#opts.maxOpsPerFrame,
        maxFramesInFlight: this.#opts.maxFramesInFlight,
        onEpoch: this.#opts.onEpoch,
        flightBudgetMs: attemptBudgetMs,
      });
      this.#connections.set(id, conn);
    }
    return conn;
  }
}

/** The result of a successful operation, or its typed error. */
export function unwrap<R extends PackedReply>(res: R): Exclude<R, PackedFailure> {
  if (res[0] !== Code.OK) {
    const [code, message, errorName] = res as PackedFailure;
    throw errorFromWire(code, String(message), errorName);
  }
  return res as Exclude<R, PackedFailure>;
}

function membersIn(map: ClusterMap, ...states: MemberStateName[]): ReadonlySet<string> {
  const out = new Set<string>();
  for (const [id, m] of map.members) if (states.includes(m.state)) out.add(id);
  return out;
}

/** Bounds of one attempt's budget, and how often a stalled node is probed, in ms. */
const MIN_ATTEMPT_MS = 50;
const MAX_ATTEMPT_MS = 250;
const PROBE_EVERY_MS = 200;
const PROBE_TIMEOUT_MS = 1000;

/** Time a frame's bytes may take on the wire on top of its budget: 10 ms per MB (100 MB/s). */
const MS_PER_BYTE = 10 / 1e6;

/**
 * How long a sent frame may stay unanswered at a node whose recent round trips have this p99: four
 * times it, so that normal tail latency never trips it, within 50..250 ms (the ceiling until enough
 * round trips are known), plus time for the frame's bytes, so that large values are not cut short.
 */
export function attemptBudgetMs(p99Ms: number | undefined, frameBytes = 0): number {
  const base =
    p99Ms === undefined ? MAX_ATTEMPT_MS : Math.min(MAX_ATTEMPT_MS, Math.max(MIN_ATTEMPT_MS, 4 * p99Ms));
  return base + frameBytes * MS_PER_BYTE;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
