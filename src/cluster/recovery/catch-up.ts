import type { Logger } from '../../observability/logger';
import type { Store } from '../../store/store';
import type { ClusterView } from '../cluster-view';

/**
 * A node starts empty (memory only). Before it is fully useful it pulls, from every other member, the
 * records whose preference list includes it (Peer.Sync), applying each with last-writer-wins so writes
 * that arrive meanwhile are never overwritten by older copies. Progress is logged per peer.
 * Peers that are down are skipped: hints and read repair cover what they hold. `signal` ends it early
 * (the node is stopping): every stream is cancelled and the promise settles.
 */
export async function catchUpFromPeers(
  view: ClusterView,
  peers: string[],
  store: Store,
  log: Logger,
  signal: AbortSignal,
): Promise<number> {
  const counts = await Promise.all(
    peers.map(async (peerId) => {
      try {
        return await pullFrom(view, peerId, store, log, signal);
      } catch (err) {
        log.info({ peer: peerId, err: (err as Error).message }, 'catch-up skipped a peer');
        return 0;
      }
    }),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  if (signal.aborted) log.info({ records: total }, 'catch-up stopped');
  else log.info({ records: total, peers: peers.length }, 'catch-up finished');
  return total;
}

async function pullFrom(
  view: ClusterView,
  peerId: string,
  store: Store,
  log: Logger,
  signal: AbortSignal,
): Promise<number> {
  let applied = 0;
  let received = 0;
  let nextReport = 50_000;
  await view.transport.sync(
    peerId,
    view.selfId,
    (records) => {
      for (const { key, record } of records) {
        try {
          if (store.applyRecord(key, record)) applied++;
        } catch (err) {
          // A record this node's limits refuse (a larger max_value_bytes elsewhere): skip it, say so.
          log.warn({ peer: peerId, key, err: (err as Error).message }, 'catch-up skipped a record');
        }
      }
      received += records.length;
      if (received >= nextReport) {
        log.info({ peer: peerId, received, applied }, 'catch-up progress');
        nextReport += 50_000;
      }
    },
    signal,
  );
  return applied;
}
