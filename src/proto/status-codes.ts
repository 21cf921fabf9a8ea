import { RingCacheError, type ErrorCode } from '../errors';
import { Code } from './messages';

/**
 * The one table from our error codes to google.rpc.Code (the numbers grpc-js `status` uses). It lives
 * with the wire protocol because Pipeline and SetMany results carry a code per operation; the server
 * edge (src/server/status.ts) uses it for whole-call statuses. `satisfies` fails the build when a new
 * ErrorCode lacks a mapping.
 */
export const wireCodeOf = {
  INVALID_ARGUMENT: Code.INVALID_ARGUMENT,
  KEY_TOO_LARGE: Code.INVALID_ARGUMENT,
  VALUE_TOO_LARGE: Code.INVALID_ARGUMENT,
  OUT_OF_MEMORY: Code.RESOURCE_EXHAUSTED,
  VERSION_CONFLICT: Code.FAILED_PRECONDITION,
  NOT_AN_INTEGER: Code.FAILED_PRECONDITION,
  NOT_FOUND: Code.NOT_FOUND,
  QUORUM_NOT_MET: Code.UNAVAILABLE,
  UNAVAILABLE: Code.UNAVAILABLE,
  DEADLINE_EXCEEDED: Code.DEADLINE_EXCEEDED,
  SHUTTING_DOWN: Code.UNAVAILABLE,
  CONFIG_INVALID: Code.INVALID_ARGUMENT,
  ABORTED: Code.ABORTED,
  WIRE_INCOMPATIBLE: Code.FAILED_PRECONDITION,
  UNAUTHENTICATED: Code.UNAUTHENTICATED,
  PERMISSION_DENIED: Code.PERMISSION_DENIED,
  INTERNAL: Code.INTERNAL,
} satisfies Record<ErrorCode, number>;

export interface CodeAndMessage {
  code: number;
  message: string;
  /** Our stable name for the error, sent beside the code so clients never parse messages. */
  error: ErrorCode;
}

/**
 * A thrown value as a code and a message fit to show the caller. Anything that is not a RingCacheError
 * is a bug: `onBug` logs it, and the caller sees only "internal error".
 */
export function toCodeAndMessage(err: unknown, onBug: (err: unknown) => void): CodeAndMessage {
  if (err instanceof RingCacheError)
    return { code: wireCodeOf[err.code], message: err.message, error: err.code };
  onBug(err);
  return { code: Code.INTERNAL, message: 'internal error (logged on the node)', error: 'INTERNAL' };
}

const KNOWN: ReadonlySet<string> = new Set<string>(Object.keys(wireCodeOf));

/** For results that carry no error name (older nodes, transport failures): a best guess from the code. */
const byCode: Record<number, ErrorCode> = {
  [Code.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [Code.RESOURCE_EXHAUSTED]: 'OUT_OF_MEMORY',
  [Code.FAILED_PRECONDITION]: 'VERSION_CONFLICT',
  [Code.NOT_FOUND]: 'NOT_FOUND',
  [Code.UNAVAILABLE]: 'UNAVAILABLE',
  [Code.CANCELLED]: 'UNAVAILABLE',
  [Code.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [Code.ABORTED]: 'ABORTED',
  [Code.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [Code.PERMISSION_DENIED]: 'PERMISSION_DENIED',
};

/** An error result from a node as a typed error: the node's own error name when it sent one. */
export function errorFromWire(code: number, message: string, error: string | undefined): RingCacheError {
  const errorCode: ErrorCode =
    error && KNOWN.has(error) ? (error as ErrorCode) : (byCode[code] ?? 'INTERNAL');
  return new RingCacheError(errorCode, message);
}
