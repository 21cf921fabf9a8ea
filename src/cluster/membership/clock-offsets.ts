import { overHalf } from '../replication/quorum';

/**
 * How far each peer's wall clock is from this node's, measured from gossip pings (CockroachDB's
 * remote clock monitor, in small). A ping is sent at local time t0 and its ack, carrying the peer's
 * wall clock w, comes back at t1. The peer read w somewhere between t0 and t1, so its offset is
 * w - (t0 + t1) / 2, give or take half the round trip. A window of recent samples is kept per peer
 * and the one with the shortest round trip is believed: a ping delayed by a busy event loop or a
 * slow link says little, and the next quick one says more. Pure: no timers, no clock of its own.
 */

/** One peer's offset: positive when the peer's clock is ahead of this node's. */
export interface ClockOffset {
  offsetMs: number;
  /** Half the round trip of the ping it was measured with: the true offset is within this of offsetMs. */
  errorMs: number;
}

/** Samples kept per peer: at one probe round per peer, the last few rounds. */
export const CLOCK_SAMPLE_WINDOW = 5;

export class ClockOffsets {
  readonly #windowSize: number;
  /** Per peer, the latest samples, oldest first, at most #windowSize. */
  readonly #samples = new Map<string, ClockOffset[]>();

  constructor(windowSize = CLOCK_SAMPLE_WINDOW) {
    if (!Number.isInteger(windowSize) || windowSize < 1)
      throw new RangeError('windowSize must be a positive integer');
    this.#windowSize = windowSize;
  }

  /**
   * Records a ping to `peer` sent at `sentAtMs` and acknowledged at `ackedAtMs` (this node's clock),
   * whose ack carried the peer's wall clock `peerWallMs`. Returns false, keeping nothing, for a
   * sample that cannot be right: a peer's clock that is not a positive safe integer (sent by a
   * peer that does not report one, or garbled), or an ack before its ping (this clock stepped back).
   */
  record(peer: string, sentAtMs: number, ackedAtMs: number, peerWallMs: number): boolean {
    if (!(peerWallMs > 0 && peerWallMs <= Number.MAX_SAFE_INTEGER)) return false; // NaN fails too
    if (!Number.isFinite(sentAtMs) || !Number.isFinite(ackedAtMs) || ackedAtMs < sentAtMs) return false;
    const errorMs = (ackedAtMs - sentAtMs) / 2;
    const sample = { offsetMs: peerWallMs - (sentAtMs + errorMs), errorMs };
    let window = this.#samples.get(peer);
    if (!window) this.#samples.set(peer, (window = []));
    // Samples that cannot both be right (their offset ranges do not meet) were taken before one of
    // the two clocks stepped: the older ones go, or a precise sample from before the step would be
    // believed until it aged out of the window (seconds of writes on a clock known to be wrong).
    const stale = (s: ClockOffset) => Math.abs(s.offsetMs - sample.offsetMs) > s.errorMs + sample.errorMs;
    if (window.some(stale)) window.splice(0, window.length, ...window.filter((s) => !stale(s)));
    window.push(sample);
    if (window.length > this.#windowSize) window.shift();
    return true;
  }

  /** The sample of `peer` with the shortest round trip in the window; undefined before the first. */
  estimate(peer: string): ClockOffset | undefined {
    let best: ClockOffset | undefined;
    for (const s of this.#samples.get(peer) ?? []) if (!best || s.errorMs < best.errorMs) best = s;
    return best;
  }

  /** Forgets `peer`'s samples: it died (its clock may be set right before it returns) or left. */
  forget(peer: string): void {
    this.#samples.delete(peer);
  }

  /** The peers with at least one sample. */
  peers(): string[] {
    return [...this.#samples.keys()];
  }
}

/** Whether this node's clock is too far from the others', and from whom. */
export interface ClockVerdict {
  /** True when more than half of the live peers are certainly further than the tolerance. */
  outOfBounds: boolean;
  /** The live peers certainly further than the tolerance, with their offsets. */
  beyond: Array<{ peer: string } & ClockOffset>;
  livePeers: number;
}

/**
 * Judges this node's clock against its live peers'. A peer counts as beyond the tolerance only when
 * the measurement is sure of it, |offset| - error > toleratedMs, so a slow ping does not make a
 * healthy node refuse; a live peer not measured yet counts as within, so a node that has heard from
 * one skewed peer only does not refuse at start-up. More than half of the live peers beyond: this
 * node's clock is the odd one out. With one live peer the two cannot tell which clock is wrong, and
 * both are out of bounds (as in CockroachDB).
 */
export function judgeClock(
  livePeers: readonly string[],
  estimate: (peer: string) => ClockOffset | undefined,
  toleratedMs: number,
): ClockVerdict {
  const beyond: ClockVerdict['beyond'] = [];
  for (const peer of livePeers) {
    const e = estimate(peer);
    if (e && Math.abs(e.offsetMs) - e.errorMs > toleratedMs) beyond.push({ peer, ...e });
  }
  return { outOfBounds: overHalf(beyond.length, livePeers.length), beyond, livePeers: livePeers.length };
}
