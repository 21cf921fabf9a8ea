import { Code } from '../proto/messages';

export { errorFromWire } from '../proto/status-codes';

/** Failures worth trying on another replica: the node (or the path to it) failed, not the request. */
export function isRetryable(code: number): boolean {
  return code === Code.UNAVAILABLE || code === Code.DEADLINE_EXCEEDED || code === Code.CANCELLED;
}
