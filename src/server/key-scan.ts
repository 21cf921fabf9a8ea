import type * as grpc from '@grpc/grpc-js';
import { Gauge, type Registry } from 'prom-client';
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
  /** A page of this node's live keys, read a step at a time (Store.keyPageSteps). */
  keyPageSteps(prefix: string, after: string, count: number): Generator<void, KeyPage, void>;
  /** Where pages take their turns (one node-wide). */
  walks: ScanWalks;
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

/**
 * One Scan request, checked, answered from `deps`; rejects with RingCacheError for a caller's
 * mistake. `cancelled`: whether the caller has gone (its page is then not read).
 */
export async function scanPage(
  req: ScanRequestMsg,
  deps: ScanDeps,
  cancelled: () => boolean = () => false,
): Promise<{ keys: string[]; cursor: string }> {
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
  const page = await deps.walks.walk(
    () => deps.keyPageSteps(prefix, after, count || DEFAULT_SCAN_COUNT),
    cancelled,
  );
  if (page === undefined)
    throw new RingCacheError('UNAVAILABLE', 'the caller went away before its page was read');
  const last = page.keys[page.keys.length - 1];
  return { keys: page.keys, cursor: page.more && last !== undefined ? cursorOf(last) : '' };
}

/** Entries a page reads in one turn of the event loop: about a millisecond's work. */
export const SCAN_STEP_ENTRIES = 5000;

/**
 * Where Scan pages take turns. A page reads every key the node holds (key-page.ts), and read at once
 * a page of a node holding a million keys took its event loop for a few hundred milliseconds, every
 * other caller waiting behind it; a client paging with a small count, or many paging at once, kept
 * the node doing little else. Here one page is read at a time, node-wide, a step of
 * SCAN_STEP_ENTRIES entries per turn of the event loop: between two steps the node serves whatever
 * else came in, and however many scans wait, they take one step per turn between them. The others
 * wait their turn in order, holding only their request.
 */
export class ScanWalks {
  /** Pages being read (0 or 1) and waiting for their turn: metrics. */
  walking = 0;
  waiting = 0;
  #turn: Promise<unknown> = Promise.resolve();

  /** Reads the page `steps()` walks, after those before it; undefined when `cancelled` before its turn. */
  walk(steps: () => Generator<void, KeyPage, void>, cancelled: () => boolean): Promise<KeyPage | undefined> {
    this.waiting++;
    const page = this.#turn.then(async () => {
      this.waiting--;
      if (cancelled()) return undefined;
      this.walking++;
      try {
        const walk = steps();
        for (;;) {
          const step = walk.next();
          if (step.done) return step.value;
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      } finally {
        this.walking--;
      }
    });
    this.#turn = page.catch(() => undefined);
    return page;
  }
}

/** The Cache/Scan handler: a page of this node's keys, never forwarded (a scan walks every node). */
export function scanHandler(deps: ScanDeps): grpc.handleUnaryCall<ScanRequestMsg, unknown> {
  return (call, callback) => {
    scanPage(call.request, deps, () => call.cancelled).then(
      (page) => callback(null, page),
      (err: unknown) => callback(toStatus(err, deps.logger)),
    );
  };
}

/** ringcache_scan_pages{state}: Scan pages being read (walking) and waiting for their turn. */
export function registerScanGauges(registry: Registry, walks: ScanWalks): void {
  new Gauge({
    name: 'ringcache_scan_pages',
    help: 'Scan pages being read (state="walking", one at a time) and waiting for their turn',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'walking' }, walks.walking);
      this.set({ state: 'waiting' }, walks.waiting);
    },
  });
}
