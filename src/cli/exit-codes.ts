import { isRingCacheError, type ErrorCode } from '../errors';

/**
 * The CLI's exit codes, for scripts: 0 done; 1 not found or not stored (a miss, `set --nx` on a
 * present key, a version conflict); 2 a usage mistake (bad flags, a bad config, a request the
 * cluster refused as invalid); 3 the cluster could not be reached, or refused the caller.
 */
export const EXIT = { ok: 0, notDone: 1, usage: 2, cluster: 3 } as const;

const USAGE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'CONFIG_INVALID',
  'INVALID_ARGUMENT',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
]);
const NOT_DONE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  'NOT_FOUND',
  'VERSION_CONFLICT',
  'NOT_AN_INTEGER',
]);

/** The exit code an error ends the CLI with (anything unexpected counts as the cluster's). */
export function exitCodeOf(err: unknown): number {
  if (!isRingCacheError(err)) return EXIT.cluster;
  if (USAGE.has(err.code)) return EXIT.usage;
  if (NOT_DONE.has(err.code)) return EXIT.notDone;
  return EXIT.cluster;
}
