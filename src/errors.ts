/**
 * Typed errors with stable codes, shared by every layer. This file imports nothing: the gRPC status
 * mapping lives at the server edge (src/server/status.ts) and the SDK maps statuses back (src/client/).
 * Branch on `code`, never on message text.
 */
export type ErrorCode =
  /** The request itself is malformed: empty key, unknown flags, absurd TTL, wrong type. */
  | 'INVALID_ARGUMENT'
  | 'KEY_TOO_LARGE'
  | 'VALUE_TOO_LARGE'
  /** The value cannot be stored even after evicting everything else (larger than max_memory). */
  | 'OUT_OF_MEMORY'
  /** compare-and-set saw a different version than the caller expected. */
  | 'VERSION_CONFLICT'
  /** increment on a value that is not a 64-bit integer, or would overflow. */
  | 'NOT_AN_INTEGER'
  | 'NOT_FOUND'
  /** A write or read could not reach its quorum of replicas. */
  | 'QUORUM_NOT_MET'
  /** A node could not be reached (connection refused, dead, draining). */
  | 'UNAVAILABLE'
  | 'DEADLINE_EXCEEDED'
  | 'SHUTTING_DOWN'
  /** cluster.yml or a CLI option is wrong; the message names the file, line and field. */
  | 'CONFIG_INVALID'
  /**
   * No credential, or a wrong one: a cluster-internal call without the cluster token
   * (RINGCACHE_CLUSTER_TOKEN), or a call to a cluster with users without a user's token.
   */
  | 'UNAUTHENTICATED'
  /** A known user asked for what its role does not allow; the message names the role needed. */
  | 'PERMISSION_DENIED'
  /** A ring change (join, leave) kept losing to concurrent ones; ordering it again may succeed. */
  | 'ABORTED'
  /**
   * The client and the node (or two nodes) are releases too far apart to talk: neither reads the
   * other's wire version. The message names both; upgrade one release at a time.
   */
  | 'WIRE_INCOMPATIBLE'
  /** Something we did not expect: a bug. */
  | 'INTERNAL';

export class RingCacheError extends Error {
  override readonly name = 'RingCacheError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isRingCacheError(err: unknown, code?: ErrorCode): err is RingCacheError {
  return err instanceof RingCacheError && (code === undefined || err.code === code);
}
