import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import {
  OpCode,
  PROBE_OP,
  REPLY_FULL,
  TRY_AGAIN,
  type PackedFailure,
  type PackedOp,
  type PackedReply,
  type PackedResult,
} from '../proto/packed';
import { REAL_TIME, type OnStall, type StreamClock } from '../transport/batched-stream';
import type { TlsOptions } from '../transport/tls';
import { PackedConnection, type PackedConnectionOptions } from '../transport/packed-connection';
import { RoutedCall, type CallRoutes } from './routed-call';
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
  /** Opens the connection to one node. Default: a PackedConnection (tests give a fake). */
  connect?: (opts: PackedConnectionOptions) => NodeConnection;
  /** The clock and timers of attempts, backoffs and probes. Default: the real ones (tests: virtual). */
  clock?: RouterClock;
  /** TLS to the nodes; plaintext when unset. */
  tls?: TlsOptions;
  /** A user's token (cluster.yml `auth`), sent on every stream. */
  token?: string;
}

/** What the router needs of a connection to one node (PackedConnection is one). */
export interface NodeConnection {
  readonly address: string;
  readonly framesSent: number;
  send(op: PackedOp, deadlineMs: number, onStall?: OnStall): Promise<PackedResult>;
  close(): void;
}

/** The router's time: the same kind of clock as a BatchedStream's (StreamClock). */
export type RouterClock = StreamClock;

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
 * Whether a call may be sent to a second replica while its first attempt is only slow (hedged): gets
 * only. A second copy of a write is a second write, stamped with the version of the moment it is
 * applied: a plain set or delete that lands late would overwrite what the caller wrote after it was
 * told the first copy succeeded (set a, set b, then the late copy of a wins). Read-modify-writes go
 * to one coordinator through any replica, so a second copy would only queue behind the first. Writes
 * still move on when their replica fails outright (unreachable, refused): nothing was applied there.
 */
function mayHedge(op: PackedOp): boolean {
  return op[0] === OpCode.get;
}

/**
 * Sends each operation to the first live node of its key's preference list, over one batched stream
 * per node (RoutedCall runs one call's attempts). When that node fails (UNAVAILABLE, deadline) the
 * next replica of the list gets the call at once, without waiting for the topology to change; when
 * all have failed, the map is refreshed and the list tried again with backoff, a bounded number of
 * rounds, all within the call's deadline.
 *
 * A node that stops answering (SIGSTOP, a GC pause, a saturated link) must not hold the calls sent to
 * it for their whole deadline. So each frame sent gets a budget from the node's recent round trips
 * (4 x their p99, within 50..250 ms, plus time for its bytes; see attemptBudgetMs): past it a read
 * asks the next replica too, the first attempt still counting if it answers first, and the node is
 * marked stalled. New calls skip a stalled node (it goes last in every preference list) until a
 * probe, sent every 200 ms, is answered again (half-open). Suspect members (gossip, streamed by
 * WatchTopology) go after alive ones too, and a node that refused a call for a limit before running
 * it (TRY_AGAIN: busy with other clients) goes after the other alive ones for BUSY_MS.
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
  readonly #stalled = new Map<string, unknown>();
  /**
   * Members that refused a call for a limit (TRY_AGAIN: busy with other clients' requests), each with
   * the time until which new calls try it after the others, as they do a stalled one.
   */
  readonly #busy = new Map<string, number>();
  readonly #opts: RouterOptions;
  readonly #clock: RouterClock;
  readonly #connections = new Map<string, NodeConnection>();
  /** What each call's RoutedCall needs of this router. */
  readonly #routes: CallRoutes;
  /**
   * Held (ref'd) while any call waits, so that an awaited call settles even when no socket or timer
   * of its own keeps the process running: with every node down, a script's top-level await would
   * otherwise end the process with code 13 and no message. Unref'd when none waits.
   */
  readonly #keepAlive = setInterval(() => undefined, 0x7fffffff).unref();
  #waiting = 0;

  constructor(map: ClusterMap, opts: RouterOptions) {
    this.#map = map;
    this.#live = membersIn(map, 'alive', 'suspect');
    this.#alive = membersIn(map, 'alive');
    this.#allAlive = this.#alive.size === map.members.size;
    this.#opts = opts;
    const clock = (this.#clock = opts.clock ?? REAL_TIME);
    this.#routes = {
      candidates: (key) => this.candidates(key),
      send: (id, op, deadlineMs, onStall) => this.#connection(id).send(op, deadlineMs, onStall),
      stalled: (id, deadlineMs) => this.#attemptTimedOut(id, deadlineMs),
      isStalled: (id) => this.#stalled.has(id),
      busy: (id) => void this.#busy.set(id, clock.now() + BUSY_MS),
      shouldRetry: (op, res) => this.#shouldRetry(op, res),
      refresh: opts.refresh,
      maxRetries: opts.maxRetries,
      now: () => clock.now(),
      sleep: (ms) => new Promise((resolve) => clock.setTimeout(resolve, ms)),
    };
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
   * Replicas of the key in preference order: alive ones first, then busy ones (alive, but a limit
   * refused a call there a moment ago), then suspect ones, then stalled ones, then the rest as a
   * last resort.
   */
  candidates(key: string): readonly string[] {
    const { ring, replication } = this.#map;
    const list = ring.preferenceList(key, replication.factor);
    if (this.#busy.size > 0) this.#forgetBusy();
    if (
      this.#stalled.size === 0 &&
      this.#busy.size === 0 &&
      (this.#allAlive || list.every((id) => this.#alive.has(id)))
    ) {
      return list; // the common case: no reordering
    }
    const tiers: string[][] = [[], [], [], [], []];
    for (const id of list) tiers[this.#tierOf(id)]!.push(id);
    return tiers.flat();
  }

  /** Where `id` goes in a preference list: 0 alive, 1 busy, 2 suspect, 3 stalled, 4 the rest. */
  #tierOf(id: string): number {
    if (!this.#live.has(id)) return 4;
    if (this.#stalled.has(id)) return 3;
    if (!this.#alive.has(id)) return 2;
    return this.#busy.has(id) ? 1 : 0;
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
    const deadlineMs = this.#clock.now() + timeoutMs;
    if (this.#waiting++ === 0) this.#keepAlive.ref();
    const settled = (value: T) => {
      this.#settled();
      return value;
    };
    return new Promise<T>((resolve, reject) => {
      const call = new RoutedCall(this.#routes, key, op, deadlineMs, mayHedge(op), answer, resolve, reject);
      call.start();
    }).then(settled, (err: unknown) => {
      this.#settled();
      throw err;
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

  /** An attempt at `id` ran out of its budget with the call's deadline still ahead: `id` stalls. */
  #attemptTimedOut(id: string, deadlineMs: number): void {
    if (this.#clock.now() >= deadlineMs || this.#stalled.has(id)) return;
    const conn = this.#connections.get(id);
    if (!conn) return;
    // Probes, one at a time, every PROBE_EVERY_MS until one is answered: a get of an empty key,
    // refused by the node itself and never forwarded, so it measures only that node.
    const probe = () => {
      this.#stalled.set(
        id,
        this.#clock.setTimeout(() => {
          void conn.send(PROBE_OP, this.#clock.now() + PROBE_TIMEOUT_MS).then((res) => {
            if (!this.#stalled.has(id)) return;
            if (res[0] !== Code.DEADLINE_EXCEEDED && res[0] !== Code.UNAVAILABLE) this.#unstall(id);
            else probe();
          });
        }, PROBE_EVERY_MS),
      );
    };
    probe();
  }

  /** Members whose busy time is over are tried in their place again. */
  #forgetBusy(): void {
    const now = this.#clock.now();
    for (const [id, until] of this.#busy) if (now >= until) this.#busy.delete(id);
  }

  #unstall(id: string): void {
    if (!this.#stalled.has(id)) return;
    this.#clock.clearTimeout(this.#stalled.get(id));
    this.#stalled.delete(id);
  }

  #shouldRetry(op: PackedOp, res: PackedReply): boolean {
    if (res[0] === Code.OK) return false;
    const [code, , errorName] = res as PackedFailure;
    // Refused by a limit of the node before it wrote anything: as safe to send again as never sent.
    if (errorName === TRY_AGAIN || errorName === REPLY_FULL) return true;
    if (!isRetryable(code)) return false;
    // Increment and compare-and-set may already be applied when their deadline passed or their
    // quorum was missed: trying them on another replica could apply them twice.
    const maybeApplied = code === Code.DEADLINE_EXCEEDED || errorName === 'QUORUM_NOT_MET';
    return !(maybeApplied && notIdempotent(op));
  }

  #connection(id: string): NodeConnection {
    let conn = this.#connections.get(id);
    if (!conn) {
      const member = this.#map.members.get(id);
      if (!member) throw new RingCacheError('INTERNAL', `ring names node ${id} but the topology does not`);
      conn = (this.#opts.connect ?? ((o) => new PackedConnection(o)))({
        address: member.address,
        peerName: `node ${id} (${member.address})`,
        maxOpsPerFrame: this.#opts.maxOpsPerFrame,
        maxFramesInFlight: this.#opts.maxFramesInFlight,
        onEpoch: this.#opts.onEpoch,
        flightBudgetMs: attemptBudgetMs,
        tls: this.#opts.tls,
        userToken: this.#opts.token,
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
/**
 * How long a node that refused a call for a limit (TRY_AGAIN) is tried after the key's other alive
 * replicas: a flood that fills its budgets lasts longer than one call, and other replicas can serve.
 */
export const BUSY_MS = 200;
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
