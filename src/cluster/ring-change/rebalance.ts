import type { Logger } from '../../observability/logger';
import type { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import { pause, type ClusterView } from '../cluster-view';
import type { ReplicaWrite } from '../peer-transport';
import type { RecordCopies } from '../replication/record-copies';
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
/** Release passes after a rebalance, 1 s, 2 s, 4 s ... (at most 30 s) apart: about 8 minutes in all. */
const RELEASE_ATTEMPTS = 20;
const RELEASE_RETRY_MAX_MS = 30_000;
/** Passes made at least, the last one 3 s after the first, whatever the first ones found. */
const MIN_RELEASE_PASSES = 3;

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
  /** A copy sent to a new replica goes with the requests that made it. */
  copies: RecordCopies;
  logger: Logger;
  isCurrent(): boolean;
  progress: RebalanceProgress;
  /** The oldest copy release may send to a replica that lacks it (release.ts copyAgeLimitOf). */
  copyAgeLimitMs?: number;
  /** Aborted when the node stops: ends the pauses between release attempts at once. */
  signal?: AbortSignal;
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
    let copy: ReplicaWrite | undefined;
    for (const target of after.preferenceList(key, factor)) {
      if (target === self || oldList.includes(target)) continue;
      copy ??= opts.copies.with(key, record);
      batch.push(
        view.transport.replicate(target, copy, clock.now() + 10_000).then((refused) => {
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
  // Released until this node holds no copy it does not replicate: a copy kept because a
  // new replica was down is offered again later, with growing pauses, while this ring stands; and
  // passes go on until one finds nothing to release, which catches the writes that nodes still on the
  // old ring sent here during the change.
  const outcome = { unowned: 0, kept: 0 };
  for (let attempt = 0; opts.isCurrent() && attempt < RELEASE_ATTEMPTS; attempt++) {
    if (
      attempt > 0 &&
      !(await pause(view, Math.min(RELEASE_RETRY_MAX_MS, 1000 * 2 ** (attempt - 1)), opts.signal))
    )
      break;
    progress.released += await releaseUnowned({
      ring: after,
      factor,
      view,
      store,
      copies: opts.copies,
      logger,
      isCurrent: () => opts.isCurrent(),
      copyAgeLimitMs: opts.copyAgeLimitMs,
      outcome,
    });
    if (outcome.unowned === 0 && attempt >= MIN_RELEASE_PASSES - 1) break;
  }
  if (outcome.kept > 0 && opts.isCurrent()) {
    logger.warn(
      { epoch: opts.epoch, kept: outcome.kept },
      'copies of keys this node no longer replicates kept',
    );
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
