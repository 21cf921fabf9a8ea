import type { Logger } from '../../observability/logger';
import type { Store } from '../../store/store';
import { pause, type ClusterView } from '../cluster-view';
import { namesVersion, type AppliedRequest, type RequestLog } from '../replication/request-log';
import type { RingState } from '../ring-change/topology';
import type { SyncDebt } from '../peer-transport';

/** How far a catch-up got: read by metrics and logs. */
export interface CatchUpProgress {
  /** Records received from peers, and those newer than what this node held (applied). */
  received: number;
  applied: number;
  /** Key and value bytes received. */
  bytes: number;
  /** Peers asked. */
  peers: number;
  done: boolean;
}

/** Pauses before pulling again from a peer whose stream failed: doubling from the first to the last. */
const PULL_AGAIN_FIRST_MS = 200;
const PULL_AGAIN_MAX_MS = 5000;

/** Where a catch-up puts what it pulls: the records, and the requests the peers remember of them. */
export interface CatchUpInto {
  store: Store;
  requests: RequestLog;
}

/** Requests a peer sent with its copy of a key's record: those it remembers of the key. */
export interface SentRequests {
  key: string;
  requests: readonly AppliedRequest[];
}

/**
 * A node starts empty (memory only). Before it is fully useful it pulls, from every other member, the
 * records whose preference list includes it (Peer.Sync), applying each with last-writer-wins so writes
 * that arrive meanwhile are never overwritten by older copies. It remembers the read-modify-writes
 * the peers remember of those keys as well: it may have accepted some of them before it restarted
 * (or, after a ring change, the old replicas did), and must answer their retries with their outcome,
 * not apply them again, nor let another node's round do so (its prepare answers name them). Once
 * every peer has sent its copies, and only then: a request is remembered as taken here (counted as a
 * replica that remembers it) only if its outcome names the record this node ends up holding;
 * otherwise as heard of (RequestLog.hear), which its prepare answers report without counting.
 * Peers' copies arrive in any order, and a request whose record a newer copy replaced may be one
 * whose round missed its quorum and was written over by a round that never read it: counted here,
 * it would look chosen, and its retry be answered as applied while no record holds its effect.
 * The caller remembers them (rememberSent) once it counts its copies of their keys.
 * Progress is logged per peer.
 * A stream that fails while its peer is alive (a connection reset midway, a peer still catching up
 * itself) is pulled again from the start, with a growing pause, until it completes or the peer is
 * taken for dead. A peer taken for dead (before or during its stream) is `skipped`: the caller owes
 * it a pull, since it may hold the only other copy of a write this node took before it restarted.
 * `signal` ends it early (the node is stopping): every stream is cancelled and the promise settles.
 */
export async function catchUpFromPeers(
  view: ClusterView,
  peers: string[],
  into: CatchUpInto,
  log: Logger,
  signal: AbortSignal,
  progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: peers.length, done: false },
  ring?: RingState,
): Promise<CatchUpResult> {
  const startedMs = view.scheduler.now();
  const sent: SentRequests[] = [];
  const skipped: string[] = [];
  const completed: string[] = [];
  const debts: SyncDebt[] = [];
  const counts = await Promise.all(
    peers.map(async (peerId) => {
      for (let pauseMs = PULL_AGAIN_FIRST_MS; ; pauseMs = Math.min(2 * pauseMs, PULL_AGAIN_MAX_MS)) {
        try {
          const { applied, debt } = await pullFrom(view, peerId, into, log, signal, progress, sent, ring);
          completed.push(peerId);
          if (debt.peers.length > 0) debts.push(debt);
          return applied;
        } catch (err) {
          const message = (err as Error).message;
          if (signal.aborted) return 0;
          if (!view.isAlive(peerId)) {
            log.info({ peer: peerId, err: message }, 'catch-up skipped a peer taken for dead');
            skipped.push(peerId);
            return 0;
          }
          log.warn(
            { peer: peerId, err: message, againInMs: pauseMs },
            'catch-up stream failed; pulling again',
          );
          await pause(view, pauseMs, signal);
        }
      }
    }),
  );
  const total = counts.reduce((a, b) => a + b, 0);
  const ms = Math.max(1, view.scheduler.now() - startedMs);
  const summary = {
    applied: total,
    received: progress.received,
    bytes: progress.bytes,
    ms,
    keysPerSecond: Math.round((progress.received * 1000) / ms),
  };
  if (signal.aborted) log.info(summary, 'catch-up stopped');
  else log.info({ ...summary, peers: peers.length, skipped }, 'catch-up finished');
  return { applied: total, skipped, completed, sent, debts };
}

/** What a catch-up from some peers did. */
export interface CatchUpResult {
  /** Records applied (newer than what this node held). */
  applied: number;
  /** Peers taken for dead before their stream completed: nothing of theirs is known to be here. */
  skipped: string[];
  /** Peers whose stream completed: this node holds what they held for it then. */
  completed: string[];
  /** The requests the peers sent with their copies, for rememberSent. */
  sent: SentRequests[];
  /** What the peers whose streams completed still owed (SyncDebt): none nearly always. */
  debts: SyncDebt[];
}

/**
 * The requests peers sent with their copies, remembered once all copies are in: as taken here those
 * whose outcome names the record this node holds (the last write of the round that made it), or
 * that wrote nothing; the others as heard of. An earlier write of a round that made several is
 * heard of too, the cautious side: its retry may be answered "outcome unknown".
 */
export function rememberSent(
  { store, requests }: CatchUpInto,
  sent: readonly SentRequests[],
  nowMs: number,
): void {
  for (const { key, requests: applied } of sent) {
    const held = store.versionOf(key);
    for (const request of applied)
      requests.takeCopied(
        key,
        request,
        nowMs,
        held && namesVersion(request.outcome, held) ? held : undefined,
      );
  }
}

async function pullFrom(
  view: ClusterView,
  peerId: string,
  { store }: CatchUpInto,
  log: Logger,
  signal: AbortSignal,
  progress: CatchUpProgress,
  sent: SentRequests[],
  ring: RingState | undefined,
): Promise<{ applied: number; debt: SyncDebt }> {
  let applied = 0;
  let received = 0;
  let nextReport = 50_000;
  const debt = await view.transport.sync(
    peerId,
    view.selfId,
    (records) => {
      for (const { key, record, requests: remembered } of records) {
        if (remembered) sent.push({ key, requests: remembered });
        progress.bytes += key.length + record.value.length;
        try {
          if (store.applyRecord(key, record)) {
            applied++;
            progress.applied++;
          }
        } catch (err) {
          // A record this node's limits refuse (a larger max_value_bytes elsewhere): skip it, say so.
          log.warn({ peer: peerId, key, err: (err as Error).message }, 'catch-up skipped a record');
        }
      }
      received += records.length;
      progress.received += records.length;
      if (received >= nextReport) {
        log.info({ peer: peerId, received, applied }, 'catch-up progress');
        nextReport += 50_000;
      }
    },
    signal,
    ring,
  );
  return { applied, debt };
}
