import type { Logger } from '../observability/logger';
import type { Store } from '../store/store';
import type { ClusterView } from './cluster-view';
import { msgToRecord } from './record-codec';
import type { SyncResponseMsg } from '../proto/messages';

/**
 * A node starts empty (memory only). Before it is fully useful it pulls, from every other member, the
 * records whose preference list includes it (Peer.Sync), applying each with last-writer-wins so writes
 * that arrive meanwhile are never overwritten by older copies. Progress is logged per peer.
 * Peers that are down are skipped: hints and read repair cover what they hold.
 */
export async function catchUpFromPeers(
  view: ClusterView,
  peers: string[],
  store: Store,
  log: Logger,
): Promise<number> {
  const counts = await Promise.all(
    peers.map(async (peerId) => {
      try {
        return await pullFrom(view, peerId, store, log);
      } catch (err) {
        log.info({ peer: peerId, err: (err as Error).message }, 'catch-up skipped a peer');
        return 0;
      }
    }),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  log.info({ records: total, peers: peers.length }, 'catch-up finished');
  return total;
}

function pullFrom(view: ClusterView, peerId: string, store: Store, log: Logger): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let applied = 0;
    let received = 0;
    let nextReport = 50_000;
    const stream = view.peer(peerId).sync(view.selfId);
    stream.on('data', (msg: SyncResponseMsg) => {
      for (const m of msg.records) {
        const record = msgToRecord(m);
        if (record && store.applyRecord(m.key, record)) applied++;
      }
      received += msg.records.length;
      if (received >= nextReport) {
        log.info({ peer: peerId, received, applied }, 'catch-up progress');
        nextReport += 50_000;
      }
    });
    stream.on('end', () => resolve(applied));
    stream.on('error', reject);
  });
}
