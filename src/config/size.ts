import { RingCacheError } from '../errors';

/** Binary units: 1kb = 1024 bytes. "kib" and bare "k" are accepted as the same thing. */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/;

const EXPECTED = 'expected a size in bytes such as 1048576, 512kb, 256mb or 1gb';

/**
 * A size in bytes from a number or a string like '256mb' (binary units: 256mb = 268435456). Bare
 * numbers are bytes. Fractions are fine when they come out whole ('1.5kb' = 1536). Throws
 * CONFIG_INVALID naming `field`.
 */
export function parseSize(text: string | number, field: string): number {
  const result = sizeOrReason(text);
  if (typeof result === 'string') throw new RingCacheError('CONFIG_INVALID', `${field}: ${result}`);
  return result;
}

/** The size, or why it is not one (for callers that add a file and line to the message). */
export function sizeOrReason(text: string | number): number | string {
  if (typeof text === 'number') {
    return Number.isSafeInteger(text) && text >= 0 ? text : `${EXPECTED}, got ${text}`;
  }
  const match = SIZE_PATTERN.exec(text.trim().toLowerCase());
  const multiplier = match ? UNIT_BYTES[match[2] === '' ? 'b' : match[2]!] : undefined;
  if (!match || multiplier === undefined) return `${EXPECTED}, got "${text}"`;
  const bytes = Number(match[1]) * multiplier;
  if (!Number.isSafeInteger(bytes)) return `"${text}" is not a whole number of bytes below 2^53`;
  return bytes;
}
