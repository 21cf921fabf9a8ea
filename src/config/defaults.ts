import type { ClusterConfig, GossipConfig, LimitsConfig } from './types';

/**
 * Values used when cluster.yml leaves a field out. The shipped cluster.yml explains each; the
 * membership layer documents why the gossip timings are what they are (cluster/membership/config.ts).
 */
export const DEFAULT_NAME = 'local';

/** hashring `vnode count`. 160 digests x 4 points keeps max/mean keys per node near 1.05 (bench/ring.ts). */
export const DEFAULT_VNODES = 160;

/** N=3, W=2, R=1 (DESIGN.md), capped so a small cluster still starts: see defaultReplication. */
export const DEFAULT_REPLICATION = { factor: 3, writeQuorum: 2, readQuorum: 1, sloppy: false } as const;

export const DEFAULT_GOSSIP: Readonly<GossipConfig> = {
  probeIntervalMs: 500,
  probeTimeoutMs: 300,
  indirectProbes: 2,
  suspicionTimeoutMs: 1500,
};

/** maxAgeMs: half the tombstone grace, so a hint always expires before a delete after it is forgotten. */
export const DEFAULT_HINTS = { maxCount: 100_000, maxBytes: 64 * 1024 * 1024, maxAgeMs: 30_000 } as const;

/**
 * Anti-entropy: each node compares its ranges with one peer every intervalMs, scanning
 * at most keysPerSecond of its keys to build the digests. A scanned key costs a few microseconds
 * (its ring hash above all), so 20,000 keys/s is a few percent of a core while a scan runs. The keys
 * that differ move at most bytesPerSecond (keys and values, both ways): 16 MiB/s.
 */
export const DEFAULT_ANTI_ENTROPY = {
  intervalMs: 60_000,
  keysPerSecond: 20_000,
  bytesPerSecond: 16 * 1024 * 1024,
} as const;

/**
 * The furthest apart two nodes' clocks may be. Nodes measure it (cluster/membership/clock-watch.ts):
 * one further than half of it from most live members refuses writes, so a write sent more than this
 * after another write of the same key was acknowledged is never replaced by it. A version further
 * ahead of a node's clock than this is refused (one bad peer cannot poison every HLC), and it bounds
 * how far ahead a peer's expiries may be. 500 ms, as CockroachDB: NTP keeps a cache's nodes within
 * milliseconds of each other, so only a clock that is really wrong trips it.
 */
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500;

/** Deletes are kept this long so read repair and anti-entropy never resurrect a deleted key. */
export const DEFAULT_TOMBSTONE_GRACE_MS = 60_000;

/**
 * maxReplyBytes 32 MiB (from max_memory 256 MiB up; an eighth of a smaller one, defaultMaxReplyBytes):
 * half of gRPC's 64 MiB message cap, so a unary GetMany reply with its framing never nears it, and 8
 * PipelinePacked parts (PACKED_PART_BYTES, 4 MiB). It is what one call may make a node copy at once: a
 * GetMany of one 64 KiB key asked 4,096 times built a 256 MiB reply before. The SDK's frames stay
 * below it unless a node answers more than it of values in one frame (its frames carry up to 256
 * calls): large values are read a few at a time (large-values.test.ts reads 20 of 1 MiB at once
 * from nodes whose max_reply_bytes is 32 MiB).
 *
 * maxBatchKeys 4096: the limit nodes enforced before it was a setting (cache.proto's "at most 4096
 * per frame"), so no client that worked is refused for its count (max_request_bytes bounds its
 * bytes); the SDK's frames hold at most 256 operations.
 */
/** limits.max_tombstone_bytes left out: a tenth of limits.max_memory. */
export const defaultMaxTombstoneBytes = (maxMemoryBytes: number): number => Math.floor(maxMemoryBytes / 10);

/**
 * limits.max_client_calls left out: one per 32 KiB of max_memory, at least 2048. An open call takes
 * about 16 KB of a node's memory whatever it carries (measured: 10,000 idle PipelinePacked streams,
 * +155 MB; 20,000, +313 MB), so the default holds what all calls open at once take to half of
 * max_memory; max_connections x max_streams_per_connection alone allowed 4 million.
 */
export const defaultMaxClientCalls = (maxMemoryBytes: number): number =>
  Math.max(2048, Math.floor(maxMemoryBytes / (32 * 1024)));

export const DEFAULT_LIMITS = {
  maxKeyBytes: 1024,
  maxValueBytes: 1024 * 1024,
  maxMemoryBytes: 256 * 1024 * 1024,
  maxReplyBytes: 32 * 1024 * 1024,
  maxBatchKeys: 4096,
  maxOutputBufferBytes: 256 * 1024,
  maxWatchers: 1024,
  maxFramesInFlight: 16,
  maxConnections: 4096,
  maxStreamsPerConnection: 1000,
  maxClientCalls: defaultMaxClientCalls(256 * 1024 * 1024),
  idleTimeoutMs: 300_000,
  maxTombstoneBytes: defaultMaxTombstoneBytes(256 * 1024 * 1024),
  maxClientOutputBytes: 32 * 1024 * 1024,
  maxClientInputBytes: 32 * 1024 * 1024,
  maxRequestBytes: 32 * 1024 * 1024,
} as const;

/**
 * Why the connection and stream defaults are what they are (LimitsConfig says what each bounds):
 *
 * maxOutputBufferBytes 256 KiB: an unsent Watch event holds about 200 bytes plus its key, so a
 * watcher may fall about a thousand events behind, and 100 stalled watchers hold 25 MB (200 held
 * +168 MB before there was a bound). A Pipeline stream past it is only paused.
 *
 * maxWatchers 1024: an SDK client with a near cache opens one Watch per node.
 *
 * maxFramesInFlight 16: the SDK keeps one frame in flight per stream; past 16 the node stops reading
 * the stream instead of refusing it.
 *
 * maxConnections 4096 and maxStreamsPerConnection 1000: an SDK client holds one connection per node
 * with a handful of streams; HTTP/2 servers elsewhere default to 100-1000 streams (the node advertised
 * 2^32-1 before).
 *
 * idleTimeoutMs 5 minutes: a connection with no call open that long is closed (GOAWAY; the SDK
 * reconnects on its next call), and one that stops answering keepalive pings much sooner.
 */

/**
 * limits.max_client_output_bytes left out: an eighth of max_memory, or max_reply_bytes when larger (one
 * reply always fits). Replies are copies of values, so the node's RSS target (1.3 x max_memory, at
 * least max_memory + 72 MiB) has room for an eighth beside the node's own part; more would make the
 * memory guard evict the store to hold them (server/memory-guard.ts).
 */
export const defaultMaxClientOutputBytes = (maxMemoryBytes: number, maxReplyBytes: number): number =>
  Math.max(maxReplyBytes, Math.floor(maxMemoryBytes / 8));

/**
 * limits.max_client_input_bytes left out: an eighth of max_memory, or max_value_bytes when larger (a
 * Set of the largest value always fits). Requests in flight are copies of values, as replies are:
 * with max_client_output_bytes, what clients hold of a node is a quarter of max_memory by default.
 */
export const defaultMaxClientInputBytes = (maxMemoryBytes: number, maxValueBytes: number): number =>
  Math.max(maxValueBytes, Math.floor(maxMemoryBytes / 8));

/**
 * How many bytes of keys and values the SDK puts in one stream frame at most, or one operation alone
 * when larger (PACKED_PART_BYTES of the wire format, which a test holds equal).
 */
export const STREAM_FRAME_BYTES = 4 * 1024 * 1024;

/** The most a node takes in one message, from anyone: gRPC's own default cap. */
export const MAX_REQUEST_BYTES_CAP = 64 * 1024 * 1024;

/**
 * The smallest limits.max_request_bytes: room for the largest frame the SDK sends (STREAM_FRAME_BYTES
 * of keys and values, or one operation of a key and a value of the largest sizes), with the sum of
 * both and 1 MiB for the rest to spare (each operation's code, flags and framing, about 20 bytes).
 */
export const minMaxRequestBytes = (maxValueBytes: number, maxKeyBytes: number): number =>
  STREAM_FRAME_BYTES + maxValueBytes + maxKeyBytes + 1024 * 1024;

/**
 * limits.max_request_bytes left out: max_client_input_bytes (what the node holds of all its
 * clients' requests at once), or minMaxRequestBytes, or a GetMany of max_batch_keys keys of
 * max_key_bytes, whichever is largest, up to gRPC's 64 MiB. At max_memory 64 MiB that is 8 MiB, and
 * a GetMany of a million short keys (8.9 MB) is refused before it is read.
 */
export const defaultMaxRequestBytes = (
  limits: Pick<LimitsConfig, 'maxValueBytes' | 'maxKeyBytes' | 'maxBatchKeys' | 'maxClientInputBytes'>,
): number =>
  Math.min(
    MAX_REQUEST_BYTES_CAP,
    Math.max(
      limits.maxClientInputBytes,
      minMaxRequestBytes(limits.maxValueBytes, limits.maxKeyBytes),
      limits.maxBatchKeys * (limits.maxKeyBytes + 8),
    ),
  );

/**
 * The largest limits.max_reply_bytes: gRPC refuses messages past 64 MiB, and a GetMany reply frames
 * each of its results in about 45 bytes besides the value (100,000 results: 4.3 MiB). 8 MiB spare.
 */
export const MAX_REPLY_BYTES_CAP = 56 * 1024 * 1024;

/**
 * The smallest limits.max_batch_keys: the SDK's frames carry up to 256 operations by default
 * (maxOpsPerFrame), and a node refuses a frame past the limit whole.
 */
export const MIN_BATCH_KEYS = 256;

/** The largest limits.max_batch_keys: a million-key GetMany took a node 2.3 s to decode. */
export const MAX_BATCH_KEYS_CAP = 100_000;

/**
 * limits.max_reply_bytes left out: an eighth of max_memory, at most the default (32 MiB, from a
 * max_memory of 256 MiB on), or max_value_bytes when larger (one value always fits). A reply costs
 * about three times its size in RSS while it is built and sent (the values read, the encoded
 * message, its frames): a 30 MB GetMany cost a node about 100 MB, past the 72 MiB its RSS target
 * leaves beside a max_memory of 64 MiB (server/memory-guard.ts).
 */
export const defaultMaxReplyBytes = (maxValueBytes: number, maxMemoryBytes: number): number =>
  Math.max(Math.min(DEFAULT_LIMITS.maxReplyBytes, Math.floor(maxMemoryBytes / 8)), maxValueBytes);

/**
 * Replication for fields left out, capped at the node count so a 1- or 2-node cluster works without
 * editing: factor = min(3, nodes), write quorum = min(2, factor), read quorum 1. Explicit values are
 * kept as given (and validated: an explicit factor above the node count is an error).
 */
export function defaultReplication(
  nodeCount: number,
  given: {
    factor?: number | undefined;
    writeQuorum?: number | undefined;
    readQuorum?: number | undefined;
    sloppy?: boolean | undefined;
  } = {},
): ClusterConfig['replication'] {
  const factor = given.factor ?? Math.min(DEFAULT_REPLICATION.factor, nodeCount);
  return {
    factor,
    writeQuorum: given.writeQuorum ?? Math.min(DEFAULT_REPLICATION.writeQuorum, factor),
    readQuorum: given.readQuorum ?? DEFAULT_REPLICATION.readQuorum,
    sloppy: given.sloppy ?? DEFAULT_REPLICATION.sloppy,
  };
}
