import { isUtf8 } from 'node:buffer';
import { RingCacheError } from '../errors';
import type { ValueFlags } from './types';
import type { Version } from './version';

/** Longest TTL accepted: ten years. Longer ones are almost certainly unit mistakes (seconds vs ms). */
export const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

/** Checks the key and returns its UTF-8 length, which the caller needs for byte accounting anyway. */
export function checkKey(key: string, maxKeyBytes: number): number {
  if (typeof key !== 'string' || key.length === 0)
    throw new RingCacheError('INVALID_ARGUMENT', 'key is empty');
  // What a decoder makes of invalid UTF-8: two different byte keys would read as one key.
  if (key.includes('\uFFFD')) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      'key is not valid UTF-8 (it holds U+FFFD, the replacement character); keys are UTF-8 text',
    );
  }
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > maxKeyBytes) {
    throw new RingCacheError(
      'KEY_TOO_LARGE',
      `key is ${bytes} bytes; limits.max_key_bytes is ${maxKeyBytes}`,
    );
  }
  return bytes;
}

export function checkValue(value: Buffer, maxValueBytes: number): void {
  if (!(value instanceof Uint8Array)) throw new RingCacheError('INVALID_ARGUMENT', 'value must be bytes');
  if (value.length > maxValueBytes) {
    throw new RingCacheError(
      'VALUE_TOO_LARGE',
      `value is ${value.length} bytes; limits.max_value_bytes is ${maxValueBytes}`,
    );
  }
}

export function checkFlags(flags: number): asserts flags is ValueFlags {
  if (flags !== 0 && flags !== 1 && flags !== 2) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `flags must be 0 (raw), 1 (utf8) or 2 (msgpack); got ${cut(String(flags))}`,
    );
  }
}

/** A value flagged UTF-8 (flags 1) must be: readers decode it as text. */
export function checkFlaggedValue(value: Buffer, flags: ValueFlags): void {
  if (flags === 1 && !isUtf8(value)) {
    throw new RingCacheError('INVALID_ARGUMENT', 'value is flagged utf8 (flags 1) but is not valid UTF-8');
  }
}

/** Longest node id in a version: node ids are short names (n1, cache-0). */
export const MAX_NODE_ID_LENGTH = 255;

/** A string from a request, cut for an error message. */
export function cut(text: string, max = 64): string {
  return text.length <= max ? text : `${text.slice(0, max)}... (${text.length} characters)`;
}

/** undefined and 0 both mean "no expiry". */
export function checkTtl(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return 0;
  if (!Number.isInteger(ttlMs) || ttlMs < 0 || ttlMs > MAX_TTL_MS) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `ttl_ms must be an integer from 0 to ${MAX_TTL_MS}; got ${cut(String(ttlMs))}`,
    );
  }
  return ttlMs;
}

export function checkSafeInteger(field: string, n: number): void {
  if (!Number.isSafeInteger(n)) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${field} must be an integer within +-(2^53-1); got ${cut(String(n))}`,
    );
  }
}

/** Versions arriving from replicas: a garbage timestamp would win every last-writer-wins comparison. */
export function checkVersion(field: string, v: Version): void {
  if (typeof v !== 'object' || v === null || !Number.isSafeInteger(v.timestamp) || v.timestamp < 0) {
    throw new RingCacheError('INVALID_ARGUMENT', `${field}.timestamp must be a non-negative safe integer`);
  }
  if (typeof v.node !== 'string' || v.node.length === 0) {
    throw new RingCacheError('INVALID_ARGUMENT', `${field}.node is empty`);
  }
  if (v.node.length > MAX_NODE_ID_LENGTH) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `${field}.node is ${v.node.length} characters; node ids are at most ${MAX_NODE_ID_LENGTH}`,
    );
  }
}

/** Absolute expiry times on replicated records: 0 (never) or a non-negative wall ms. */
export function checkExpiresAt(expiresAtMs: number): void {
  if (typeof expiresAtMs !== 'number' || !(expiresAtMs >= 0) || !Number.isFinite(expiresAtMs)) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `expires_at_ms must be 0 or a wall-clock time in ms; got ${cut(String(expiresAtMs))}`,
    );
  }
}
