import type { Logger } from '../../observability/logger';
import { Ring } from '../../ring/ring';
import type { Store } from '../../store/store';
import type { BackgroundTasks } from '../background-tasks';
import { pause, type ClusterView } from '../cluster-view';
import { NO_DEBT, type SyncDebt } from '../peer-transport';
import type { RequestLog } from '../replication/request-log';
import type { RingState, Topology } from '../ring-change/topology';
import { catchUpFromPeers, rememberSent, type CatchUpProgress, type SentRequests } from './catch-up';

export interface CatchUpStateOptions {
  view: ClusterView;
  store: Store;
  /** The read-modify-writes this node remembers (their outcomes), which it pulls with the records. */
  requests: RequestLog;
  topology: Topology;
  tasks: BackgroundTasks;
  logger: Logger;
  /** Adopts a ring a peer answered with (RingChanges.apply). */
  adopt(ring: RingState): void;
  /** Advances this node's HLC past a peer's (refusing one too far ahead). */
  observePeerClock(peer: string, clock: number): void;
  /** N: how many nodes hold each key. */
  factor: number;
  /**
   * The catch-up of a start (or a rejoin) ended: this node holds what the peers it reached hold for
   * it. Called again each time it pulls from a peer it had to skip (owedPeers).
   */
  onCaughtUp(): void;
}

/** How long a starting node waits for a member's ring before it goes on without it. */
const LEARN_RING_TIMEOUT_MS = 2000;

/** How often a node that owes peers a pull looks whether one is alive again. */
const OWED_POLL_MS = 1000;

/** owedFor's answer when nothing is owed, nearly always: no array made per read. */
const NONE_OWED: readonly string[] = [];

/**
 * Whether this node holds what its peers hold for it. Two ways to be behind:
 * - after start(), its store is empty: it first learns the current ring from a member it knows (its
 *   cluster.yml may predate joins and leaves), then pulls what it replicates from the ring's members;
 * - after a ring change that gave it keys, it pulls them from every member of the rings before and
 *   after (any live old replica can send; one that dies mid-stream is covered by the others). A newer
 *   change restarts the pull, keeping every ring not yet pulled from (`sourceRings`).
 * Until then it takes replica writes and hints but answers no read and decides no read-modify-write
 * from its own copy alone (ClusterView.catchingUp); reads ask the keys' old replicas too. Nor does it
 * answer its peers' reads and prepares of a key it may lack (mayLack): they must not count its copy.
 *
 * A peer taken for dead during the catch-up of a start or rejoin is owed a pull (owedPeers): taken
 * for dead is not dead (slow links, a pause), and it may hold the only other copy of a write this
 * node took before it restarted. The catch-up ends without it, but until this node has pulled from
 * it, this node's copy of a key that peer replicates counts in no quorum, its own (ownCopyCounts) or
 * a peer's (mayLack), both asking owedFor, and the requests sent with those keys are remembered only
 * then; keys it replicated on the ring of then count as its too, whatever ring changes came since.
 * It is pulled as soon as it is alive again; it stays owed until a pull completes, or it has left the
 * ring and is gone.
 *
 * What a node owes travels with the copies it sends (debt(): the last message of a Peer.Sync). A
 * move-in that took keys from such a node took copies that may lack the writes of the peers it
 * owes, when the move-in could not reach those peers itself (they are down): the keys it brought in
 * are owed to them too (#taken), until this node pulls from them itself. Only the keys it brought in:
 * those it replicated before it received every write, as its peers did. So does the catch-up of a
 * start or rejoin, for every key (a joining node's keys were others' on the rings of their debts).
 * Pulls of owed peers take no debt: they only add to copies that lack no other peer's writes.
 */
export class CatchUpState {
  readonly #opts: CatchUpStateOptions;
  #starting = false;
  /** Set while this node's data is dropped after a long absence, until its rejoin's catch-up ends. */
  #dropped: AbortController | undefined;
  /** How many times this node dropped its data: a move-in under way when it did brought in nothing. */
  #drops = 0;
  #sourceRings: Ring[] = [];
  #moveIn: AbortController | undefined;
  /** Peers taken for dead during the last catch-up of a start or rejoin, not pulled from since. */
  readonly #owed = new Set<string>();
  /**
   * The rings they were owed on: the one the catch-up that skipped them began to pull on, which holds
   * the keys they replicated with this node before it restarted, and those of a sender's debt
   * (#takeDebts). A key they replicated then may have moved since, unpulled, by a change after the
   * catch-up or during it.
   */
  #owedRings: Ring[] = [];
  /** The debts move-ins took from their senders (see the class): each until its peers are pulled. */
  #taken: TakenDebt[] = [];
  /** Requests sent with keys an owed peer replicates: remembered once it is pulled (rememberSent). */
  #owedSent: SentRequests[] = [];
  /** Ends the pulls of owed peers (a drop starts the catch-up over). */
  #owedPull: AbortController | undefined;
  /** The owed peers a pull loop runs for, each with the controller of the loops it belongs to. */
  readonly #owedLoops = new Map<string, AbortController>();
  readonly #caughtUp: Promise<void>;
  #markCaughtUp: () => void = () => undefined;
  /** The catch-up of start(): records received and applied, bytes, and whether it finished. */
  readonly progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: 0, done: false };

  constructor(opts: CatchUpStateOptions) {
    this.#opts = opts;
    this.#caughtUp = new Promise<void>((resolve) => (this.#markCaughtUp = resolve));
  }

  get catchingUp(): boolean {
    return this.#starting || this.#dropped !== undefined || this.#sourceRings.length > 0;
  }

  /**
   * Whether this node's copy of `key` may be missing or old, so that a peer must not count it: any key
   * while the catch-up of a start runs; after a ring change, a key it did not replicate on every ring
   * it still pulls from. O(1) unless a ring change's keys are still coming in.
   */
  mayLack(key: string): boolean {
    if (this.#starting || this.#dropped) return true;
    if (this.owedFor(key).length > 0) return true;
    if (this.#sourceRings.length === 0) return false;
    const { view, factor } = this.#opts;
    return this.#sourceRings.some((ring) => !ring.preferenceList(key, factor).includes(view.selfId));
  }

  /**
   * Peers this node has yet to pull from (see the class), its own and those of the debts it took:
   * empty but for a while after a catch-up or a ring change.
   */
  get owedPeers(): ReadonlySet<string> {
    if (this.#taken.length === 0) return this.#owed;
    const all = new Set(this.#owed);
    for (const debt of this.#taken) for (const id of debt.peers) all.add(id);
    return all;
  }

  #owes(id: string): boolean {
    return this.#owed.has(id) || this.#taken.some((debt) => debt.peers.has(id));
  }

  /**
   * What a catch-up stream this node sends says it owes (PeerEndpoint.syncDebt): the copies it sends
   * may lack the writes of the peers it owes, on the rings it owes them on. While its own catch-up
   * runs, any copy may lack what a peer not pulled yet holds: every other member then.
   */
  debt(): SyncDebt {
    const { topology, view } = this.#opts;
    if (this.#starting || this.#dropped) {
      const peers = topology.ring.nodeIds.filter((id) => id !== view.selfId);
      return peers.length === 0 ? NO_DEBT : { peers, rings: [[...topology.ring.nodeIds]] };
    }
    const peers = this.owedPeers;
    if (peers.size === 0) return NO_DEBT;
    const rings: Ring[] = [];
    for (const ring of [
      topology.ring,
      ...this.#owedRings,
      ...this.#taken.flatMap((d) => d.rings ?? [d.after]),
    ])
      if (!rings.some((r) => sameMembers(r, ring))) rings.push(ring);
    return { peers: [...peers], rings: rings.map((ring) => [...ring.nodeIds]) };
  }

  /**
   * The debts of the senders of a move-in that brought in the keys this node replicates on `after`
   * and not on every ring of `before` (TakenDebt): a peer a sender owes that this move-in did not pull
   * from itself (`completed`) may hold writes missing from those copies. A peer no longer on the ring
   * is gone, and not owed. A debt whose rings cannot all be built (a malformed or cut list) owes its
   * peers for every key brought in.
   */
  #takeDebts(debts: readonly SyncDebt[], completed: readonly string[], before: Ring[], after: Ring): void {
    const { view, topology } = this.#opts;
    for (const debt of debts) {
      const peers = debt.peers.filter(
        (id) => id !== view.selfId && !completed.includes(id) && topology.ring.nodeIds.includes(id),
      );
      if (peers.length === 0) continue;
      let rings: Ring[] | undefined = [];
      for (const ids of debt.rings) {
        try {
          rings.push(new Ring(ids, { vnodes: topology.ring.vnodes }));
        } catch {
          rings = undefined; // not a ring: which keys it stands for cannot be told
          break;
        }
      }
      if (rings?.length === 0) rings = undefined;
      this.#taken.push({ peers: new Set(peers), rings, before, after });
    }
  }

  /** Adds `ring` to the rings owed on, once. Even the current one: the ring changes, the keys stay. */
  #oweOn(ring: Ring): void {
    if (!this.#owedRings.some((r) => sameMembers(r, ring))) this.#owedRings.push(ring);
  }

  /** `id` was pulled from, or has left the ring and is gone: nothing is owed to it any more. */
  #settle(id: string): void {
    this.#owed.delete(id);
    for (const debt of this.#taken) debt.peers.delete(id);
    this.#taken = this.#taken.filter((debt) => debt.peers.size > 0);
    if (this.#owed.size === 0) this.#owedRings = [];
  }

  /**
   * The owed peers that may hold a write this node's copy of `key` lacks (ClusterView.owedFor): its
   * own, that replicate `key` on the current ring or on a ring they were owed on; and those of a debt
   * it took, when `key` is one the debt's move-in brought in and they replicate it on one of the
   * debt's rings. While there is one, this node's copy of `key` counts in no quorum. Two size checks
   * when nothing is owed.
   */
  owedFor(key: string): readonly string[] {
    if (this.#owed.size === 0 && this.#taken.length === 0) return NONE_OWED;
    const { topology, factor, view } = this.#opts;
    const owed = new Set<string>();
    if (this.#owed.size > 0)
      for (const ring of [topology.ring, ...this.#owedRings])
        for (const id of ring.preferenceList(key, factor)) if (this.#owed.has(id)) owed.add(id);
    const replicates = (ring: Ring) => ring.preferenceList(key, factor).includes(view.selfId);
    for (const debt of this.#taken) {
      if (!replicates(debt.after) || (debt.before.length > 0 && debt.before.every(replicates))) continue;
      if (!debt.rings) for (const id of debt.peers) owed.add(id);
      else
        for (const ring of debt.rings)
          for (const id of ring.preferenceList(key, factor)) if (debt.peers.has(id)) owed.add(id);
    }
    return owed.size === 0 ? NONE_OWED : [...owed];
  }

  /** How many times this node dropped its data, or set it aside (ClusterView.drops). */
  get drops(): number {
    return this.#drops;
  }

  /** The rings before the changes whose keys this node still pulls. */
  get sourceRings(): readonly Ring[] {
    return this.#sourceRings;
  }

  /** Resolves once the catch-up of start() finished. */
  caughtUp(): Promise<void> {
    return this.#caughtUp;
  }

  /** The catch-up of a start; with no peer there is nothing to catch up. */
  start(): void {
    // With N=1 too: a joining node pulls the keys its ring gives it before its join is ordered.
    if (this.#opts.topology.ring.nodeIds.length < 2) return this.#finish();
    this.#starting = true;
    this.#opts.tasks.run('catch-up', (signal) => this.#catchUp(signal));
  }

  /**
   * This node dropped its data after a long absence (absence.ts): it is catching up again, as after
   * a restart, and stays so until rejoin()'s catch-up ends. A rejoin under way starts over.
   */
  dropped(): void {
    this.#drops++;
    this.#dropped?.abort();
    this.#dropped = new AbortController();
    this.#owedPull?.abort();
    this.#owedPull = undefined;
    this.#owedLoops.clear();
    this.#owed.clear();
    this.#owedRings = [];
    this.#taken = [];
    this.#owedSent = [];
    this.#moveIn?.abort();
    this.#moveIn = undefined;
    this.#sourceRings = [];
  }

  /** After dropped(): this node reaches most members again; it pulls what it replicates from them. */
  rejoin(): void {
    const controller = this.#dropped;
    if (!controller) return;
    this.#opts.tasks.run('catch-up', async (stopped) => {
      const signal = AbortSignal.any([stopped, controller.signal]);
      const progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: 0, done: false };
      try {
        await this.#pull(signal, progress, controller);
      } finally {
        if (!signal.aborted && this.#dropped === controller) {
          this.#dropped = undefined;
          this.#opts.onCaughtUp();
          this.#pullOwed(progress);
        }
      }
    });
  }

  /** A ring was adopted (`before`: the one it replaced); `member`: whether this node is on it. */
  ringChanged(before: Ring, member: boolean): void {
    this.#moveIn?.abort();
    this.#moveIn = undefined;
    if (member) this.#startMoveIn(before);
    else this.#sourceRings = [];
  }

  async #catchUp(signal: AbortSignal): Promise<void> {
    try {
      await this.#pull(signal, this.progress);
    } finally {
      if (!signal.aborted) {
        this.#finish();
        // Dropped meanwhile (absence.ts): the rejoin's catch-up starts over, and ends it.
        if (!this.#dropped) this.#pullOwed(this.progress);
      }
    }
  }

  /** Learns the current ring and the peers' clocks, then pulls what this node replicates from its members. */
  async #pull(signal: AbortSignal, progress: CatchUpProgress, dropped?: AbortController): Promise<void> {
    const { view, store, requests, topology, logger } = this.#opts;
    await this.#learnRing(signal);
    // Kept for #owedRing, not read again at the end: a join while the pull waits on a peer taken for
    // dead made the end's ring one on which that peer no longer replicates keys it held with this
    // node, and this node counted its empty copies of them (owed-after-ring-change.test.ts).
    const ring = topology.ring;
    const peers = ring.nodeIds.filter((id) => id !== view.selfId);
    await this.#learnClocks(peers, signal);
    progress.peers = peers.length;
    const log = logger.child({ component: 'catch-up' });
    const { skipped, completed, sent, debts } = await catchUpFromPeers(
      view,
      peers,
      { store, requests },
      log,
      signal,
      progress,
    );
    // Dropped while it ran (a start's catch-up, which a drop does not cancel): it counts for nothing.
    if (signal.aborted || this.#dropped !== dropped) return;
    for (const id of skipped) this.#owed.add(id);
    if (skipped.length > 0) this.#oweOn(ring);
    // Every key came in: a sender's debt stands for each (on the debt's rings), as in a move-in. A
    // joining node's keys were another's on the ring of its senders' debts, not on this one.
    this.#takeDebts(debts, completed, [], ring);
    this.#rememberOwned(sent);
  }

  /** Remembers the requests sent with keys no owed peer replicates; keeps the others for later. */
  #rememberOwned(sent: readonly SentRequests[]): void {
    const { view, store, requests } = this.#opts;
    const later: SentRequests[] = [];
    const now: SentRequests[] = [];
    for (const s of [...this.#owedSent, ...sent]) (this.owedFor(s.key).length > 0 ? later : now).push(s);
    this.#owedSent = later;
    rememberSent({ store, requests }, now, view.scheduler.now());
  }

  /**
   * Pulls from each owed peer once it is alive again (learning its clock first: a ballot it saw may
   * be past this node's fence), each in a loop of its own, so that one this node cannot stream from
   * holds up no other. Starts a loop for every owed peer that has none (a debt a move-in took adds
   * peers while others are pulled); a loop ends once its peer is no longer owed: a pull from it
   * completed, or it has left the ring and is gone. Every pull that completes calls onCaughtUp: the
   * ballot fences rise to this node's clock then (a round in flight with a lower ballot is refused
   * once, and its next ballot is above). The peer's own debt is not taken: what this node pulls from
   * it only adds to copies that already hold everything but the writes of the peers it owes.
   */
  #pullOwed(progress: CatchUpProgress): void {
    const { view, topology, tasks, logger } = this.#opts;
    const log = logger.child({ component: 'catch-up' });
    const controller = (this.#owedPull ??= new AbortController());
    for (const id of this.owedPeers) {
      if (this.#owedLoops.has(id)) continue;
      this.#owedLoops.set(id, controller);
      log.warn({ peer: id }, 'owes a pull to a peer taken for dead; pulling from it once alive');
      tasks.run('catch-up-owed', async (stopped) => {
        const signal = AbortSignal.any([stopped, controller.signal]);
        try {
          while (this.#owes(id) && !signal.aborted) {
            if (!view.isAlive(id)) {
              if (!topology.ring.nodeIds.includes(id)) this.#settle(id);
              else await pause(view, OWED_POLL_MS, signal);
              continue;
            }
            await this.#learnClocks([id], signal);
            const into = { store: this.#opts.store, requests: this.#opts.requests };
            // On this node's ring: a peer back with an older one would send the keys of that ring.
            const ring = topology.state();
            const { completed, sent } = await catchUpFromPeers(view, [id], into, log, signal, progress, ring);
            if (signal.aborted) return;
            if (completed.includes(id)) {
              this.#settle(id);
              log.info({ peer: id }, 'catch-up pulled from a peer it had taken for dead');
            }
            this.#rememberOwned(sent);
            if (completed.includes(id) && !this.#starting && !this.#dropped) this.#opts.onCaughtUp();
          }
          // Gone from the ring: the requests kept for its keys are remembered now.
          if (!signal.aborted) this.#rememberOwned([]);
        } finally {
          if (this.#owedLoops.get(id) === controller) this.#owedLoops.delete(id);
        }
      });
    }
  }

  /**
   * Offers this node's ring to every member it knows, at once, and adopts each answer (a newer ring
   * replaces it, a concurrent one merges). Not only the first to answer: a member that was cut off
   * while the others changed the ring holds the same old ring as this node, and taking its answer for
   * the current ring, this node would pull what it replicates on that old ring, not find there the
   * writes its old replicas moved away, and count its own empty copy with that member's in a quorum
   * (nemesis mix seed 202,563: a get at R = 2 found nothing after a set at W = 2). Members that do
   * not answer within the timeout are left to gossip. None answering means this node's ring is all
   * there is.
   */
  async #learnRing(signal: AbortSignal): Promise<void> {
    const { view, topology } = this.#opts;
    const offered = topology.state();
    await Promise.all(
      topology.ring.nodeIds
        .filter((id) => id !== view.selfId)
        .map((id) =>
          view.transport.applyRing(id, offered, LEARN_RING_TIMEOUT_MS).then(
            (ring) => {
              if (!signal.aborted) this.#opts.adopt(ring);
            },
            () => undefined, // down or unreachable: gossip brings its ring once it answers
          ),
        ),
    );
  }

  /**
   * Pings every peer once for its HLC, so this node's clock is past all of theirs before it takes
   * writes of its own (a restarted node's HLC starts from its wall clock, which may lag).
   */
  async #learnClocks(peers: string[], signal: AbortSignal): Promise<void> {
    const { view, store, topology } = this.#opts;
    // With the ring's digest: a peer takes an equal epoch and digest for a confirmation of its own
    // ring (ring-contact.ts), and this node's first ring may differ from the members' at one epoch.
    const ping = {
      from: view.selfId,
      updates: [],
      ringEpoch: topology.epoch,
      ringDigest: topology.digest,
      clock: store.hlc.last,
    };
    await Promise.all(
      peers.map((id) =>
        view.transport.ping(id, ping, 1000, signal).then(
          (reply) => reply.clock && this.#opts.observePeerClock(id, reply.clock),
          () => undefined, // down: gossip carries its clock once it answers
        ),
      ),
    );
  }

  #finish(): void {
    this.#starting = false;
    this.progress.done = true;
    // Not while dropped (a drop during this catch-up): the rejoin's catch-up calls it at its end.
    if (!this.#dropped) this.#opts.onCaughtUp();
    this.#markCaughtUp();
  }

  #startMoveIn(before: Ring): void {
    const { view, store, requests, topology, tasks, logger, factor } = this.#opts;
    this.#sourceRings = [...this.#sourceRings, before];
    const controller = new AbortController();
    this.#moveIn = controller;
    const log = logger.child({ component: 'move-in', epoch: topology.epoch });
    const ring = topology.state();
    // The keys it brings in: on `after` and on none of `sources` (TakenDebt).
    const sources = this.#sourceRings;
    const after = topology.ring;
    const drops = this.#drops;
    const peers = new Set<string>();
    for (const r of [...this.#sourceRings, topology.ring])
      for (const id of r.nodeIds) if (id !== view.selfId) peers.add(id);
    tasks.run('move-in', async (stopped) => {
      const signal = AbortSignal.any([stopped, controller.signal]);
      const progress: CatchUpProgress = { received: 0, applied: 0, bytes: 0, peers: peers.size, done: false };
      const { sent, completed, debts } = await catchUpFromPeers(
        view,
        [...peers],
        { store, requests },
        log,
        signal,
        progress,
        ring,
      );
      // A drop since (dropped(), which aborted this move-in) threw away what it brought in.
      if (this.#drops !== drops) return;
      // Taken even when a newer change cut the move-in short: what the completed streams sent is here.
      // A sender that owes a peer this move-in could not reach sent copies that may lack its writes;
      // a move-in that brought in no key (this node gained none: a join elsewhere) takes none.
      if (debts.length > 0 && bringsKeysIn(view.selfId, sources, after, factor))
        this.#takeDebts(debts, completed, sources, after);
      this.#rememberOwned(sent);
      if (!stopped.aborted) this.#pullOwed(progress);
      if (signal.aborted || this.#moveIn !== controller) return;
      this.#sourceRings = [];
      this.#moveIn = undefined;
    });
  }
}

/**
 * A debt a move-in took from one of its senders (CatchUpState): the keys the move-in brought in (this
 * node replicates them on `after`, and not on every ring of `before`: the rings of a move-in cut
 * short are among them; with `before` empty, every key) came in copies that may lack the writes of
 * `peers` (those not pulled from since), on the keys they replicate on one of `rings` (undefined:
 * on every key brought in).
 */
interface TakenDebt {
  readonly peers: Set<string>;
  readonly rings: readonly Ring[] | undefined;
  readonly before: readonly Ring[];
  readonly after: Ring;
}

/** Whether two rings have the same members (the same ring: each member's place follows from its id). */
function sameMembers(a: Ring, b: Ring): boolean {
  return a.nodeIds.length === b.nodeIds.length && a.nodeIds.every((id) => b.nodeIds.includes(id));
}

/**
 * Whether `self` replicates some keys on `after` that it does not replicate on every ring of `before`
 * (those the move-in brings in: the rings of a move-in a newer change cut short are among `before`,
 * and a key it was bringing in came in no sooner than now). With `before` empty, never. Each ring's
 * preference lists change only at its points, so those of every ring together are where to look:
 * between two of them, every ring gives each key the same list as at the next one clockwise.
 */
function bringsKeysIn(self: string, before: readonly Ring[], after: Ring, n: number): boolean {
  const replicates = (ring: Ring, hash: number) => ring.preferenceListOfHash(hash, n).includes(self);
  for (const ring of [after, ...before])
    for (const hash of ring.pointValues())
      if (replicates(after, hash) && !before.every((b) => replicates(b, hash))) return true;
  return false;
}
