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
   * The peers whose writes this node's copy of `key` may lack, not pulled from since: those it took
   * for dead in its catch-up that replicate `key` on the current ring or on the ring they were owed
   * on (a ring change since may have moved the key off them, unpulled), and, if it took `key` from a
   * peer that owed some, those (CatchUpState.owedFor, which its answers to peers ask too). Empty
   * nearly always, in O(1) then.
   */
  owedFor(key: string): readonly string[];
  /**
   * While catching up after a ring change: the rings before it, whose replicas may still hold keys
   * this node now replicates but has not received yet. Reads and read-modify-writes ask them too.
   */
  sourceRings(): readonly Ring[];
  /**
   * How many times this node dropped its data, or set it aside, after a long absence (absence.ts):
   * work that read the store before such a time must not write what it read back after it.
   */
  drops(): number;
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
 * Whether this node's own copy of `key`, whose replicas are `preferenceList`, counts as one of a
 * read's answers or a prepare's votes: only where it is one of them (a get forwarded on an older
 * ring, a round coordinated where it landed, can reach a node that is none), and not while its store
 * is incomplete (catching up, or yet to pull from a peer that replicates the key now or did on the
 * ring it was owed on: owedFor), nor while its ring may be behind (another replica may hold the key
 * now). Asked of the key, not of `preferenceList` alone: a join that moved the key off an owed peer
 * leaves that peer out of the list, and its copy, maybe the only other one, unpulled.
 */
export function ownCopyCounts(view: ClusterView, key: string, preferenceList: readonly string[]): boolean {
  return (
    preferenceList.includes(view.selfId) &&
    !view.catchingUp() &&
    !view.ringUnconfirmed() &&
    view.owedFor(key).length === 0
  );
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
