import type { EventEmitter } from 'node:events';
import { isRingCacheError, RingCacheError } from '../errors';
import type { TlsOptions } from '../transport/tls';
import type { RingCacheStatus } from './options';
import { Router } from './router';
import { reconcileMaps, type ClusterMap, type TopologyClient } from './topology-client';
import { TopologyWatch } from './topology-watch';

/** A call (or connect()) waiting for the client's first topology. */
interface ReadyWaiter {
  ready(): void;
  /** An attempt failed: it ends the wait only where waiting cannot help. */
  failed(err: RingCacheError): void;
  /** The client was closed: the wait ends at once. */
  closed(): void;
}

/** What exists once the client has reached the cluster: the routing of calls and the topology watch. */
interface Connected {
  router: Router;
  watch: TopologyWatch;
}

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 5000;

export interface ClusterLinkOptions {
  seeds: string[];
  /** The client's default call timeout: each topology fetch's. */
  timeoutMs: number;
  topology: TopologyClient;
  /** RingCacheOptions' routing knobs, with their defaults applied. */
  routing: { maxRetries: number; maxOpsPerFrame: number; maxFramesInFlight: number };
  /** Whether the topology is watched once connected (RingCacheOptions.watchTopology). */
  watchTopology: boolean;
  tls: TlsOptions | undefined;
  token: string | undefined;
  /** The client, which emits `ready`, `reconnecting`, `error` (only while listened to) and `topology`. */
  events: EventEmitter;
  /**
   * The client routes by `map` from now on: the first one (`before` undefined, before `ready`), or a
   * newer one it adopted (after `topology`).
   */
  onMap(map: ClusterMap, before: ClusterMap | undefined): void;
}

/**
 * The client's link to the cluster: it connects in the background, rounding over the seeds with
 * backoff until the first topology arrives, then routes calls by it and keeps it up to date. Where
 * RingCache's `status`, its `ready` and `reconnecting` events and its waits for a first connection
 * are decided.
 */
export class ClusterLink {
  readonly #opts: ClusterLinkOptions;
  #conn: Connected | undefined;
  #status: RingCacheStatus = 'connecting';
  /** Set once by close(), never unset: no status is set after it, whatever was under way. */
  #closed = false;
  readonly #waiters = new Set<ReadyWaiter>();
  #lastError: RingCacheError | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #wakeRetry: (() => void) | undefined;
  #refreshing: Promise<void> | undefined;

  /** Starts connecting at once. */
  constructor(opts: ClusterLinkOptions) {
    this.#opts = opts;
    void this.#connect();
  }

  /** Where the client stands: connecting, ready, reconnecting (between failed attempts) or closed. */
  get status(): RingCacheStatus {
    return this.#status;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The routing of calls; undefined before the client first reached the cluster. */
  get router(): Router | undefined {
    return this.#conn?.router;
  }

  /** Until the first topology arrives, rounds over the seeds with backoff; then starts routing. */
  async #connect(): Promise<void> {
    const { topology, seeds, timeoutMs, events } = this.#opts;
    let delayMs = FIRST_BACKOFF_MS;
    while (!this.closed) {
      let map: ClusterMap;
      try {
        map = await topology.fetch(seeds, timeoutMs);
      } catch (err) {
        if (this.closed) return;
        const failure = isRingCacheError(err)
          ? err
          : new RingCacheError('UNAVAILABLE', (err as Error).message ?? String(err));
        this.#lastError = failure;
        for (const w of [...this.#waiters]) w.failed(failure);
        if (events.listenerCount('error') > 0) events.emit('error', failure);
        // A listener may have closed the client (giving up on a refused credential, say).
        if (this.closed) return;
        // Jittered, so that many clients started together do not knock together.
        const waitMs = Math.round(delayMs * (0.5 + Math.random() / 2));
        this.#status = 'reconnecting';
        events.emit('reconnecting', { delayMs: waitMs, error: failure });
        if (this.closed) return;
        await new Promise<void>((resolve) => {
          this.#wakeRetry = resolve;
          this.#retryTimer = setTimeout(resolve, waitMs);
          this.#retryTimer.unref();
        });
        delayMs = Math.min(delayMs * 2, MAX_BACKOFF_MS);
        continue;
      }
      if (this.closed) return;
      // Outside the try: a 'ready' listener that throws is the application's error, not a failed
      // attempt (taken for one, it reconnected and built a second router that nothing closed).
      this.#start(map);
      return;
    }
  }

  #start(map: ClusterMap): void {
    const { routing, tls, token, topology, seeds } = this.#opts;
    const router = new Router(map, {
      ...routing,
      refresh: () => this.refreshTopology(),
      onEpoch: (epoch) => {
        if (epoch > router.map.epoch) void this.refreshTopology();
      },
      tls,
      token,
    });
    const watch = new TopologyWatch(
      topology,
      () => this.addresses(seeds),
      (next) => this.#adopt(next),
    );
    this.#conn = { router, watch };
    if (this.#opts.watchTopology) watch.start();
    this.#opts.onMap(map, undefined);
    this.#status = 'ready';
    for (const w of [...this.#waiters]) w.ready();
    this.#opts.events.emit('ready');
  }

  /**
   * Resolves once connected; rejects after `timeoutMs` with the last failure, at once when the
   * cluster refused this client's credential (it will not change by waiting), or when closed.
   */
  whenReady(timeoutMs: number): Promise<void> {
    if (this.#conn) return Promise.resolve();
    if (this.closed) return Promise.reject(closedError());
    return new Promise<void>((resolve, reject) => {
      const waiter: ReadyWaiter = {
        ready: () => settle(),
        closed: () => settle(closedError()),
        failed: (err) => {
          // Not changed by waiting: a refused credential, or a cluster of a release this one cannot read.
          if (
            err.code === 'UNAUTHENTICATED' ||
            err.code === 'PERMISSION_DENIED' ||
            err.code === 'WIRE_INCOMPATIBLE'
          )
            settle(err);
        },
      };
      const timer = setTimeout(() => settle(this.notConnected(timeoutMs)), timeoutMs);
      const settle = (err?: RingCacheError) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        if (err) reject(err);
        else resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  /** Why the client is not connected after `timeoutMs`: the last attempt's failure, or that it goes on. */
  notConnected(timeoutMs: number): RingCacheError {
    const last = this.#lastError;
    if (last && last.code !== 'UNAVAILABLE') return last;
    return new RingCacheError(
      'UNAVAILABLE',
      `not connected to the cluster after ${timeoutMs} ms` +
        (last ? `; last attempt: ${last.message}` : ' (the first attempt is still going on)'),
    );
  }

  /** Fetches the topology now (coalesced: concurrent callers share one fetch). Never rejects. */
  refreshTopology(): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.resolve(); // the connect loop fetches it
    this.#refreshing ??= this.#opts.topology
      .fetch(this.addresses([]), this.#opts.timeoutMs, conn.router.map)
      .then((map) => this.#adopt(map))
      .catch(() => undefined) // keep the old map; the failing call reports its own error
      .finally(() => (this.#refreshing = undefined));
    return this.#refreshing;
  }

  #adopt(map: ClusterMap): void {
    // A refresh that ended after close(): the client routes nothing any more.
    if (this.closed) return;
    const router = this.#conn!.router;
    const before = router.map;
    const next = reconcileMaps(before, map);
    if (next === before) return;
    router.map = next;
    this.#opts.events.emit('topology', next);
    this.#opts.onMap(next, before);
  }

  /** Where to ask for the topology: live members first, then `seeds`, then the other members. */
  addresses(seeds: string[]): string[] {
    const members = this.#conn ? [...this.#conn.router.map.members.values()] : [];
    const live = members.filter((m) => m.state === 'alive' || m.state === 'suspect').map((m) => m.address);
    return [...new Set([...live, ...seeds, ...members.map((m) => m.address)])];
  }

  /** Cluster/Flush through the first node that answers: the live copies deleted (RingCache.flush). */
  async flush(prefix: string, timeoutMs: number): Promise<number> {
    const res = await this.#opts.topology.flush(this.addresses([]), prefix, timeoutMs);
    return res.keysDeleted;
  }

  /** Stops connecting and routing; calls waiting for a first connection fail. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.#closed = true;
    this.#status = 'closed';
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    for (const w of [...this.#waiters]) w.closed();
    this.#conn?.watch.stop();
    this.#conn?.router.close();
    this.#opts.topology.close();
    await this.#refreshing;
  }
}

/** What a call made on a closed client rejects with. */
export function closedError(): RingCacheError {
  return new RingCacheError('UNAVAILABLE', 'this RingCache is closed');
}
