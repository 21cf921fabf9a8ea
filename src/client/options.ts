import type { TlsOptions } from '../transport/tls';

export type { TlsOptions };
import type { NearCacheOptions } from './near-cache';

/** Options of `RingCache.connect()` and `new RingCache()`. */
export interface RingCacheOptions {
  /** host:port of one or more nodes; any node answers with the whole topology. */
  seeds: string[];
  /**
   * Deadline of each call in milliseconds, retries and failover included. Default 2000. A call made
   * before the client first reached the cluster waits for it within this deadline.
   */
  timeoutMs?: number;
  /**
   * How long `connect()` keeps trying the seeds (with backoff: 100 ms, 200 ms, ... up to 5 s between
   * rounds) before it rejects with the last error. Default 10000. A wrong or missing credential
   * rejects at once. `new RingCache()` keeps trying until it is closed.
   */
  connectTimeoutMs?: number;
  /**
   * Put before every key this client reads or writes, and before `flush()`'s prefix (ioredis's
   * `keyPrefix`): several applications can share a cluster without their keys meeting. Keys it
   * returns or reports are the caller's, without it.
   */
  keyPrefix?: string;
  /**
   * Rounds of retries after every replica of a key failed: each round refreshes the topology and waits
   * with exponential backoff (50 ms, 100 ms, ...), within the call's deadline. Default 3.
   */
  maxRetries?: number;
  /**
   * Most operations per Pipeline frame; calls made in one event-loop turn share frames. Default 256.
   * At most the nodes' limits.max_batch_keys (4096 by default): a node refuses a larger frame whole.
   */
  maxOpsPerFrame?: number;
  /**
   * Frames awaiting their reply per node; calls made meanwhile wait and leave together with the
   * reply (ioredis' auto-pipelining does the same). Default 1: measured with `npm run bench` (3 nodes,
   * N=1, 64 in flight) it gave 50.6k ops/s against 42.2k with no limit, because fewer, fuller frames
   * cost grpc-js less; raise it if one node's replies are slow for reasons other than load.
   */
  maxFramesInFlight?: number;
  /**
   * Keep a WatchTopology stream open so member states and ring changes arrive as they happen.
   * Default true. Without it the client still catches up: every reply carries the node's ring epoch,
   * and a newer one makes it fetch the topology.
   */
  watchTopology?: boolean;
  /** Default consistency of reads and writes; the cluster's R and W when unset. */
  consistency?: Consistency;
  /**
   * The cluster's secret, for admin calls such as flush(): the nodes refuse them without it
   * (UNAUTHENTICATED). Default: as the CLI reads it, from the file RINGCACHE_CLUSTER_TOKEN_FILE names
   * or from RINGCACHE_CLUSTER_TOKEN (`npm start` prints the file's path). Reads and writes need none.
   */
  clusterToken?: string;
  /**
   * This client's user token, for a cluster whose cluster.yml lists users (`auth`): sent with every
   * call as `authorization: Bearer <token>`, and the user's role decides what the client may do
   * (PERMISSION_DENIED outside it). Default: from the file RINGCACHE_TOKEN_FILE names or from
   * RINGCACHE_TOKEN. A cluster without users needs none.
   */
  token?: string;
  /**
   * TLS to the nodes (a cluster whose cluster.yml has a `tls` section): `ca` checks the nodes'
   * certificates; `cert` and `key` are this client's, for nodes that require one
   * (`client_auth: require`); PEM text or bytes (`readFileSync('ca.pem')`). Plaintext when unset.
   */
  tls?: TlsOptions;
  /**
   * Keep hot values in this process, served without a round trip and dropped when any node reports
   * a change (near-cache.ts). Unset: none. Reads at consistency 'quorum' or 'all' always go out.
   */
  nearCache?: NearCacheOptions;
}

export interface FlushOptions {
  /** Only keys that start with it. Unset: every key of the cluster. */
  prefix?: string;
  /** Deadline in ms. Default 30000. */
  timeoutMs?: number;
}

/**
 * How many replicas take part: 'one' (fastest), 'quorum' (a majority of N; reads see every write that
 * reached a quorum), 'all'. Unset: the cluster's configured read_quorum / write_quorum.
 */
export type Consistency = 'one' | 'quorum' | 'all';

export interface CallOptions {
  /** This call's deadline in milliseconds (default: the client's timeoutMs). */
  timeoutMs?: number;
  /**
   * Gives up waiting for the call: it rejects with the signal's reason. A write already sent may
   * still be applied by the cluster, as with a deadline.
   */
  signal?: AbortSignal;
  consistency?: Consistency;
}

export interface SetOptions extends CallOptions {
  /**
   * Time to live in milliseconds; unset or 0: never expires. The new value gets this TTL (or none)
   * whatever the key had before, unless `keepTtl` is set.
   */
  ttl?: number;
  /**
   * Keep the expiry of the value this one replaces (Redis's `KEEPTTL`): a key that expires in 30 s
   * still expires in 30 s, one without expiry keeps none. `ttl` then applies only when the key has
   * no live value (set), and must be unset with cas(), which always replaces a live value. Since it
   * reads the key, a set with it costs what a conditional set (`mode`) costs: the key's coordinator
   * decides it, so every replica holds the expiry it read.
   */
  keepTtl?: boolean;
  /** 'always' (default), 'ifAbsent' (only if the key does not exist) or 'ifPresent' (only if it does). */
  mode?: 'always' | 'ifAbsent' | 'ifPresent';
}

export interface IncrOptions extends CallOptions {
  /** The value an absent key starts from before `delta` is added. Default 0. */
  initial?: number;
  /** TTL in ms for a key this call creates; existing keys keep theirs. */
  ttl?: number;
}

/** A stored value's version: pass it to cas(). */
export interface Version {
  readonly timestamp: number;
  readonly node: string;
}

export interface CacheEntry<T> {
  value: T;
  version: Version;
  /** Milliseconds until expiry; 0 when it never expires. */
  ttlMs: number;
}

export interface SetManyEntry<T = unknown> {
  key: string;
  value: T;
  ttl?: number;
}

/** Where a client stands: ioredis's names. */
export type RingCacheStatus = 'connecting' | 'ready' | 'reconnecting' | 'closed';
