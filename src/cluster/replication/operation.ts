import { RingCacheError } from '../../errors';
import type { SetMode, StoredValue, ValueFlags } from '../../store/types';
import type { Version } from '../../store/version';

/**
 * The Cache operations as the core sees them: named fields, domain types, no wire shapes. The edges
 * translate once: protobuf messages and packed frames into these (src/server/operation-wire.ts), and
 * outcomes back into results with a gRPC code.
 */

/** How many replicas a call needs: the configured W or R, or one, a majority, all N. */
export type Consistency = 'default' | 'one' | 'quorum' | 'all';

export interface GetOperation {
  kind: 'get';
  key: string;
  consistency: Consistency;
}
export interface SetOperation {
  kind: 'set';
  key: string;
  value: Buffer;
  flags: ValueFlags;
  /** Milliseconds the value lives; 0 = no expiry. */
  ttlMs: number;
  mode: SetMode;
  consistency: Consistency;
  /**
   * Keep the expiry of the live value it replaces (Redis's KEEPTTL); `ttlMs` then applies only when
   * there is none. It reads the key, so it is decided by the key's coordinator like a conditional set.
   */
  keepTtl?: boolean;
  /** Chosen by the client for a conditional or keepTtl set: see IncrOperation.requestId. */
  requestId?: string;
}
export interface DeleteOperation {
  kind: 'delete';
  key: string;
  consistency: Consistency;
}
export interface TouchOperation {
  kind: 'touch';
  key: string;
  /** The new TTL in milliseconds; 0 = no expiry. */
  ttlMs: number;
  consistency: Consistency;
  /** See IncrOperation.requestId. */
  requestId?: string;
}
export interface IncrOperation {
  kind: 'incr';
  key: string;
  delta: number;
  /** The value an absent key starts from before `delta` is added. */
  initial: number;
  /** TTL in milliseconds given to a key the increment creates; 0 = no expiry. */
  ttlMs: number;
  consistency: Consistency;
  /**
   * Chosen by the client, the same on every retry of one call: the key's replicas remember it with
   * the write it made, so a retry (by the SDK, a forwarding node or the user) gets the first outcome
   * instead of applying again. A node assigns one when the client sent none.
   */
  requestId?: string;
}
export interface CasOperation {
  kind: 'cas';
  key: string;
  /** The version the caller read: the write happens only if the key still holds it. */
  expected: Version;
  value: Buffer;
  flags: ValueFlags;
  ttlMs: number;
  /** Keep the replaced value's expiry (then `ttlMs` must be 0). */
  keepTtl?: boolean;
  consistency: Consistency;
  /** See IncrOperation.requestId. */
  requestId?: string;
}

export type Operation =
  GetOperation | SetOperation | DeleteOperation | TouchOperation | IncrOperation | CasOperation;
export type OperationKind = Operation['kind'];

export interface GetResult {
  kind: 'get';
  /** Undefined when the key is absent, deleted or expired. `expiresAtMs` is absolute (0 = never). */
  entry: StoredValue | undefined;
}
export interface SetResult {
  kind: 'set';
  /** False when the mode's condition (ifAbsent, ifPresent) did not hold. */
  stored: boolean;
  /** The version written, or the version in place when nothing was stored (undefined if none). */
  version: Version | undefined;
}
export interface DeleteResult {
  kind: 'delete';
  deleted: boolean;
  /** The tombstone's version; undefined when the answer came through a wire that does not carry it. */
  version: Version | undefined;
}
export interface TouchResult {
  kind: 'touch';
  found: boolean;
}
export interface IncrResult {
  kind: 'incr';
  value: number;
  version: Version;
}
export interface CasResult {
  kind: 'cas';
  version: Version;
}

export type OperationResult = GetResult | SetResult | DeleteResult | TouchResult | IncrResult | CasResult;

/** What an operation came to: its result, or the typed error that says why not. */
export type Outcome = OperationResult | RingCacheError;

export interface OperationContext {
  /** Set when another node forwarded this operation: serve it here, never forward again (no loops). */
  forwarded: boolean;
  /** Absolute deadline (the node clock's ms) for everything this operation does. */
  deadlineMs: number;
  /**
   * The last instant (this node's clock, ms) at which the operation may still write: its sender
   * gives up on it then and its caller may write the key again elsewhere. A write that reaches this
   * node later (read late from the socket of a paused node) is refused, since the version it would
   * get here is later than those of writes acknowledged since. Unset: no bound (old clients, the CLI).
   */
  notAfterMs?: number;
}

/** Operations that read the key's current state to decide what to write: decided by the key's one coordinator. */
export type ReadModifyWrite = IncrOperation | CasOperation | TouchOperation | SetOperation;

/**
 * incr, cas, touch, conditional and keepTtl sets: their outcome depends on the value they find, so they are
 * decided by one coordinator per key on the newest version, and carry a request id.
 */
export function isReadModifyWrite(op: Operation): op is ReadModifyWrite {
  return (
    op.kind === 'incr' ||
    op.kind === 'cas' ||
    op.kind === 'touch' ||
    (op.kind === 'set' && (op.mode !== 'always' || op.keepTtl === true))
  );
}

/**
 * QUORUM_NOT_MET for a write that this coordinator applied (its own copy holds it), with what it
 * came to here. A client that tries the write again at another replica finds it applied there
 * already: a delete then reads "absent", though this call deleted the value (`applied.deleted`).
 */
export class UnacknowledgedWrite extends RingCacheError {
  constructor(
    readonly applied: OperationResult,
    message: string,
  ) {
    super('QUORUM_NOT_MET', message);
  }
}
