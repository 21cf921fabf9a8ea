import type { Logger } from '../../observability/logger';
import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import type { ClusterView } from '../cluster-view';
import { releaseUnowned } from './release';

export interface RebalanceProgress {
  epoch: number;
  scanned: number;
  sent: number;
  failed: number;
  /** Copies of keys this node no longer replicates, dropped once their new replicas hold them. */
  released: number;
  done: boolean;
}

const BATCH = 512;
const REPORT_EVERY_MS = 2000;

/**
 * After a ring change, streams each record this node holds to the nodes that became its replicas.
 * Of a key's old replicas only one sends it (the first alive in the old preference list), so a join
 * costs one copy per moved key, not N. Runs in the background, logs progress every couple of seconds,
 * and gives up early once another ring is adopted, which starts its own rebalance, or the node stops
 * (`isCurrent`).
 * Then it drops the copies this node no longer replicates, once their new replicas hold them
 * (release.ts).
 */
export async function rebalance(opts: {
  epoch: number;
  before: Ring;
  after: Ring;
  factor: number;
  view: ClusterView;
  store: Store;
  logger: Logger;
  isCurrent(): boolean;
  progress: RebalanceProgress;
  /** cluster.tombstone_grace_ms, for release (release.ts). */
  tombstoneGraceMs?: number;
}): Promise<RebalanceProgress> {
  const { before, after, factor, view, store, logger, progress } = opts;
  const self = view.selfId;
  const total = store.stats().keys + store.stats().tombstones;
  const clock = view.scheduler;
  let lastReport = clock.now();
  let batch: Promise<void>[] = [];
  logger.info({ epoch: opts.epoch, records: total }, 'rebalance started');
  for (const [key, record] of store.records()) {
    if (!opts.isCurrent()) break;
    progress.scanned++;
    const oldList = before.preferenceList(key, factor);
    const sender = oldList.find((id) => view.isAlive(id));
    if (sender !== self) continue;
    for (const target of after.preferenceList(key, factor)) {
      if (target === self || oldList.includes(target)) continue;
      batch.push(
        view.transport.replicate(target, { key, record }, clock.now() + 10_000).then((refused) => {
          if (refused) progress.failed++;
          else progress.sent++;
        }),
      );
    }
    if (batch.length >= BATCH) {
      await Promise.all(batch);
      batch = [];
    }
    if (clock.now() - lastReport >= REPORT_EVERY_MS) {
      lastReport = clock.now();
      logger.info(
        { epoch: opts.epoch, scanned: progress.scanned, of: total, sent: progress.sent },
        'rebalance progress',
      );
    }
  }
  await Promise.all(batch);
  if (opts.isCurrent()) {
    progress.released = await releaseUnowned({
      ring: after,
      factor,
      view,
      store,
      logger,
      isCurrent: () => opts.isCurrent(),
      tombstoneGraceMs: opts.tombstoneGraceMs,
    });
  }
  progress.done = true;
  if (!opts.isCurrent()) return progress;
  logger.info(
    {
      epoch: opts.epoch,
      scanned: progress.scanned,
      sent: progress.sent,
      failed: progress.failed,
      released: progress.released,
    },
    'rebalance finished',
  );
  return progress;
}
