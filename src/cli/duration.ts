import { RingCacheError } from '../errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "500ms", "30s", "5m", "2h", "1d", or 0. A bare number other than 0 is refused: whether `--ttl 5`
 * meant seconds (redis-cli's EXPIRE) or milliseconds (the SDK's) is a guess, and a wrong one makes a
 * key vanish at once or live for weeks.
 */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (m && !m[2] && Number(m[1]) !== 0) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${field}: "${text}" has no unit; write ${m[1]}s for seconds or ${m[1]}ms for milliseconds (also m, h, d)`,
    );
  }
  if (!m)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${field}: expected a duration like 500ms, 30s, 5m or 2h, got "${text}"`,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}
