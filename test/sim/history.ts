import type { Version } from '../../src/store/version';

/**
 * What the simulator's workload records: one entry per client operation, from invocation to outcome.
 * The checkers (checkers.ts) judge a whole history against the promises of DESIGN.md.
 *
 * - ok: the node answered success; the operation took effect (for writes: acknowledged).
 * - failed: the node answered an error that says the operation did not take effect (a bad request,
 *   VERSION_CONFLICT, NOT_AN_INTEGER).
 * - unknown: the outcome cannot be known (timeout, QUORUM_NOT_MET, node crashed mid-call): it may or may
 *   not have taken effect, now or later.
 */
export type OutcomeStatus = 'ok' | 'failed' | 'unknown';

/** 'flush': Cluster/Flush of the keys that start with the entry's `key`, through its `node`. */
export type HistoryKind = 'set' | 'delete' | 'get' | 'incr' | 'cas' | 'touch' | 'flush';

export interface HistoryEntry {
  /** Unique, increasing in invocation order. */
  id: number;
  kind: HistoryKind;
  key: string;
  /** The node the client sent it to. */
  node: string;
  /** Replicas the operation required (W for writes, R for reads), and the cluster's N at invocation. */
  required: number;
  factor: number;
  invokedAtMs: number;
  /** Undefined while still running at the end of the run (then status is 'unknown'). */
  completedAtMs?: number;
  status: OutcomeStatus;
  /** ErrorCode of a failed or unknown outcome. */
  error?: string;
  /**
   * The epoch of the ring `node` held when the call completed (unset when it was down): a call is
   * counted on its coordinator's ring, so a read on an older ring than a write's is the window
   * docs/partitions.md describes ("What stays open"), which staleReads does not judge.
   */
  ringEpoch?: number;

  // Inputs.
  /** set and cas: the value written; every write of the workload writes a distinct value. */
  value?: string;
  /** incr: the delta (the workload uses positive deltas on keys it only increments). */
  delta?: number;
  /** cas: the version the caller expected. */
  expected?: Version;
  /** set, cas, touch: the time to live given, in ms; unset or 0: none (a touch to 0 keeps it forever). */
  ttlMs?: number;
  /** set: its condition (unset: always). */
  mode?: 'ifAbsent' | 'ifPresent';

  // Outputs of an ok outcome.
  /** set (when stored), cas, incr, delete: the version the write produced. */
  version?: Version;
  /** get: whether a value was found, its value and version; touch: whether it found the key. */
  found?: boolean;
  readValue?: string;
  readVersion?: Version;
  /** incr: the counter after the increment. */
  counter?: number;
  /** set with mode ifAbsent/ifPresent may answer ok without storing. */
  stored?: boolean;
}

/** One replica's copy of a key at the end of a run, read straight from its store (not through a coordinator). */
export interface ReplicaCopy {
  node: string;
  /** Undefined when the replica holds nothing for the key (never had it, or its tombstone was purged). */
  version?: Version;
  tombstone?: boolean;
  value?: string;
}

/** The state at the end of a run, after faults healed and the cluster went quiet. */
export interface FinalState {
  /** Per key: what a quorum read through the cluster returned. */
  reads: Map<string, { found: boolean; value?: string; version?: Version }>;
  /** Per key: each replica of the final ring's preference list, and what it holds. */
  replicas: Map<string, ReplicaCopy[]>;
  /** Per counter key (keys only incremented): the integer a quorum read returned, or 0 when absent. */
  counters: Map<string, number>;
  /** Each running node's ring at the end (absent in hand-built states: nothing to judge). */
  rings?: { node: string; epoch: number; digest: number; members: string[] }[];
  /** The run's joins and leaves and whether each was acknowledged (resolved without an error). */
  ringChanges?: { kind: 'join' | 'leave'; node: string; acknowledged: boolean }[];
  /**
   * The furthest two clocks were apart during the run, in ms: an expiry is set on its writer's clock
   * and judged on each replica's, so a value may expire that much early or late (0 when unset).
   */
  clockSlackMs?: number;
  /**
   * cluster.max_clock_offset_ms of the run: a write sent more than this (or than clockSlackMs, when
   * smaller) after another write of its key was acknowledged must win over it (unset in hand-built
   * states: no real-time order judged).
   */
  clockBoundMs?: number;
  /** Each crash of the run: the node, and when. */
  crashes?: { node: string; atMs: number }[];
  /**
   * Per version of a key (`copyKey(key, version)`): when the node that made it first stored it, and
   * when it first reached another node: stored there, or delivered to it in a replica write (a
   * stand-in's hint, a copy the replica refused) or a catch-up stream. A write its node alone
   * acknowledged (W = 1) that had reached no other node when its node crashed lived only in that
   * node's memory: promise 1 says it is gone then.
   */
  copies?: Map<string, { madeAtMs?: number; copiedAtMs?: number }>;
  /** Each live value a node's store evicted for room during the run, with its version (none when unset). */
  evictions?: { node: string; key: string; atMs: number; version?: Version }[];
  /**
   * Each delete's tombstone a node's store shed, or did not keep, within its grace, with its version:
   * a store full of live values keeps none for a key it does not hold (none when unset).
   */
  droppedTombstones?: { node: string; key: string; atMs: number; version: Version }[];
}

export interface Violation {
  checker: string;
  key: string;
  /** A sentence a person can act on, naming the operations (history ids) involved. */
  message: string;
}

/** The name of one version of one key, in FinalState.copies. */
export function copyKey(key: string, version: Version): string {
  return `${key}\u0000${version.timestamp}\u0000${version.node}`;
}

/** A write the cluster acknowledged, with the version it produced. */
export type AckedWrite = HistoryEntry & { version: Version };

/**
 * An ok set that answered `stored: false` (ifAbsent/ifPresent that did not apply) wrote nothing, so it
 * promises nothing. A write without a version cannot be ordered against the others; the simulator
 * always records one, so such an entry is a recording bug, not something to judge.
 */
export function isAckedWrite(e: HistoryEntry): e is AckedWrite {
  if (e.status !== 'ok' || e.version === undefined) return false;
  if (e.kind === 'set') return e.stored !== false;
  return e.kind === 'cas' || e.kind === 'incr' || e.kind === 'delete';
}
