import { RingCacheError } from '../../errors';
import type { Logger } from '../../observability/logger';
import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import { wallMsOf } from '../../store/hlc';
import type { StoreRecord } from '../../store/types';
import { compareVersions } from '../../store/version';
import type { ClusterView } from '../cluster-view';
import type { RecordCopies } from '../replication/record-copies';

const BATCH = 256;
/** Keys looked at between turns of the event loop while finding the unowned ones (~1 ms of hashing). */
const SCAN_SLICE = 4096;
const DEADLINE_MS = 10_000;

/**
 * After a rebalance, drops the copies this node holds of keys it no longer replicates, so moved data
 * leaves its old node instead of lingering until LRU eviction. Left behind, such a copy wastes memory
 * and can come back from the dead: if the key is deleted on its new replicas, and their tombstone is
 * purged before ownership returns here (a node joins, later leaves), this copy would be served again.
 *
 * A copy is dropped only once every new replica is alive and holds that version or a newer one
 * (checked with a Peer read; a replica that lacks it is sent this copy first), and only if the copy
 * has not changed meanwhile (Store.release). Otherwise it is kept, for the next ring change to try
 * again. Returns how many copies were dropped.
 */
export async function releaseUnowned(opts: {
  ring: Ring;
  factor: number;
  view: ClusterView;
  store: Store;
  /** A copy sent to a new replica goes with the requests that made it. */
  copies: RecordCopies;
  logger: Logger;
  isCurrent(): boolean;
  /**
   * How old a copy may be and still be sent to a replica that lacks it (copyAgeLimitOf): older, the
   * key may have been deleted there with its tombstone purged since, and the copy would bring it
   * back. Such a copy is kept here instead. Default: send any.
   */
  copyAgeLimitMs?: number;
  /**
   * Filled with the copies it found that this node does not replicate, and those it had to keep (a
   * new replica down, refusing, or lacking a copy too old to send).
   */
  outcome?: { unowned: number; kept: number };
}): Promise<number> {
  const { ring, factor, view, store } = opts;
  const self = view.selfId;
  // Keys first, values read when their turn comes; the scan yields now and then, so a large store does
  // not hold up the node's traffic while every key is hashed.
  const unowned: string[] = [];
  let scanned = 0;
  for (const key of store.keys()) {
    if (!ring.preferenceList(key, factor).includes(self)) unowned.push(key);
    if (++scanned % SCAN_SLICE === 0) {
      await new Promise<void>((resolve) => view.scheduler.setTimeout(resolve, 0));
      if (!opts.isCurrent()) return 0;
    }
  }
  let released = 0;
  for (let i = 0; i < unowned.length && opts.isCurrent(); i += BATCH) {
    const outcomes = await Promise.all(unowned.slice(i, i + BATCH).map((key) => releaseOne(key, opts)));
    released += outcomes.filter(Boolean).length;
  }
  if (opts.outcome) {
    opts.outcome.unowned = unowned.length;
    opts.outcome.kept = unowned.length - released;
  }
  if (unowned.length > 0) {
    opts.logger.info(
      { unowned: unowned.length, released, kept: unowned.length - released },
      'copies of keys this node no longer replicates released',
    );
  }
  return released;
}

async function releaseOne(
  key: string,
  opts: {
    ring: Ring;
    factor: number;
    view: ClusterView;
    store: Store;
    copies: RecordCopies;
    isCurrent(): boolean;
    copyAgeLimitMs?: number;
  },
): Promise<boolean> {
  const { view } = opts;
  const record = opts.store.readRecord(key);
  if (!record) return false; // gone meanwhile (expired, evicted)
  const replicas = opts.ring.preferenceList(key, opts.factor);
  if (!replicas.every((id) => view.isAlive(id))) return false;
  const deadline = view.scheduler.now() + DEADLINE_MS;
  const held = await Promise.all(
    replicas.map(async (id) => {
      const read = await view.transport.read(id, key, deadline);
      const theirs = read instanceof RingCacheError ? undefined : read?.record;
      if (theirs && compareVersions(theirs.version, record.version) >= 0) return true;
      if (!theirs && tooOldToSend(record, view.scheduler.now(), opts.copyAgeLimitMs)) return false;
      return (await view.transport.replicate(id, opts.copies.with(key, record), deadline)) === undefined;
    }),
  );
  // A newer ring adopted meanwhile may make this node a replica again: then the copy stays.
  return held.every(Boolean) && opts.isCurrent() && opts.store.release(key, record.version);
}

/**
 * copyAgeLimitMs for cluster.tombstone_grace_ms and max_clock_offset_ms: the grace less twice the
 * bound, never below 0 (then no copy is sent to a replica that lacks it). Twice, as two clocks stand
 * between a copy and the delete it must not undo: the copy's age is read from its HLC timestamp,
 * which a writer's clock up to the bound fast may have set that far ahead of this node's; and a
 * tombstone's purge time is set on its writer's clock and judged on the replica's, which may run the
 * bound ahead of it, purging that much early.
 */
export function copyAgeLimitOf(tombstoneGraceMs: number, maxClockOffsetMs: number): number {
  return Math.max(0, tombstoneGraceMs - 2 * maxClockOffsetMs);
}

/** Written longer ago than `limitMs` (copyAgeLimitMs): a replica lacking it may have purged its delete. */
function tooOldToSend(record: StoreRecord, nowMs: number, limitMs: number | undefined): boolean {
  return limitMs !== undefined && (limitMs <= 0 || nowMs - wallMsOf(record.version.timestamp) > limitMs);
}
