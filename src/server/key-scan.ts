import type * as grpc from '@grpc/grpc-js';
import { RingCacheError } from '../errors';
import type { Logger } from '../observability/logger';
import type { KeyPage } from '../store/key-page';
import { cut } from '../store/validation';
import { toStatus } from './status';

/** ScanRequest.count when the caller sends 0. */
export const DEFAULT_SCAN_COUNT = 1000;
/** The most keys one Scan page may ask: the page is held whole on the node and in the reply. */
export const MAX_SCAN_COUNT = 10_000;
/** What a cursor starts with: a version, so that its layout can change without misreading old ones. */
const CURSOR_TAG = 'k1.';

export interface ScanRequestMsg {
  prefix: string;
  count: number;
  cursor: string;
}

export interface ScanDeps {
  /** A page of this node's live keys (Store.keyPage). */
  keyPage(prefix: string, after: string, count: number): KeyPage;
  /** Whether the node is still catching up: its store may miss keys it should hold. */
  catchingUp(): boolean;
  /** limits.max_key_bytes. */
  maxKeyBytes: number;
  /** Where an unexpected error (a bug) is logged; the caller gets INTERNAL without its details. */
  logger: Logger;
}

/** A page's cursor: the last key it returned, so the next page starts after it. */
export function cursorOf(lastKey: string): string {
  return CURSOR_TAG + Buffer.from(lastKey, 'utf8').toString('base64url');
}

/**
 * The key a cursor says to start after, checked against the request: a cursor this node could not
 * have made (another prefix, a key too long, not base64url, not valid UTF-8) is INVALID_ARGUMENT.
 */
export function afterOf(cursor: string, prefix: string, maxKeyBytes: number): string {
  if (cursor === '') return '';
  const bad = (why: string) =>
    new RingCacheError(
      'INVALID_ARGUMENT',
      `cursor ${JSON.stringify(cut(cursor, 40))} is not one Scan returned (${why}); pass the last reply's cursor unchanged, or '' to start`,
    );
  const body = cursor.startsWith(CURSOR_TAG) ? cursor.slice(CURSOR_TAG.length) : undefined;
  if (body === undefined || !/^[A-Za-z0-9_-]+$/.test(body)) throw bad('not a cursor');
  if (body.length > Math.ceil((maxKeyBytes * 4) / 3) + 4) throw bad('longer than any key');
  const bytes = Buffer.from(body, 'base64url');
  const key = bytes.toString('utf8');
  // Garbage decodes too: only a cursor that says exactly a key round-trips.
  if (cursorOf(key) !== cursor || Buffer.byteLength(key, 'utf8') > maxKeyBytes) throw bad('not a key');
  if (!key.startsWith(prefix)) throw bad('it belongs to a scan of another prefix');
  return key;
}

/** One Scan request, checked, answered from `deps`; throws RingCacheError for a caller's mistake. */
export function scanPage(req: ScanRequestMsg, deps: ScanDeps): { keys: string[]; cursor: string } {
  const { prefix, count } = req;
  if (Buffer.byteLength(prefix, 'utf8') > deps.maxKeyBytes) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `prefix is ${Buffer.byteLength(prefix, 'utf8')} bytes; keys are at most limits.max_key_bytes (${deps.maxKeyBytes})`,
    );
  }
  if (!Number.isInteger(count) || count < 0 || count > MAX_SCAN_COUNT) {
    throw new RingCacheError(
      'INVALID_ARGUMENT',
      `count must be 1..${MAX_SCAN_COUNT} (0: ${DEFAULT_SCAN_COUNT}); got ${cut(String(count))}`,
    );
  }
  const after = afterOf(req.cursor, prefix, deps.maxKeyBytes);
  if (deps.catchingUp()) {
    throw new RingCacheError(
      'UNAVAILABLE',
      'this node is catching up after a restart and may not hold all its keys yet; scan it again shortly',
    );
  }
  const page = deps.keyPage(prefix, after, count || DEFAULT_SCAN_COUNT);
  const last = page.keys[page.keys.length - 1];
  return { keys: page.keys, cursor: page.more && last !== undefined ? cursorOf(last) : '' };
}

/** The Cache/Scan handler: a page of this node's keys, never forwarded (a scan walks every node). */
export function scanHandler(deps: ScanDeps): grpc.handleUnaryCall<ScanRequestMsg, unknown> {
  return (call, callback) => {
    try {
      callback(null, scanPage(call.request, deps));
    } catch (err) {
      callback(toStatus(err, deps.logger));
    }
  };
}
