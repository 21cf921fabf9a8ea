import type { Version } from './version';

/** Wall-clock milliseconds. Injected so TTL, tombstone grace and the HLC can be tested without sleeping. */
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/**
 * Logical ticks per wall millisecond. timestamp = wallMs * 1024 + counter: with wallMs around 1.7e12
 * that is about 1.8e15, well under 2^53, so timestamps stay exact doubles.
 */
export const LOGICAL_TICKS_PER_MS = 1024;

/** The wall-clock millisecond a timestamp was issued in (or was pushed to by a faster peer). */
export function wallMsOf(timestamp: number): number {
  return Math.floor(timestamp / LOGICAL_TICKS_PER_MS);
}

/**
 * Hybrid logical clock (Kulkarni et al.) packed into one number. It follows the wall clock when the
 * wall clock moves forward, and otherwise counts logical ticks, so:
 * - versions issued by one node strictly increase even if the wall clock steps backwards (NTP);
 * - after observe(remote), every later version is newer than the remote one, so a write that causally
 *   follows another one always wins last-writer-wins, whatever the skew between the two nodes.
 * More than 1024 versions within one wall millisecond carry the counter into the millisecond part:
 * the clock then runs a little ahead of the wall clock until the wall clock catches up.
 */
export class HybridLogicalClock {
  readonly nodeId: string;
  readonly #clock: Clock;
  #last = 0;

  constructor(nodeId: string, clock: Clock = systemClock) {
    this.nodeId = nodeId;
    this.#clock = clock;
  }

  /** A new version for a local write: strictly greater than every timestamp issued or observed so far. */
  now(): Version {
    const physical = Math.floor(this.#clock.now()) * LOGICAL_TICKS_PER_MS;
    this.#last = physical > this.#last ? physical : this.#last + 1;
    return { timestamp: this.#last, node: this.nodeId };
  }

  /**
   * HLC receive rule: the clock moves to the max of itself and the remote timestamp; the next now()
   * adds the wall clock and one tick. Malformed timestamps are ignored rather than poisoning the clock.
   */
  observe(remote: Version): void {
    const ts = remote.timestamp;
    if (Number.isSafeInteger(ts) && ts > this.#last) this.#last = ts;
  }

  /** The highest timestamp issued or observed (0 before the first). */
  get last(): number {
    return this.#last;
  }
}
