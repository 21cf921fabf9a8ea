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

/**
 * Why a node refused something a peer sent (the `reason` of ringcache_peer_inputs_refused_total):
 * - incarnation: a gossip update whose incarnation is above what refutation can still outbid;
 * - version_ahead: a record, ballot or clock further ahead of this node's clock than max_clock_offset_ms;
 * - tombstone_expiry: a tombstone kept past now + tombstone grace + max_clock_offset_ms;
 * - value_expiry: a value expiring later than the longest TTL a client may set, + max_clock_offset_ms;
 * - ring_epoch: a ring whose epochs are not positive safe integers.
 */
export type PeerInputRefusal =
  'incarnation' | 'version_ahead' | 'tombstone_expiry' | 'value_expiry' | 'ring_epoch';

/** Counts of refused peer inputs by reason, read at scrape time. */
export class RefusedPeerInputs {
  readonly #counts = new Map<PeerInputRefusal, number>();

  count(reason: PeerInputRefusal): void {
    this.#counts.set(reason, (this.#counts.get(reason) ?? 0) + 1);
  }

  get(reason: PeerInputRefusal): number {
    return this.#counts.get(reason) ?? 0;
  }

  entries(): IterableIterator<[PeerInputRefusal, number]> {
    return this.#counts.entries();
  }
}

/** What bounds a peer record's expiry: this node's clock and its configured grace and clock offset. */
export interface ExpiryBounds {
  nowMs: number;
  tombstoneGraceMs: number;
  maxClockOffsetMs: number;
}

/**
 * The latest expiry a peer's record may carry, or undefined when it is within bounds. A tombstone is
 * made with now + tombstone grace on its writer, whose clock may be up to max_clock_offset_ms ahead;
 * a value with now + its TTL, at most MAX_TTL_MS. Anything later was not made by a node of this
 * cluster: a tombstone kept for decades would never be purged, and would hide every older write.
 */
export function expiryOutOfBounds(
  record: { tombstone: boolean; expiresAtMs: number },
  bounds: ExpiryBounds,
): number | undefined {
  const keptMs = record.tombstone ? bounds.tombstoneGraceMs : MAX_TTL_MS;
  const latestMs = bounds.nowMs + keptMs + bounds.maxClockOffsetMs;
  return record.expiresAtMs > latestMs ? latestMs : undefined;
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
