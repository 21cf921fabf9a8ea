import type { GossipConfig, Scheduler } from '../membership/types';
import { worstCaseDetectionMs } from '../membership/suspicion';
import { atLeastHalf, overHalf } from '../replication/quorum';

/** How often the watch looks at the clock: a pause is told from the gap between two looks. */
const TICK_MS = 1000;

/**
 * How long a node may be away from the cluster and still rejoin with its data: half the tombstone
 * grace, less the time failure detection may take to notice it left. Returning within it, it still
 * finds the tombstones of every delete it missed (they live a grace), with the other half to spare
 * for anti-entropy, which compares with a member as soon as it is seen back, to bring them to it.
 * With anti-entropy off only the hints kept for it can, so it must also return before they expire.
 * Never below one tick.
 */
export function absenceLimitMs(opts: {
  tombstoneGraceMs: number;
  hintMaxAgeMs: number;
  antiEntropy: boolean;
  members: number;
  gossip: GossipConfig;
}): number {
  const detection = worstCaseDetectionMs(opts.members, opts.gossip);
  const half = Math.floor(opts.tombstoneGraceMs / 2);
  const limit = (opts.antiEntropy ? half : Math.min(half, opts.hintMaxAgeMs)) - detection;
  return Math.max(TICK_MS, limit);
}

export interface AbsenceWatchOptions {
  selfId: string;
  scheduler: Scheduler;
  /** absenceLimitMs(). */
  limitMs: number;
  /** cluster.max_clock_offset_ms: a member's incarnation is its own clock's reading. */
  maxClockOffsetMs: number;
  /** The ring's members, this node included. */
  members(): readonly string[];
  /** Alive or suspect in this node's view. */
  isAlive(id: string): boolean;
  /** A member's incarnation in this node's view: the time its process started, in ms. */
  incarnation(id: string): number | undefined;
  /** Cut off past the limit: this node's data is set aside, out of every peer's reach, until decided. */
  setAside(awayMs: number): void;
  /** Most of the other members restarted during the absence: the data set aside is this node's again. */
  restore(restarted: readonly string[]): void;
  /**
   * Half the other members or more stayed up during the absence: the data set aside is dropped (what
   * reached this node since it was set aside stays: writes made during the absence).
   */
  discard(awayMs: number): void;
  /** Paused for `awayMs` past the limit: drops this node's data, and any set aside. */
  drop(awayMs: number): void;
  /** After a drop or a restore, this node reaches most members again: it pulls its keys from them. */
  back(): void;
}

/**
 * "Deletes and long absences" (docs/architecture.md): a node away from the cluster for longer than
 * absenceLimitMs must not rejoin with data the others may have deleted meanwhile, and forgotten the
 * tombstones of. Away means either
 * - cut off: it could reach fewer than half of the ring's members (itself included) all that time.
 *   Its data is set aside at the limit (no peer can read, compare or pull it), and decided on once it
 *   hears again from most of the other members. Those whose incarnation (process start) is later than
 *   the cut-off restarted meanwhile, empty: if they are most of the other members, no member that
 *   stayed up can have deleted and purged anything this node holds, so it keeps its data and they
 *   catch up from it (two of three nodes crashed: the survivor is their only source). If those that
 *   stayed up are half of the others or more, it drops its data. Otherwise it waits, still set aside.
 * - paused: its own timer fired that much late (SIGSTOP, a frozen VM, a suspended laptop), so it
 *   took no part in anything meanwhile, though its view of the members still looks current: it
 *   drops its data at once.
 * Its copies of deleted keys would otherwise come back through anti-entropy or read repair, which
 * copy a key the other side lacks. Once decided it catches up as after a restart; until then it
 * counts for nothing in any quorum (NotCaughtUp).
 *
 * Costs one timer a second, a count of the members on each membership change, and one clock reading
 * per request served (checkPause).
 */
export class AbsenceWatch {
  readonly #opts: AbsenceWatchOptions;
  #timer: unknown;
  #running = false;
  #lastTickMs = 0;
  /** Since when this node has been cut off from most members; undefined while it is not. */
  #cutOffSinceMs: number | undefined;
  /** While its data is set aside: since when it was cut off. */
  #asideSinceMs: number | undefined;
  /** Its data was dropped or set aside and it has not caught up since. */
  #away = false;
  /** How many times this node dropped its data (metrics, tests). */
  drops = 0;
  /** How many times it kept the data it had set aside (metrics, tests). */
  restores = 0;

  constructor(opts: AbsenceWatchOptions) {
    this.#opts = opts;
  }

  start(): void {
    this.#running = true;
    this.#lastTickMs = this.#opts.scheduler.now();
    this.#arm();
  }

  stop(): void {
    this.#running = false;
    this.#opts.scheduler.clearTimeout(this.#timer);
  }

  /**
   * Called as a request is served: a pause is noticed before it, not at the next tick. A process
   * resumed after SIGSTOP reads what waited in its sockets before its timers fire, and a request
   * served from the store it is about to drop could hand out, or copy back, a value deleted
   * meanwhile. One clock reading, unless the tick is a limit late.
   */
  checkPause(): void {
    if (!this.#running) return;
    if (this.#opts.scheduler.now() - this.#lastTickMs - TICK_MS < this.#opts.limitMs) return;
    this.#opts.scheduler.clearTimeout(this.#timer);
    this.#tick();
  }

  /** Whether its data is set aside, waiting for a decision. */
  get setAside(): boolean {
    return this.#asideSinceMs !== undefined;
  }

  /**
   * A member's state, incarnation or the ring changed: this node may be cut off, or back. Decides on
   * data set aside before returning, so the caller's next listeners (handoff, anti-entropy) see the
   * outcome.
   */
  changed(): void {
    const now = this.#opts.scheduler.now();
    if (this.#cutOff()) {
      this.#cutOffSinceMs ??= now;
      return;
    }
    this.#cutOffSinceMs = undefined;
    if (this.#asideSinceMs !== undefined && !this.#decide(this.#asideSinceMs, now)) return;
    if (this.#away) {
      this.#away = false;
      this.#opts.back();
    }
  }

  /** Restores or drops the data set aside; false while undecided. */
  #decide(sinceMs: number, now: number): boolean {
    const opts = this.#opts;
    const others = opts.members().filter((id) => id !== opts.selfId);
    const restarted: string[] = [];
    let stayed = 0;
    for (const id of others) {
      if (!opts.isAlive(id)) continue;
      // Its clock may run ahead of this one: only a start clearly after the cut-off counts.
      if ((opts.incarnation(id) ?? 0) >= sinceMs + opts.maxClockOffsetMs) restarted.push(id);
      else stayed++;
    }
    if (overHalf(restarted.length, others.length)) {
      this.#asideSinceMs = undefined;
      this.restores++;
      this.#opts.restore(restarted);
      return true;
    }
    if (atLeastHalf(stayed, others.length)) {
      this.#asideSinceMs = undefined;
      this.drops++;
      this.#opts.discard(now - sinceMs);
      return true;
    }
    return false;
  }

  #cutOff(): boolean {
    const members = this.#opts.members();
    let reachable = 0;
    for (const id of members) if (id === this.#opts.selfId || this.#opts.isAlive(id)) reachable++;
    return !atLeastHalf(reachable, members.length);
  }

  #tick(): void {
    const now = this.#opts.scheduler.now();
    const lateMs = now - this.#lastTickMs - TICK_MS;
    this.#lastTickMs = now;
    if (lateMs >= this.#opts.limitMs) {
      this.#asideSinceMs = undefined;
      this.#away = true;
      this.drops++;
      this.#opts.drop(lateMs);
      // Its view of the members is as old as the pause: they are probed anew before it is trusted.
      this.changed();
    } else if (
      !this.#away &&
      this.#cutOffSinceMs !== undefined &&
      now - this.#cutOffSinceMs >= this.#opts.limitMs
    ) {
      this.#away = true;
      this.#asideSinceMs = this.#cutOffSinceMs;
      this.#opts.setAside(now - this.#cutOffSinceMs);
    }
    this.#arm();
  }

  #arm(): void {
    this.#timer = this.#opts.scheduler.setTimeout(() => this.#tick(), TICK_MS);
  }
}
