import { RingCacheError } from '../errors';
import { Code } from '../proto/messages';
import { OP_KIND, OpCode, type PackedFailure, type PackedOp, type PackedReply } from '../proto/packed';
import { PackedConnection } from '../transport/packed-connection';
import type { ClusterMap } from './topology-client';
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
 */
export class Router {
  #map: ClusterMap;
  /** Members of #map that are alive or suspect: worked out once per map, not once per call. */
  #live: ReadonlySet<string>;
  /** Whether every member of #map is live: then preference lists need no reordering at all. */
  #allLive: boolean;
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
    this.#live = liveMembers(map);
    this.#allLive = this.#live.size === map.members.size;
    this.#opts = opts;
  }

  get map(): ClusterMap {
    return this.#map;
  }

  set map(map: ClusterMap) {
    this.#map = map;
    this.#live = liveMembers(map);
    this.#allLive = this.#live.size === map.members.size;
    // Connections to members that left the map are closed; the others are kept (same address).
    for (const [id, conn] of this.#connections) {
      const m = map.members.get(id);
      if (!m || m.address !== conn.address) {
        conn.close();
        this.#connections.delete(id);
      }
    }
  }

  /** Frames sent per node: tests use it to check batching. */
  framesSent(): Map<string, number> {
    return new Map([...this.#connections].map(([id, c]) => [id, c.framesSent]));
  }

  /** Replicas of the key, live ones first in preference order, then the rest as a last resort. */
  candidates(key: string): readonly string[] {
    const { ring, replication } = this.#map;
    const list = ring.preferenceList(key, replication.factor);
    const live = this.#live;
    if (this.#allLive || list.every((id) => live.has(id))) return list; // the common case: no reordering
    const up: string[] = [];
    const down: string[] = [];
    for (const id of list) (live.has(id) ? up : down).push(id);
    return up.concat(down);
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
    if (this.#waiting++ === 0) this.#keepAlive.ref();
    let sent: Promise<PackedReply<O>>;
    try {
      sent = this.#send(candidates[0]!, op, deadlineMs);
    } catch (err) {
      this.#settled();
      throw err;
    }
    // Fast path without an async frame: one send, one callback.
    return sent.then((res) => {
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
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  /** The connection answers every operation with its kind's reply: the one place that is asserted. */
  #send<O extends PackedOp>(id: string, op: O, deadlineMs: number): Promise<PackedReply<O>> {
    return this.#connection(id).send(op, deadlineMs) as Promise<PackedReply<O>>;
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
        const res = await this.#send(id, op, deadlineMs);
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

function liveMembers(map: ClusterMap): ReadonlySet<string> {
  const live = new Set<string>();
  for (const [id, m] of map.members) if (m.state === 'alive' || m.state === 'suspect') live.add(id);
  return live;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
