import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { RingCacheError } from '../errors';
import { ConsistencyWire, SetModeWire } from '../proto/messages';
import {
  KEEP_TTL_INDEX,
  OpCode,
  TRACEPARENT_INDEX,
  type PackedCas,
  type PackedIncr,
  type PackedOp,
  type PackedReply,
  type PackedSet,
} from '../proto/packed';
import { decodeValue, encodeValue } from './codec';
import { scanCluster, ScanClient, scanCount, type ScanOptions } from './key-scan';
import { ChangeWatch } from './change-watch';
import { GetOrSet, type GetOrSetOptions } from './get-or-set';
import { NearCache, type NearCacheStats } from './near-cache';
import { CallTracer } from './tracing';

/** Reported as the tracer's version (package.json's). */
const SDK_VERSION = '0.1.0';
import type {
  CacheEntry,
  CallOptions,
  Consistency,
  FlushOptions,
  IncrOptions,
  RingCacheOptions,
  RingCacheStatus,
  SetManyEntry,
  SetOptions,
  Version,
} from './options';
import { unwrap } from './router';
import { TopologyClient, type ClusterInfo, type ClusterMap } from './topology-client';
import { ClusterLink, closedError } from './cluster-link';
import type { TypedRingCache } from './typed';
import { clusterTokenFromEnv } from '../transport/cluster-token';
import { userTokenFromEnv } from '../transport/user-token';

const consistencyWire: Record<Consistency, number> = {
  one: ConsistencyWire.ONE,
  quorum: ConsistencyWire.QUORUM,
  all: ConsistencyWire.ALL,
};
const modeWire = {
  always: SetModeWire.ALWAYS,
  ifAbsent: SetModeWire.IF_ABSENT,
  ifPresent: SetModeWire.IF_PRESENT,
} as const;

/**
 * The ringcache client. It learns the topology from any seed, builds the same hash ring as the nodes,
 * and sends each key straight to the node that owns it; calls made in the same event-loop turn to one
 * node travel as one frame. Failures fail over to the key's next replica within the call's deadline.
 *
 * ```ts
 * const cache = await RingCache.connect({ seeds: ['127.0.0.1:7401'] });
 * await cache.set('user:1', { name: 'Ada' }, { ttl: 60_000 });
 * const user = await cache.get<{ name: string }>('user:1');
 * await cache.close();
 * ```
 *
 * `new RingCache(options)` returns at once and connects in the background, retrying the seeds with
 * backoff until it is closed: an application can start before its cache cluster. Calls made before
 * the first connection wait for it within their deadline.
 *
 * Events (ioredis's names): `ready` (first topology), `reconnecting` (an attempt failed; the next
 * one is in `delayMs`), `error` (why an attempt failed; emitted only while someone listens, so an
 * unhandled 'error' never crashes the process), `topology` (a new cluster map: ring or member
 * states), `close`. `status` says where the client stands.
 */
export class RingCache extends EventEmitter {
  readonly #link: ClusterLink;
  readonly #opts: RingCacheOptions;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #prefix: string;
  readonly #consistency: number;
  /**
   * Request ids of read-modify-writes (incr, cas, touch, conditional sets): this client's random id and
   * a counter. The same id goes with every retry of one call, so the cluster applies it once.
   */
  readonly #clientId = randomBytes(9).toString('base64url');
  #requestSeq = 0;
  readonly #getOrSet = new GetOrSet(this);
  /** Values kept in this process (RingCacheOptions.nearCache), and the change streams that keep them fresh. */
  readonly #near: NearCache | undefined;
  readonly #changes: ChangeWatch | undefined;
  /** Client spans when the application has OpenTelemetry (tracing.ts); nothing otherwise. */
  readonly #tracer = new CallTracer(SDK_VERSION);
  /** Cache/Scan stubs, made by the first scan(). */
  #scanner: ScanClient | undefined;

  /** A client that connects in the background (see the class comment); throws only for bad options. */
  constructor(opts: RingCacheOptions) {
    super();
    if (
      !Array.isArray(opts.seeds) ||
      opts.seeds.length === 0 ||
      opts.seeds.some((s) => typeof s !== 'string' || !/^[^:\s]+:\d+$/.test(s))
    ) {
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `seeds must be a non-empty list of "host:port" strings, got ${JSON.stringify(opts.seeds)}`,
      );
    }
    this.#opts = opts;
    this.#token = opts.token ?? userTokenFromEnv();
    this.#timeoutMs = opts.timeoutMs ?? 2000;
    if (opts.keyPrefix !== undefined && typeof opts.keyPrefix !== 'string')
      throw new RingCacheError(
        'INVALID_ARGUMENT',
        `keyPrefix must be a string, got ${typeof opts.keyPrefix}`,
      );
    this.#prefix = opts.keyPrefix ?? '';
    this.#consistency = opts.consistency ? consistencyWire[opts.consistency] : ConsistencyWire.DEFAULT;
    if (opts.nearCache) {
      const near = new NearCache(opts.nearCache);
      this.#near = near;
      this.#changes = new ChangeWatch({
        onChange: (key) => near.invalidate(key),
        onLive: (live) => near.setLive(live),
        tls: opts.tls,
        token: this.#token,
      });
    }
    this.#link = new ClusterLink({
      seeds: opts.seeds,
      timeoutMs: this.#timeoutMs,
      topology: new TopologyClient(opts.clusterToken ?? clusterTokenFromEnv(), opts.tls, this.#token),
      routing: {
        maxRetries: opts.maxRetries ?? 3,
        maxOpsPerFrame: opts.maxOpsPerFrame ?? 256,
        maxFramesInFlight: opts.maxFramesInFlight ?? 1,
      },
      watchTopology: opts.watchTopology !== false,
      tls: opts.tls,
      token: this.#token,
      events: this,
      onMap: (map, before) => this.#onMap(map, before),
    });
  }

  /**
   * Connects through the first seed that answers, trying them again with backoff until
   * `connectTimeoutMs`; rejects with the last failure then (UNAVAILABLE listing the seeds tried), or
   * at once when the cluster refuses this client's credential, or when every seed speaks a wire
   * version this release cannot read (WIRE_INCOMPATIBLE).
   */
  static async connect(opts: RingCacheOptions): Promise<RingCache> {
    const cache = new RingCache(opts);
    try {
      await cache.#link.whenReady(opts.connectTimeoutMs ?? 10_000);
      return cache;
    } catch (err) {
      await cache.close();
      throw err;
    }
  }

  /** Where the client stands: connecting, ready, reconnecting (between failed attempts) or closed. */
  get status(): RingCacheStatus {
    return this.#link.status;
  }

  /** Resolves once the client has reached the cluster; rejects as connect() does. */
  ready(timeoutMs = this.#opts.connectTimeoutMs ?? 10_000): Promise<void> {
    return this.#link.whenReady(timeoutMs);
  }

  /** Hits, misses, invalidations and resets of the near cache; undefined without one. */
  nearCacheStats(): NearCacheStats | undefined {
    return this.#near?.stats;
  }

  /**
   * The client routes by `map` from now on (ClusterLink): the near cache's change streams follow its
   * members, and a new ring (keys moved, maybe to nodes not watched yet) starts the near cache over.
   */
  #onMap(map: ClusterMap, before: ClusterMap | undefined): void {
    if (!this.#changes) return;
    if (before) {
      if (map.epoch === before.epoch) return;
      this.#near?.reset();
    }
    this.#changes.watch(new Map([...map.members.values()].map((m) => [m.id, m.address])));
  }

  /** The cluster as this client sees it now; throws UNAVAILABLE before the client first reached it. */
  get cluster(): ClusterInfo {
    const router = this.#link.router;
    if (!router) throw this.#link.notConnected(0);
    return router.map;
  }

  /**
   * The ids of the nodes that hold `key` (its replicas, first the one that coordinates its writes),
   * on this client's ring; empty before the client first reached the cluster.
   */
  replicasOf(key: string): string[] {
    const map = this.#link.router?.map;
    return map ? map.ring.preferenceList(this.#k(key), map.replication.factor) : [];
  }

  /**
   * This client as one whose values are all `T`: `const users = cache.typed<User>()`, then
   * `users.set('user:1', { name: 'Ada' })` is checked by the compiler and `users.get()` returns
   * `User | undefined`. The same client, not a copy (see TypedRingCache).
   */
  typed<T>(): TypedRingCache<T> {
    return this;
  }

  /** Frames sent to each node so far (batching makes this far lower than the number of calls). */
  framesSent(): Map<string, number> {
    return this.#link.router?.framesSent() ?? new Map<string, number>();
  }

  /** Nodes this client skips for now because they stopped answering (probed until they answer). */
  stalledNodes(): string[] {
    return this.#link.router?.stalled() ?? [];
  }

  get<T = unknown>(key: string, opts?: CallOptions): Promise<T | undefined> {
    key = this.#k(key);
    const near = opts?.consistency === undefined || opts.consistency === 'one' ? this.#near : undefined;
    if (!near) {
      return this.#run(key, [OpCode.get, key, this.#c(opts)], opts, (reply) => {
        const res = unwrap(reply);
        return res[1] ? (decodeValue(res[2], res[3]) as T) : undefined;
      });
    }
    const held = near.lookup(key);
    // A copy per call, as a remote get gives: callers may change what they get.
    if (held) return Promise.resolve(decodeValue(held.bytes, held.flags) as T);
    near.reading(key);
    return this.#run(key, [OpCode.get, key, this.#c(opts)], opts, (reply) => {
      const res = unwrap(reply);
      near.read(key, res[1] ? { bytes: res[2], flags: res[3], ttlMs: res[6] } : undefined);
      return res[1] ? (decodeValue(res[2], res[3]) as T) : undefined;
    }).catch((err: unknown) => {
      near.read(key, undefined);
      throw err;
    });
  }

  /** The value with its version (for cas) and remaining TTL. */
  getEntry<T = unknown>(key: string, opts?: CallOptions): Promise<CacheEntry<T> | undefined> {
    key = this.#k(key);
    return this.#run(key, [OpCode.get, key, this.#c(opts)], opts, (reply): CacheEntry<T> | undefined => {
      const res = unwrap(reply);
      if (!res[1]) return undefined;
      return {
        value: decodeValue(res[2], res[3]) as T,
        version: { timestamp: res[4], node: res[5] },
        ttlMs: res[6],
      };
    });
  }

  /** Stores a value; false when `mode` refused it (ifAbsent on a present key, ifPresent on an absent one). */
  set(key: string, value: unknown, opts?: SetOptions): Promise<boolean> {
    key = this.#k(key);
    return this.#attempt(() => {
      const { value: bytes, flags } = encodeValue(value);
      const mode = opts?.mode ?? 'always';
      const op: PackedSet = [OpCode.set, key, bytes, flags, ttlOf(opts?.ttl), modeWire[mode], this.#c(opts)];
      // keepTtl reads the key's expiry, so like a conditional set it is decided once, by request id.
      if (mode !== 'always' || keepTtlOf(opts)) op.push(this.#requestId());
      if (keepTtlOf(opts)) (op as unknown[])[KEEP_TTL_INDEX] = true;
      return this.#run(key, op, opts, (res) => unwrap(res)[1]);
    });
  }

  /**
   * Whether the key holds a live value. It reads the value (and drops it): no cheaper than get() on
   * the wire, but it says what it asks.
   */
  has(key: string, opts?: CallOptions): Promise<boolean> {
    key = this.#k(key);
    return this.#run(key, [OpCode.get, key, this.#c(opts)], opts, (reply) => unwrap(reply)[1]);
  }

  /** Deletes a key; false when it was already absent. */
  delete(key: string, opts?: CallOptions): Promise<boolean> {
    key = this.#k(key);
    return this.#run(key, [OpCode.delete, key, this.#c(opts)], opts, (res) => unwrap(res)[1]);
  }

  /** Deletes many keys in parallel (batched per node); one result per key, in order (false where absent). */
  deleteMany(keys: readonly string[], opts?: CallOptions): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.delete(key, opts)));
  }

  /**
   * Admin: deletes every key of the cluster, or every key that starts with `prefix`, on every node
   * (Cluster/Flush; it cannot be undone). Resolves to the live copies deleted, summed over the nodes
   * (a key with 3 replicas counts 3). Rejects UNAVAILABLE naming the nodes that did not answer (the
   * others flushed), UNAUTHENTICATED without the cluster's token (RingCacheOptions.clusterToken).
   */
  async flush(opts: FlushOptions = {}): Promise<number> {
    const prefix = this.#prefix + (opts.prefix ?? '');
    return this.#link.flush(prefix, opts.timeoutMs ?? 30_000);
  }

  /**
   * Milliseconds until the key expires: null when it never expires, undefined when it is absent.
   * It reads the value as get() does (and drops it). A set() or cas() without `ttl` gives the key no
   * expiry, whatever it had; pass `keepTtl: true` to keep it.
   */
  async ttl(key: string, opts?: CallOptions): Promise<number | null | undefined> {
    const entry = await this.getEntry(key, opts);
    if (!entry) return undefined;
    return entry.ttlMs === 0 ? null : entry.ttlMs;
  }

  /** Gives a key a new TTL in ms (0: never expires); false when the key is absent. */
  touch(key: string, ttl: number, opts?: CallOptions): Promise<boolean> {
    key = this.#k(key);
    return this.#attempt(() =>
      this.#run(
        key,
        [OpCode.touch, key, ttlOf(ttl), this.#c(opts), this.#requestId()],
        opts,
        (res) => unwrap(res)[1],
      ),
    );
  }

  /** Adds `delta` to an integer value (creating it from `initial`); returns the new value. */
  incr(key: string, delta = 1, opts?: IncrOptions): Promise<number> {
    key = this.#k(key);
    return this.#attempt(() => {
      if (!Number.isSafeInteger(delta))
        throw new RingCacheError('INVALID_ARGUMENT', `delta must be a safe integer, got ${delta}`);
      const initial = opts?.initial ?? 0;
      if (!Number.isSafeInteger(initial))
        throw new RingCacheError('INVALID_ARGUMENT', `initial must be a safe integer, got ${initial}`);
      const op: PackedIncr = [
        OpCode.incr,
        key,
        delta,
        initial,
        ttlOf(opts?.ttl),
        this.#c(opts),
        this.#requestId(),
      ];
      return this.#run(key, op, opts, (res) => unwrap(res)[1]);
    });
  }

  /** Writes only if the key still has `expected` (from getEntry); throws VERSION_CONFLICT otherwise. */
  cas(key: string, expected: Version, value: unknown, opts?: SetOptions): Promise<Version> {
    key = this.#k(key);
    return this.#attempt(() => {
      const { value: bytes, flags } = encodeValue(value);
      const keepTtl = keepTtlOf(opts);
      if (keepTtl && opts?.ttl)
        throw new RingCacheError(
          'INVALID_ARGUMENT',
          "cas() with keepTtl keeps the key's expiry: leave ttl unset",
        );
      const op: PackedCas = [
        OpCode.cas,
        key,
        bytes,
        flags,
        ttlOf(opts?.ttl),
        this.#c(opts),
        expected.timestamp,
        expected.node,
        this.#requestId(),
      ];
      if (keepTtl) (op as unknown[])[KEEP_TTL_INDEX] = true;
      return this.#run(key, op, opts, (reply) => {
        const res = unwrap(reply);
        return { timestamp: res[1], node: res[2] };
      });
    });
  }

  /**
   * The key's value, or else the value `fill` makes, stored with `ttl` (ms). On a miss exactly one
   * caller in the whole cluster runs `fill`; the others, in this process and in every other, wait
   * for its value (or its error). With `staleWhileRevalidate` (ms), a value in its last stretch is
   * served at once while one caller refreshes it. See get-or-set.ts for how.
   */
  getOrSet<T>(key: string, fill: () => T | Promise<T>, opts?: GetOrSetOptions): Promise<T> {
    return this.#getOrSet.run(key, fill, opts);
  }

  /** Values of many keys, in the order asked (undefined where absent); keys go to their owners in parallel. */
  getMany<T = unknown>(keys: readonly string[], opts?: CallOptions): Promise<(T | undefined)[]> {
    return Promise.all(keys.map((key) => this.get<T>(key, opts)));
  }

  /** Stores many entries in parallel; one result per entry, in order (false where a mode refused). */
  setMany(entries: readonly SetManyEntry[], opts?: SetOptions): Promise<boolean[]> {
    return this.#attempt(() => {
      // Encode everything first: a value that cannot be stored fails the call before anything is sent.
      const encoded = entries.map((e) => encodeValue(e.value));
      const keepTtl = keepTtlOf(opts);
      const conditional = (opts?.mode ?? 'always') !== 'always' || keepTtl;
      const mode = modeWire[opts?.mode ?? 'always'];
      const consistency = this.#c(opts);
      return Promise.all(
        entries.map((e, i) => {
          const op: PackedSet = [
            OpCode.set,
            this.#k(e.key),
            encoded[i]!.value,
            encoded[i]!.flags,
            ttlOf(e.ttl ?? opts?.ttl),
            mode,
            consistency,
          ];
          if (conditional) op.push(this.#requestId());
          if (keepTtl) (op as unknown[])[KEEP_TTL_INDEX] = true;
          return this.#run(op[1], op, opts, (res) => unwrap(res)[1]);
        }),
      );
    });
  }

  /**
   * Every key that starts with `prefix`, across the cluster, each once (not once per replica), in no
   * particular order: `for await (const key of cache.scan({ prefix: 'user:' }))`. The client
   * holds one page of `count` keys at a time, and so does each node it asks. Keys are the caller's
   * (without keyPrefix). A key present for the whole scan is returned once; keys written or deleted
   * meanwhile may or may not be. Each key is taken from its first replica, so with W < N a write
   * that has not reached that replica yet is listed once it has. A node that cannot be read ends
   * the scan with UNAVAILABLE (its keys would be missing otherwise); nodes known dead when it starts
   * are covered by their replicas.
   */
  scan(opts: ScanOptions = {}): AsyncIterableIterator<string> {
    return this.#scan(opts);
  }

  async *#scan(opts: ScanOptions): AsyncGenerator<string, void, undefined> {
    const count = scanCount(opts.count);
    if (opts.prefix !== undefined && typeof opts.prefix !== 'string')
      throw new RingCacheError('INVALID_ARGUMENT', `prefix must be a string, got ${typeof opts.prefix}`);
    if (this.#link.closed) throw closedError();
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;
    await this.#link.whenReady(timeoutMs);
    this.#scanner ??= new ScanClient(this.#opts.tls, this.#token);
    const strip = this.#prefix.length;
    const keys = scanCluster(this.#link.router!.map, this.#scanner, {
      prefix: this.#prefix + (opts.prefix ?? ''),
      count,
      timeoutMs,
      signal: opts.signal,
    });
    for await (const key of keys) yield key.slice(strip);
  }

  /** Fetches the topology now (coalesced: concurrent callers share one fetch). Never rejects. */
  refreshTopology(): Promise<void> {
    return this.#link.refreshTopology();
  }

  /**
   * Closes the client's connections and stops its background work. Calls waiting for a first
   * connection, and every call made afterwards, fail with UNAVAILABLE ("this RingCache is closed").
   * Emits `close` once.
   */
  async close(): Promise<void> {
    if (this.#link.closed) return;
    const closing = this.#link.close();
    this.#changes?.stop();
    this.#scanner?.close();
    await closing;
    this.emit('close');
  }

  #run<O extends PackedOp, T>(
    key: string,
    op: O,
    opts: CallOptions | undefined,
    answer: (res: PackedReply<O>) => T,
  ): Promise<T> {
    if (this.#link.closed) return Promise.reject(closedError());
    if (typeof key !== 'string') {
      return Promise.reject(
        new RingCacheError('INVALID_ARGUMENT', `key must be a string, got ${typeof key}`),
      );
    }
    // This client's own write: what its near cache holds of the key is old from now on.
    if (op[0] !== OpCode.get) this.#near?.invalidate(key);
    const router = this.#link.router;
    if (!router || opts?.signal) return this.#runSlowly(key, op, opts, answer);
    // Without a registered OpenTelemetry SDK, not even a closure: the call goes out as it is.
    const tracer = this.#tracer.active();
    if (!tracer) return router.run(key, op, opts?.timeoutMs ?? this.#timeoutMs, answer);
    return this.#tracer.run(
      tracer,
      op[0],
      () => this.#nodeOf(key),
      (traceparent) => {
        // The nodes make their spans children of this call's (packed.ts TRACEPARENT_INDEX).
        if (traceparent) (op as unknown[])[TRACEPARENT_INDEX] = traceparent;
        return router.run(key, op, opts?.timeoutMs ?? this.#timeoutMs, answer);
      },
    );
  }

  /**
   * A call made before the client first reached the cluster (it waits for it within its deadline),
   * or with an AbortSignal (it rejects with the signal's reason when aborted first).
   */
  #runSlowly<O extends PackedOp, T>(
    key: string,
    op: O,
    opts: CallOptions | undefined,
    answer: (res: PackedReply<O>) => T,
  ): Promise<T> {
    const signal = opts?.signal;
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    const startedAt = Date.now();
    const timeoutMs = opts?.timeoutMs ?? this.#timeoutMs;
    const call = this.#link
      .whenReady(timeoutMs)
      .then(() =>
        this.#run(
          key,
          op,
          { ...opts, signal: undefined, timeoutMs: Math.max(1, timeoutMs - (Date.now() - startedAt)) },
          answer,
        ),
      );
    if (!signal) return call;
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortReason(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      call.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** The address of the key's first replica on this client's ring (for spans). */
  #nodeOf(key: string): string | undefined {
    const map = this.#link.router?.map;
    if (!map) return undefined;
    const id = map.ring.preferenceList(key, 1)[0];
    return id === undefined ? undefined : map.members.get(id)?.address;
  }

  /** Runs `call`, turning a synchronous throw (a value that cannot be encoded, a bad ttl) into a rejection. */
  #attempt<T>(call: () => Promise<T>): Promise<T> {
    try {
      return call();
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** The key as the cluster knows it: with this client's keyPrefix. */
  #k(key: string): string {
    return this.#prefix && typeof key === 'string' ? this.#prefix + key : key;
  }

  #requestId(): string {
    return `${this.#clientId}.${(++this.#requestSeq).toString(36)}`;
  }

  #c(opts: CallOptions | undefined): number {
    return opts?.consistency ? consistencyWire[opts.consistency] : this.#consistency;
  }
}

/** What an aborted call rejects with: the signal's reason, an Error as DOM APIs make it. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
}

function keepTtlOf(opts: SetOptions | undefined): boolean {
  const keep = opts?.keepTtl;
  if (keep === undefined || typeof keep === 'boolean') return keep === true;
  throw new RingCacheError('INVALID_ARGUMENT', `keepTtl must be a boolean, got ${typeof keep}`);
}

function ttlOf(ttl: number | undefined): number {
  if (ttl === undefined) return 0;
  if (!Number.isInteger(ttl) || ttl < 0)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `ttl must be a whole number of milliseconds >= 0, got ${ttl}`,
    );
  return ttl;
}
