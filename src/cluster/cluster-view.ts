import type { Ring } from '../ring/ring';
import type { Scheduler } from './membership/types';
import type { PeerTransport } from './peer-transport';

/**
 * What the core's components need to know about the cluster right now; the node core keeps it
 * current. Liveness is read from membership, the one place that decides it.
 */
export interface ClusterView {
  readonly selfId: string;
  /** The ring of the current epoch. */
  ring(): Ring;
  epoch(): number;
  /** Alive or suspect: worth sending traffic to. A dead member is skipped and gets hints. */
  isAlive(id: string): boolean;
  /**
   * True while this node restarts and pulls its data from its peers: its store is known to be
   * incomplete, so it answers no read and decides no read-modify-write from its own copy alone.
   */
  catchingUp(): boolean;
  /**
   * True while this node heard no peer's ring for longer than failure detection takes, and takes
   * some peer for alive: ring changes may have gone on without it (ring-contact.ts), so its own copy
   * counts in no quorum, read or write, until a peer confirms its ring.
   */
  ringUnconfirmed(): boolean;
  /**
   * Peers this node took for dead while catching up and has not pulled from since: its copy of a key
   * one of them replicates may lack a write that peer holds (CatchUpState). Empty nearly always.
   */
  owedPeers(): ReadonlySet<string>;
  /**
   * While catching up after a ring change: the rings before it, whose replicas may still hold keys
   * this node now replicates but has not received yet. Reads and read-modify-writes ask them too.
   */
  sourceRings(): readonly Ring[];
  /**
   * A peer answered a call holding ring `epoch`, newer than the one the call was counted on: fetches
   * that ring from `peer`, as when gossip names a newer epoch. Resolves once the exchange has ended,
   * the ring adopted or not (then epoch() stays below `epoch`); never rejects.
   */
  fetchRing(peer: string, epoch: number): Promise<void>;
  readonly transport: PeerTransport;
  /** This node's clock and timers: deadlines, TTLs and every loop read time here, never Date.now(). */
  readonly scheduler: Scheduler;
}

/**
 * Whether this node's own copy of a key whose replicas are `preferenceList` counts as one of a
 * read's answers or a prepare's votes: only where it is one of them (a get forwarded on an older
 * ring, a round coordinated where it landed, can reach a node that is none), and not while its store
 * is incomplete (catching up, or yet to pull from another of its replicas), nor while its ring may be
 * behind (another replica may hold the key now).
 */
export function ownCopyCounts(view: ClusterView, preferenceList: readonly string[]): boolean {
  return (
    preferenceList.includes(view.selfId) &&
    !view.catchingUp() &&
    !view.ringUnconfirmed() &&
    !owesAny(view, preferenceList)
  );
}

/** Whether this node has yet to pull from one of `preferenceList` (ClusterView.owedPeers). */
export function owesAny(view: ClusterView, preferenceList: readonly string[]): boolean {
  const owed = view.owedPeers();
  return owed.size > 0 && preferenceList.some((id) => owed.has(id));
}

/**
 * Waits `ms` on the view's scheduler: true once waited, false (at once) when `signal` aborts first.
 * How the node's background jobs (rebalance, release passes, catch-up) pause between attempts.
 */
export function pause(view: ClusterView, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve(false);
    const onAbort = () => {
      view.scheduler.clearTimeout(timer);
      resolve(false);
    };
    const timer = view.scheduler.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
