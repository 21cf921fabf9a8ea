import type { GossipConfig, Scheduler } from '../membership/types';
import { worstCaseDetectionMs } from '../membership/suspicion';

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
  /** The ring's members, this node included. */
  members(): readonly string[];
  /** Alive or suspect in this node's view. */
  isAlive(id: string): boolean;
  /** Drops this node's data: it was away for `awayMs`, cut off from most members or paused. */
  drop(awayMs: number, why: 'cut off' | 'paused'): void;
  /** After a drop, this node reaches most members again: it pulls its keys from them. */
  back(): void;
}

/**
 * "Deletes and long absences" (docs/architecture.md): a node away from the cluster for longer than
 * absenceLimitMs drops its data instead of rejoining with it. Away means either
 * - cut off: it could reach fewer than half of the ring's members (itself included) all that time,
 *   so the others may have deleted keys it holds and, past the grace, forgotten the tombstones; or
 * - paused: its own timer fired that much late (SIGSTOP, a frozen VM, a suspended laptop), so it
 *   took no part in anything meanwhile, though its view of the members still looks current.
 * Its copies of deleted keys would otherwise come back through anti-entropy or read repair, which
 * copy a key the other side lacks. Once it reaches most members again it catches up as after a
 * restart; until then it counts for nothing in any quorum (NotCaughtUp).
 *
 * Costs one timer a second and a count of the members on each membership change; nothing on the
 * data path.
 */
export class AbsenceWatch {
  readonly #opts: AbsenceWatchOptions;
  #timer: unknown;
  #lastTickMs = 0;
  /** Since when this node has been cut off from most members; undefined while it is not. */
  #cutOffSinceMs: number | undefined;
  /** Its data was dropped and it has not reached most members since. */
  #dropped = false;
  /** How many times this node dropped its data (metrics, tests). */
  drops = 0;

  constructor(opts: AbsenceWatchOptions) {
    this.#opts = opts;
  }

  start(): void {
    this.#lastTickMs = this.#opts.scheduler.now();
    this.#arm();
  }

  stop(): void {
    this.#opts.scheduler.clearTimeout(this.#timer);
  }

  /** A member's state or the ring changed: this node may be cut off, or back. */
  changed(): void {
    const now = this.#opts.scheduler.now();
    if (this.#cutOff()) {
      this.#cutOffSinceMs ??= now;
      return;
    }
    this.#cutOffSinceMs = undefined;
    if (this.#dropped) {
      this.#dropped = false;
      this.#opts.back();
    }
  }

  #cutOff(): boolean {
    const members = this.#opts.members();
    let reachable = 0;
    for (const id of members) if (id === this.#opts.selfId || this.#opts.isAlive(id)) reachable++;
    return reachable * 2 < members.length;
  }

  #tick(): void {
    const now = this.#opts.scheduler.now();
    const lateMs = now - this.#lastTickMs - TICK_MS;
    this.#lastTickMs = now;
    if (lateMs >= this.#opts.limitMs) {
      this.#drop(lateMs, 'paused');
      // Its view of the members is as old as the pause: they are probed anew before it is trusted.
      this.changed();
    } else if (
      !this.#dropped &&
      this.#cutOffSinceMs !== undefined &&
      now - this.#cutOffSinceMs >= this.#opts.limitMs
    ) {
      this.#drop(now - this.#cutOffSinceMs, 'cut off');
    }
    this.#arm();
  }

  #drop(awayMs: number, why: 'cut off' | 'paused'): void {
    this.#dropped = true;
    this.drops++;
    this.#opts.drop(awayMs, why);
  }

  #arm(): void {
    this.#timer = this.#opts.scheduler.setTimeout(() => this.#tick(), TICK_MS);
  }
}
