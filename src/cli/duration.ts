import { RingCacheError } from '../errors';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "5m", "2h", "1d" or a bare number of milliseconds. */
export function parseDuration(text: string, field: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${field}: expected a duration like 500ms, 30s, 5m or 2h, got "${text}"`,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!);
}
