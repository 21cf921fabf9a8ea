import { RingCacheError } from '../errors';
import { Code, type OperationResultMsg } from '../proto/messages';
import { PipelineConnection, type OperationBody } from '../transport/pipeline-connection';
import type { ClusterMap } from './topology-client';
import { errorFromWire, isRetryable } from './wire-errors';

export interface RouterOptions {
  maxRetries: number;
  maxOpsPerFrame: number;
  /** Refreshes the cluster map (coalesced by the caller); resolves when done, never rejects. */
  refresh: () => Promise<void>;
  /** Called with the epoch of every reply, so a newer cluster map is fetched when a node has one. */
  onEpoch: (epoch: number) => void;
}

const NOT_RETRIED_ON_DEADLINE = new Set(['increment', 'compareAndSet']);

/**
 * Sends each operation to the first live node of its key's preference list, over one batched Pipeline
 * stream per node. When that node fails (UNAVAILABLE, deadline) the next replica of the list gets the
 * call at once, without waiting for the topology to change; when all have failed, the map is refreshed
 * and the list tried again with backoff, a bounded number of rounds, all within the call's deadline.
 */
export class Router {
  #map: ClusterMap;
  readonly #opts: RouterOptions;
  readonly #connections = new Map<string, PipelineConnection>();

  constructor(map: ClusterMap, opts: RouterOptions) {
    this.#map = map;
    this.#opts = opts;
  }

  get map(): ClusterMap {
    return this.#map;
  }

  set map(map: ClusterMap) {
    this.#map = map;
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
  candidates(key: string): string[] {
    const { ring, members, replication } = this.#map;
    const list = ring.preferenceList(key, replication.factor);
    if (list.every((id) => isLive(members.get(id)?.state))) return list; // the common case: no reordering
    const live: string[] = [];
    const down: string[] = [];
    for (const id of list) {
      const s = members.get(id)?.state;
      (isLive(s) ? live : down).push(id);
    }
    return live.concat(down);
  }

  async run(key: string, op: OperationBody, timeoutMs: number): Promise<OperationResultMsg> {
    const deadlineMs = Date.now() + timeoutMs;
    const failures = new Map<string, { times: number; message: string }>();
    for (let round = 0; ; round++) {
      for (const id of this.candidates(key)) {
        const res = await this.#connection(id).send(op, deadlineMs);
        if (res.code === Code.OK || !isRetryable(res.code)) return res;
        if (res.code === Code.DEADLINE_EXCEEDED && NOT_RETRIED_ON_DEADLINE.has(op.op)) return res;
        const f = failures.get(id);
        failures.set(id, { times: (f?.times ?? 0) + 1, message: res.message });
        if (Date.now() >= deadlineMs) break;
      }
      const left = deadlineMs - Date.now();
      if (round >= this.#opts.maxRetries || left <= 0) {
        const code = left <= 0 ? 'DEADLINE_EXCEEDED' : 'UNAVAILABLE';
        const tried = [...failures].map(([id, f]) => `${id} (${f.times}x): ${f.message}`).join('; ');
        throw new RingCacheError(
          code,
          `${op.op} of key '${key}' failed on every replica after ${round + 1} round(s); tried ${tried}`,
        );
      }
      await this.#opts.refresh();
      await sleep(Math.min(50 * 2 ** round, Math.max(0, deadlineMs - Date.now())));
    }
  }

  close(): void {
    for (const c of this.#connections.values()) c.close();
    this.#connections.clear();
  }

  #connection(id: string): PipelineConnection {
    let conn = this.#connections.get(id);
    if (!conn) {
      const member = this.#map.members.get(id);
      if (!member) throw new RingCacheError('INTERNAL', `ring names node ${id} but the topology does not`);
      conn = new PipelineConnection({
        address: member.address,
        peerName: `node ${id} (${member.address})`,
        maxOpsPerFrame: this.#opts.maxOpsPerFrame,
        onEpoch: this.#opts.onEpoch,
      });
      this.#connections.set(id, conn);
    }
    return conn;
  }
}

/** The result of a successful operation, or its typed error. */
export function unwrap(res: OperationResultMsg): OperationResultMsg {
  if (res.code !== Code.OK) throw errorFromWire(res.code, res.message, res.error);
  return res;
}

function isLive(state: string | undefined): boolean {
  return state === 'alive' || state === 'suspect';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
