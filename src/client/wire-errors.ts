import { RingCacheError, type ErrorCode } from '../errors';
import { Code } from '../proto/messages';

const KNOWN: ReadonlySet<string> = new Set<ErrorCode>([
  'INVALID_ARGUMENT',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
  'OUT_OF_MEMORY',
  'VERSION_CONFLICT',
  'NOT_AN_INTEGER',
  'NOT_FOUND',
  'QUORUM_NOT_MET',
  'UNAVAILABLE',
  'DEADLINE_EXCEEDED',
  'SHUTTING_DOWN',
  'CONFIG_INVALID',
  'ABORTED',
  'INTERNAL',
]);

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
};

/** An error result from a node as a typed error: the node's own error name when it sent one. */
export function errorFromWire(code: number, message: string, error: string | undefined): RingCacheError {
  const errorCode: ErrorCode =
    error && KNOWN.has(error) ? (error as ErrorCode) : (byCode[code] ?? 'INTERNAL');
  return new RingCacheError(errorCode, message);
}

/** Failures worth trying on another replica: the node (or the path to it) failed, not the request. */
export function isRetryable(code: number): boolean {
  return code === Code.UNAVAILABLE || code === Code.DEADLINE_EXCEEDED || code === Code.CANCELLED;
}
