/**
 * The validated cluster configuration (cluster.yml, or generated for `ringcache up --nodes N`).
 * Field meanings, defaults and limits are documented in defaults.ts and the shipped cluster.yml;
 * everything here has passed validate.ts, so consumers need not re-check ranges.
 */
export interface NodeConfig {
  /** Stable member id on the ring (ring points are hashed from it): /^[A-Za-z0-9_.-]{1,64}$/. */
  id: string;
  /** gRPC listen/dial address, "host:port" as written. */
  address: string;
  host: string;
  port: number;
  /** HTTP address (metrics, health), "host:port" as written. */
  http: string;
  httpHost: string;
  httpPort: number;
  /**
   * Where the gRPC server binds, when not `address`: `address` is what peers and
   * clients dial, `listen` what this node binds, such as 0.0.0.0:7401 in a container.
   */
  listen?: { host: string; port: number; text: string };
  /** Where the HTTP server binds, when not `http`. */
  httpListen?: { host: string; port: number; text: string };
  /** This node's own certificate and key, when not the cluster's `tls` ones. */
  tls?: { certFile: string; keyFile: string };
}

/**
 * TLS for every connection to and between the nodes (cluster.tls). Paths are absolute (relative ones
 * in cluster.yml are taken from its directory); `{id}` in certFile and keyFile stands for the node's id.
 */
export interface TlsConfig {
  caFile: string;
  certFile: string;
  keyFile: string;
  /**
   * none: clients need no certificate (nodes present theirs to each other all the same, and prove
   * membership with the cluster secret); require: every caller, peers included, must present one the
   * CA signed (mTLS), and a node whose certificate another CA signed cannot join or gossip.
   */
  clientAuth: 'none' | 'optional' | 'require';
}

export interface GossipConfig {
  /** Each member probes one other every this many ms. */
  probeIntervalMs: number;
  /** Wait for a direct ack before asking `indirectProbes` others; less than probeIntervalMs. */
  probeTimeoutMs: number;
  /** Members asked to probe on our behalf after a direct probe times out (0 disables). */
  indirectProbes: number;
  /** Time a suspected member has to refute before it is declared dead. */
  suspicionTimeoutMs: number;
}

/**
 * What one node holds, and what one request may make it do: no client can exhaust a node with a
 * single call. maxKeyBytes + maxValueBytes <= maxMemoryBytes; maxValueBytes <= maxReplyBytes.
 */
export interface LimitsConfig {
  maxKeyBytes: number;
  maxValueBytes: number;
  maxMemoryBytes: number;
  /**
   * Most bytes of values in one reply (a GetMany, a Pipeline or PipelinePacked frame): a request
   * whose values add up past it is refused whole with RESOURCE_EXHAUSTED, before its reply is built.
   * Default an eighth of maxMemoryBytes, at most 32 MiB (or maxValueBytes when larger); at most
   * 56 MiB (gRPC's 64 MiB message cap less the framing of maxBatchKeys results).
   */
  maxReplyBytes: number;
  /**
   * Most keys or operations in one GetMany, SetMany or Pipeline/PipelinePacked frame; more is refused
   * whole with RESOURCE_EXHAUSTED, counted before the request is decoded. Default 4096; 1..100000.
   */
  maxBatchKeys: number;
  /**
   * Most bytes one stream may hold unsent for a client that reads too slowly: a Watch past it is
   * ended with RESOURCE_EXHAUSTED (its reader sees a gap), a Pipeline stream stops being read until
   * its replies drain. Counted in the bytes the node holds for them. Default 256 KiB.
   */
  maxOutputBufferBytes: number;
  /** Most Watch streams open on a node; one more is refused RESOURCE_EXHAUSTED. Default 1024. */
  maxWatchers: number;
  /** Most frames of one Pipeline stream a node answers at once; past it, it stops reading. Default 16. */
  maxFramesInFlight: number;
  /**
   * Most connections of clients a node keeps (one whose first call carries the cluster token is a
   * peer's, and peers have 64 more): one more is closed. Default 4096.
   */
  maxConnections: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: calls open at once on one connection. Default 1000. */
  maxStreamsPerConnection: number;
  /**
   * Most calls clients keep open on a node at once, all connections together (each takes about 16 KB
   * whatever it carries): calls to the Cache service, and WatchTopology, health Watch and reflection
   * streams. Past it, a new call is refused RESOURCE_EXHAUSTED before it starts when its connection
   * would hold as many as the most crowded one; else that connection's newest call is ended to make
   * room. Calls between nodes do not count. Clients' new streams start 32 per turn of the event loop
   * (peers' at once), and a quarter as many as this may wait for their turn, past which the newest
   * of the connection with the most waiting is refused. Default one per 32 KiB of max_memory, at
   * least 2048.
   */
  maxClientCalls: number;
  /** A connection with no call open this long is closed (GOAWAY). Default 300000 (5 minutes). */
  idleTimeoutMs: number;
  /**
   * Most bytes delete tombstones may take of maxMemoryBytes; past it the oldest are dropped first,
   * never live values. Default a tenth of maxMemoryBytes.
   */
  maxTombstoneBytes: number;
  /**
   * Most bytes a node holds for all its clients' replies at once (Redis's maxmemory-clients): the
   * values of GetMany replies and Pipeline frames from their read until they have left, and what Watch
   * and Pipeline streams hold unsent. A reply past it is refused RESOURCE_EXHAUSTED (a Watch holding
   * much is ended), rather than the store evicted to make room. At least maxReplyBytes. Default
   * max_memory / 8, or maxReplyBytes when larger.
   */
  maxClientOutputBytes: number;
  /**
   * Most bytes a node holds of its clients' requests at once: Pipeline frames, the keys and values
   * of Set, CompareAndSet and SetMany calls and the state of each unary write's round, from their
   * read until they are answered. Past it the
   * node stops reading its clients' Pipeline streams (HTTP/2 flow control holds their clients back),
   * and refuses RESOURCE_EXHAUSTED a frame read meanwhile and a unary write whose bytes do not fit
   * (small ones have an eighth more), rather than the store evicted to make room. A stream whose own
   * frames in flight hold an eighth of it, with what their operations hold beyond their bytes, is
   * read no more until they are answered. Calls between nodes are not counted.
   * At least maxValueBytes. Default max_memory / 8, or maxValueBytes when larger.
   */
  maxClientInputBytes: number;
  /**
   * Most bytes of one message of a client's call to the Cache service: one past it is refused
   * RESOURCE_EXHAUSTED by gRPC from its 5-byte header, before the rest of it is read (a stream with
   * it). Every message was read whole before (up to gRPC's 64 MiB), so 32 GetMany of a million short
   * keys (8.9 MB each) held about 75 MB of a node until each was decoded and refused for
   * max_batch_keys. Calls between nodes keep gRPC's 64 MiB: they carry what clients sent, bounded
   * where it was sent. At least minMaxRequestBytes (the largest frame the SDK sends), at most
   * 64 MiB; default defaultMaxRequestBytes (max_client_input_bytes at the defaults).
   */
  maxRequestBytes: number;
}

export interface ClusterConfig {
  name: string;
  /** hashring `vnode count`: md5 digests per node, each placing 4 ring points. */
  vnodes: number;
  /**
   * N, W, R: 1 <= W, R <= N <= nodes.length. `sloppy`: a stand-in's hint for a dead replica counts
   * toward W (more writes succeed while replicas are down, but W + R > N no longer makes a read see
   * them); false by default: only the key's own replicas count.
   */
  replication: { factor: number; writeQuorum: number; readQuorum: number; sloppy: boolean };
  gossip: GossipConfig;
  /**
   * Bounds on the hinted-handoff store of each node. maxAgeMs < tombstoneGraceMs: a hint handed back
   * after the tombstone of a later delete was purged would bring the deleted value back.
   */
  hints: { maxCount: number; maxBytes: number; maxAgeMs: number };
  tombstoneGraceMs: number;
  /** Versions more than this many ms ahead of a node's clock are refused. */
  maxClockOffsetMs: number;
  /**
   * Anti-entropy: every intervalMs (0 = off) a node compares the digests of the ring
   * ranges it shares with one peer and exchanges the keys that differ; its scans read at most
   * keysPerSecond keys, and the keys it repairs move at most bytesPerSecond.
   */
  antiEntropy: { intervalMs: number; keysPerSecond: number; bytesPerSecond: number };
  /** Per-node limits: storage in bytes, and what one request may ask of a node (see LimitsConfig). */
  limits: LimitsConfig;
  /** TLS on every connection; plaintext when unset. */
  tls?: TlsConfig;
  /** Users and their roles; unset: the Cache service is open to whoever reaches a node. */
  auth?: AuthConfig;
  /** Whether nodes serve gRPC server reflection (default true; `cluster.reflection: false`). */
  reflection?: boolean;
  nodes: NodeConfig[];
  /** File path or '<generated>': error messages name it. */
  source: string;
}

/** What a user may do: each role adds to the one before (src/server/access.ts has the table). */
export type AccessRole = 'read' | 'write' | 'admin';

/** One user of `auth.users`, known by exactly one of a token's SHA-256, a token file or a certificate name. */
export interface AuthUser {
  name: string;
  role: AccessRole;
  /** Hex SHA-256 of the user's bearer token. */
  tokenSha256?: string;
  /** A file holding the user's bearer token (absolute once loaded). */
  tokenFile?: string;
  /** The common name or a DNS name of the user's client certificate. */
  cert?: string;
}

/** cluster.yml `auth`: who may call what. */
export interface AuthConfig {
  users: AuthUser[];
}
