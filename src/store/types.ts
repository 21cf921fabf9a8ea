import type { HybridLogicalClock, Clock } from './hlc';
import type { Version } from './version';

/** How the value bytes are encoded: raw, utf8, msgpack (matches the proto enum ValueFlags). */
export type ValueFlags = 0 | 1 | 2;

/** set(): write unconditionally, only if the key has no live value, or only if it has one. */
export type SetMode = 'always' | 'ifAbsent' | 'ifPresent';

export interface StoredValue {
  /** A copy owned by the caller: the store's own bytes live in a shared arena and get reused. */
  value: Buffer;
  flags: ValueFlags;
  version: Version;
  /** Wall ms after which the value is gone; 0 = never. For a tombstone: when it is purged. */
  expiresAtMs: number;
}

/** What replicas exchange: a value or a tombstone (empty value) with its version. */
export interface StoreRecord extends StoredValue {
  tombstone: boolean;
}

/**
 * A record without its value, as a scan of the store passes it (Store.versions): what replicas
 * compare (anti-entropy's digests). One object, valid until the scan's next step: copy what is kept.
 */
export interface VersionCursor {
  key: string;
  /** The version's timestamp and node. */
  timestamp: number;
  node: string;
  tombstone: boolean;
}

export interface StoreStats {
  hits: number;
  misses: number;
  /** Live entries removed to make room (tombstones evicted are not counted). */
  evictions: number;
  /** Live entries found past their TTL, on read or by the sweep. */
  expirations: number;
  /** Live entries held (some may be past their TTL until read or swept). */
  keys: number;
  /** Accounted bytes: key + value + ENTRY_OVERHEAD_BYTES per entry, tombstones included. */
  bytes: number;
  maxBytes: number;
  /** Bytes the value arena holds in Buffers, free cells included (compaction gives the excess back). */
  arenaBytes: number;
  /** Bytes of the slot table's rows, in buffers V8 counts in neither its heap nor its external memory. */
  tableBytes: number;
  tombstones: number;
  /** Bytes charged to tombstones: at most max_tombstone_bytes. */
  tombstoneBytes: number;
  /** Tombstones dropped before their grace to stay within max_tombstone_bytes, or not stored. */
  tombstonesShed: number;
  /** Records refused because their version was too far ahead of this node's clock. */
  versionsRefused: number;
}

export interface StoreOptions {
  /** This node's id: the tie-break in every version this store issues. */
  nodeId: string;
  /** Bound on accounted bytes (see StoreStats.bytes); LRU entries are evicted to stay under it. */
  maxMemoryBytes: number;
  /** limits.max_key_bytes: longest key in UTF-8 bytes. */
  maxKeyBytes: number;
  /** limits.max_value_bytes: longest value in bytes. */
  maxValueBytes: number;
  /** Wall clock for TTL and tombstone grace. Default systemClock. */
  clock?: Clock;
  /** Version source. Default new HybridLogicalClock(nodeId, clock); pass one to share it with the node. */
  hlc?: HybridLogicalClock;
  /**
   * How long a delete tombstone (or the tombstone an expired value turns into) is kept, in ms, so read
   * repair and handoff cannot resurrect the key from a replica that missed the delete. Default 60_000.
   */
  tombstoneGraceMs?: number;
  /**
   * A record whose version is more than this many ms ahead of `clock` is refused by applyRecord
   * (INVALID_ARGUMENT) and counted: a peer with a broken clock, or a forged version, must not drag
   * this node's HLC into the future, where every later write would carry it. Also bounds the expiry a
   * peer's record may carry (Store.checkPeerRecord). Default 5000 (config/defaults.ts says why).
   */
  maxClockOffsetMs?: number;
  /**
   * limits.max_tombstone_bytes: what tombstones may take of maxMemoryBytes; past it the oldest are
   * shed, and a delete of an absent key never evicts a live value. Default a tenth of maxMemoryBytes.
   */
  maxTombstoneBytes?: number;
  /** Pause between periodic sweep ticks after start(), in ms. Default 1000. */
  sweepIntervalMs?: number;
  /** Longest one sweep tick may run, in ms; the next tick resumes where it stopped. Default 2. */
  sweepBudgetMs?: number;
}
